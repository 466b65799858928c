package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/attesttest"
	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/attest/verify"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/setup"
)

// goldenProof is prover/proof's golden material: a proof bundle with the model file, the
// manifest and the verifying keys it verifies against, made for provider "acme-legal".
type goldenProof struct {
	bundle, model, manifest []byte
	keysDir                 string
}

const goldenProvider = "acme-legal"

func loadGoldenProof(t *testing.T) goldenProof {
	t.Helper()
	dir := filepath.Join("..", "..", "prover", "proof", "testdata")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return goldenProof{bundle: read("bundle.golden.json"), model: read("model.json"), manifest: read("manifest.json"), keysDir: filepath.Join(dir, "keys")}
}

func (g goldenProof) files(bundleJSON []byte) verify.ProofFiles {
	return verify.ProofFiles{Bundle: bundleJSON, Manifest: g.manifest, Model: g.model,
		Keys: func(ctx context.Context, s circuit.Shape) (*setup.Keys, error) {
			return setup.Load(ctx, g.keysDir, s, setup.Verifying)
		}}
}

// proofDeployment attests the golden proof as a registry would: the predicate is the one
// the checked proof states, edited by change, and the trust root pins the golden circuits.
func proofDeployment(t *testing.T, g goldenProof, change func(*statement.Training)) (*attesttest.Deployment, *bundle.Bundle, string) {
	t.Helper()
	ctx := context.Background()
	b, err := proof.ParseBundle(g.bundle)
	if err != nil {
		t.Fatal(err)
	}
	pins := map[string]trustroot.CircuitPin{}
	vks := map[string]string{}
	for _, c := range b.Circuits {
		pins[c.ID] = trustroot.CircuitPin{VKSHA256: c.VKSHA256, Ceremony: attesttest.Ceremony}
		vks[c.ID] = c.VKSHA256
	}
	pc, err := g.files(g.bundle).CheckProof(ctx, vks, goldenProvider)
	if err != nil {
		t.Fatal(err)
	}
	tr := verify.TrainingClaim(pc.Claim, pc.Manifest)
	tr.IssuedAt = time.Now().UTC().Truncate(time.Second)
	if change != nil {
		change(&tr)
	}
	d := attesttest.New(t, attesttest.Options{Circuits: pins})
	subj := statement.Subject{Name: "model.json", SHA256: pc.Claim.ModelSHA256}
	cb, err := d.Attest(ctx, subj, tr)
	if err != nil {
		t.Fatal(err)
	}
	return d, cb, subj.SHA256
}

// TestVerifyProofTiedToStatement is the offline verifier with the proof: it passes with the
// proof the registry signed, and fails with a proof made for another provider and whenever
// what was signed is not what the proof states (another valid proof of the same model is in
// cmd/comet's TestEndToEnd, which has the proving keys to make one).
func TestVerifyProofTiedToStatement(t *testing.T) {
	g := loadGoldenProof(t)
	verifyWith := func(t *testing.T, d *attesttest.Deployment, cb *bundle.Bundle, model string, files verify.ProofFiles) *verify.Report {
		t.Helper()
		v, err := verify.NewVerifier(d.Root, verify.WithProofChecker(files))
		if err != nil {
			t.Fatal(err)
		}
		r, _ := v.Verify(context.Background(), cb, mustPolicy(t, verify.WithModelSHA256(model), verify.WithRevocations()))
		return r
	}
	status := func(r *verify.Report, name string) verify.Status {
		l, _ := r.Line(name)
		return l.Status
	}

	t.Run("the signed proof", func(t *testing.T) {
		d, cb, model := proofDeployment(t, g, nil)
		r := verifyWith(t, d, cb, model, g.files(g.bundle))
		for _, name := range []string{verify.CheckProof, verify.CheckProofClaim, verify.CheckGuarantee} {
			if status(r, name) != verify.Passed {
				t.Fatalf("%s: %s\n%s", name, status(r, name), r)
			}
		}
		if !r.Passed() || r.Proven == nil {
			t.Fatalf("report:\n%s", r)
		}
		if l, _ := r.Line(verify.CheckGuarantee); !strings.Contains(l.Detail, "ridge") || !strings.Contains(l.Detail, "<=") {
			t.Fatalf("guarantee line %q does not state the bounds", l.Detail)
		}
	})
	t.Run("the same bundle re-spaced", func(t *testing.T) {
		// A bundle that travelled inside a JSON request is compacted: its digest is that of
		// its canonical encoding, so it is still the signed proof.
		d, cb, model := proofDeployment(t, g, nil)
		var compact bytes.Buffer
		if err := json.Compact(&compact, g.bundle); err != nil {
			t.Fatal(err)
		}
		if r := verifyWith(t, d, cb, model, g.files(compact.Bytes())); !r.Passed() || status(r, verify.CheckProofClaim) != verify.Passed {
			t.Fatalf("the signed proof, re-spaced, was refused:\n%s", r)
		}
	})
	for name, change := range map[string]func(*statement.Training){
		"attested for another provider": func(tr *statement.Training) { tr.Provider = "provider-b" },
		"signed tau not the proof's":    func(tr *statement.Training) { tr.Model.Tau, tr.Model.TauFixed = "1", "1" },
		"signed λ not the proof's":      func(tr *statement.Training) { tr.Model.LambdaFixed = "1" },
		"signed bound not the proof's":  func(tr *statement.Training) { tr.Guarantee.DistanceBound = "1e-09" },
		"signed r2 not the proof's":     func(tr *statement.Training) { tr.Metrics.R2 = "0.999" },
		"signed dataset digest other":   func(tr *statement.Training) { tr.Dataset.FileDigest = strings.Repeat("0", 64) },
		"signed circuit other":          func(tr *statement.Training) { tr.Proof.BundleSHA256 = strings.Repeat("0", 64) },
	} {
		t.Run(name, func(t *testing.T) {
			d, cb, model := proofDeployment(t, g, change)
			r := verifyWith(t, d, cb, model, g.files(g.bundle))
			if r.Passed() || status(r, verify.CheckGuarantee) == verify.Passed {
				t.Fatalf("accepted:\n%s", r)
			}
		})
	}
	t.Run("keys the trust root does not pin", func(t *testing.T) {
		d, cb, model := proofDeployment(t, g, nil)
		files := g.files(g.bundle)
		other := files
		other.Keys = func(ctx context.Context, s circuit.Shape) (*setup.Keys, error) {
			k, err := files.Keys(ctx, s)
			if err != nil {
				return nil, err
			}
			k.Chunk.VKSHA256 = strings.Repeat("f", 64)
			return k, nil
		}
		r := verifyWith(t, d, cb, model, other)
		if status(r, verify.CheckProof) != verify.Failed {
			t.Fatalf("keys with another hash were used:\n%s", r)
		}
	})
}

// TestModelSHA256 checks that the digest is the subject an attestation names: the canonical
// file's, whatever spacing the model arrived in, and never a digest of something else.
func TestModelSHA256(t *testing.T) {
	g := loadGoldenProof(t)
	want, err := model.Unmarshal(g.model)
	if err != nil {
		t.Fatal(err)
	}
	var respaced bytes.Buffer
	if err := json.Indent(&respaced, g.model, "", "\t"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		in      []byte
		wantErr bool
	}{
		{"model file", g.model, false},
		{"re-spaced", respaced.Bytes(), false},
		{"not a model", []byte(`{"format":"something else"}`), true},
		{"empty", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := verify.ModelSHA256(bytes.NewReader(tc.in))
			switch {
			case tc.wantErr && err == nil:
				t.Fatalf("digest %s of an invalid model", got)
			case !tc.wantErr && (err != nil || got != want.SHA256):
				t.Fatalf("got %s, %v; want %s", got, err, want.SHA256)
			}
		})
	}
}
