package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/comet-attest/comet/attest/attesttest"
	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/leaf"
	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/attest/verify"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/pipeline"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/setup"
)

// evalMaterial is an evaluation of the golden model on a held-out set of its own, proven
// once for every test: the bundle, its test manifest, the keys, the statement it supports.
type evalMaterial struct {
	bundle, manifest, model []byte
	keys                    *setup.Keys
	claim                   statement.Evaluation
	modelSHA256             string
}

var (
	evalOnce sync.Once
	evalMat  *evalMaterial
	evalErr  error
)

const goldenEvaluator = "court-of-appeal"

func loadEvaluation(t *testing.T) *evalMaterial {
	t.Helper()
	g := loadGoldenProof(t)
	evalOnce.Do(func() { evalMat, evalErr = proveEvaluation(t.TempDir(), g) })
	if evalErr != nil {
		t.Fatal(evalErr)
	}
	return evalMat
}

func proveEvaluation(dir string, g goldenProof) (*evalMaterial, error) {
	ctx := context.Background()
	m, err := model.Unmarshal(g.model)
	if err != nil {
		return nil, err
	}
	trainMan, err := commitment.ParseManifest(g.manifest)
	if err != nil {
		return nil, err
	}
	var sb strings.Builder
	sb.WriteString("a,b,y\n")
	for i := range 16 {
		a, b := float64(i%5)-2, float64((i*3)%7)/2-1
		fmt.Fprintf(&sb, "%g,%g,%.3f\n", a, b, 1.5*a-2*b+0.2+0.05*float64(i%3-1))
	}
	csv := filepath.Join(dir, "test.csv")
	if err := os.WriteFile(csv, []byte(sb.String()), 0o644); err != nil {
		return nil, err
	}
	var salt commitment.Salt
	for i := range salt {
		salt[i] = byte(7*i + 1)
	}
	man, err := pipeline.Commit(ctx, csv, pipeline.CommitOptions{Label: "y", Format: trainMan.Format(), ChunkRows: 8, Salt: salt})
	if err != nil {
		return nil, err
	}
	keys, err := setup.Generate(ctx, circuit.EvalShape{Shape: circuit.ShapeOf(man.Header, m.FitIntercept), Task: circuit.Regression}, nil)
	if err != nil {
		return nil, err
	}
	b, err := proof.Evaluate(ctx, keys, proof.EvalRequest{Manifest: man, Model: m, Salt: salt, Rows: proof.CSVSource(csv, man),
		Evaluator: goldenEvaluator, Task: circuit.Regression}, proof.Options{Workers: 1})
	if err != nil {
		return nil, err
	}
	e := &evalMaterial{model: g.model, keys: keys, claim: verify.EvaluationClaim(b, man), modelSHA256: m.SHA256}
	if e.bundle, err = b.Marshal(); err != nil {
		return nil, err
	}
	if e.manifest, err = man.Marshal(); err != nil {
		return nil, err
	}
	return e, nil
}

// signEvaluation signs the evaluation statement about subject with k, as the registry does.
func signEvaluation(t *testing.T, k *keys.Signer, subject string, ev statement.Evaluation) *dsse.Envelope {
	t.Helper()
	st, err := statement.NewEvaluation(statement.Subject{Name: "model.json", SHA256: subject}, ev)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := statement.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	env, err := envelope.Sign(context.Background(), payload, k)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// flipFinalProof changes one bit in the middle of the final proof of a bundle.
func flipFinalProof(t *testing.T, bundleJSON []byte) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(bundleJSON, &b); err != nil {
		t.Fatal(err)
	}
	final := b["final"].(map[string]any)
	final["proof"] = flipB64(t, final["proof"].(string), 8*100+3)
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// VerifyEvaluation accepts the evaluation the registry signed and names the check that fails
// for each way an envelope, its statement, the proof or the files can be wrong.
func TestVerifyEvaluation(t *testing.T) {
	if testing.Short() {
		t.Skip("proves an evaluation (a few seconds)")
	}
	ctx := context.Background()
	e := loadEvaluation(t)
	pins := map[string]trustroot.CircuitPin{}
	for _, c := range []*setup.Circuit{&e.keys.Chunk, &e.keys.Final} {
		pins[c.ID] = trustroot.CircuitPin{VKSHA256: c.VKSHA256, Ceremony: attesttest.Ceremony}
	}
	d := attesttest.New(t, attesttest.Options{Circuits: pins})
	unpinned := attesttest.New(t, attesttest.Options{})
	stranger, err := keys.Generate("stranger.example")
	if err != nil {
		t.Fatal(err)
	}
	publish := func(t *testing.T, env *dsse.Envelope) *bundle.Bundle {
		t.Helper()
		l, err := leaf.FromEnvelope(env, d.Registry.Verifier())
		if err != nil {
			t.Fatal(err)
		}
		b, err := d.Publish(ctx, env, l.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	issued := func(ev statement.Evaluation) statement.Evaluation {
		ev.IssuedAt = time.Now().UTC().Truncate(time.Second)
		return ev
	}
	good := issued(e.claim)
	otherWeights := strings.Replace(string(e.model), `"weights_fixed":["6115"`, `"weights_fixed":["6116"`, 1)
	if otherWeights == string(e.model) {
		t.Fatal("the golden model changed: edit another weight")
	}
	flipped := flipFinalProof(t, e.bundle)

	cases := []struct {
		name    string
		root    *attesttest.Deployment
		env     *dsse.Envelope
		bundle  []byte
		model   []byte
		subject string // the model the client asks about
		logged  func(t *testing.T, env *dsse.Envelope) *bundle.Bundle
		check   string // "" passes
	}{
		{name: "the signed evaluation", env: signEvaluation(t, d.Registry, e.modelSHA256, good)},
		{name: "signed by a key the trust root lacks", env: signEvaluation(t, stranger, e.modelSHA256, good), check: verify.CheckEnvelopeSignature},
		{name: "about another model", env: signEvaluation(t, d.Registry, strings.Repeat("ab", 32), good), check: verify.CheckSubject},
		{name: "asked about another model", env: signEvaluation(t, d.Registry, e.modelSHA256, good), subject: strings.Repeat("cd", 32), check: verify.CheckSubject},
		{name: "signed metrics not the proof's", env: signEvaluation(t, d.Registry, e.modelSHA256, func() statement.Evaluation {
			ev := good
			ev.Metrics.R2 = "0.99999"
			return ev
		}()), check: verify.CheckProofClaim},
		{name: "signed test set not the proof's", env: signEvaluation(t, d.Registry, e.modelSHA256, func() statement.Evaluation {
			ev := good
			ev.TestSet.FileDigest = strings.Repeat("0", 64)
			return ev
		}()), check: verify.CheckProofClaim},
		{name: "attested for another evaluator", env: signEvaluation(t, d.Registry, e.modelSHA256, func() statement.Evaluation {
			ev := good
			ev.Evaluator = "someone-else"
			return ev
		}()), check: verify.CheckProof},
		{name: "circuits the trust root does not pin", root: unpinned, env: signEvaluation(t, unpinned.Registry, e.modelSHA256, good), check: verify.CheckVerifyingKey},
		{name: "a model with another weight", env: signEvaluation(t, d.Registry, e.modelSHA256, good), model: []byte(otherWeights), check: verify.CheckProof},
		{name: "a proof with a flipped byte", env: signEvaluation(t, d.Registry, e.modelSHA256, good), bundle: flipped, check: verify.CheckProof},
		{name: "logged", env: signEvaluation(t, d.Registry, e.modelSHA256, good), logged: publish},
		{name: "logged with another envelope's leaf", env: signEvaluation(t, d.Registry, e.modelSHA256, good), check: verify.CheckLeaf,
			logged: func(t *testing.T, env *dsse.Envelope) *bundle.Bundle {
				b := publish(t, env)
				earlier := issued(e.claim)
				earlier.IssuedAt = earlier.IssuedAt.Add(-time.Minute) // another envelope, another leaf
				other := publish(t, signEvaluation(t, d.Registry, e.modelSHA256, earlier))
				b.Leaf = other.Leaf
				return b
			}},
		{name: "logged under a forged checkpoint", env: signEvaluation(t, d.Registry, e.modelSHA256, good), check: verify.CheckCheckpoint,
			logged: func(t *testing.T, env *dsse.Envelope) *bundle.Bundle {
				b := publish(t, env)
				b.Checkpoint = editCheckpointLine(t, b.Checkpoint, 2, func(string) string { return "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" })
				return b
			}},
		{name: "logged with a wrong inclusion proof", env: signEvaluation(t, d.Registry, e.modelSHA256, good), check: verify.CheckInclusion,
			logged: func(t *testing.T, env *dsse.Envelope) *bundle.Bundle {
				earlier := issued(e.claim)
				earlier.IssuedAt = earlier.IssuedAt.Add(-2 * time.Minute)
				publish(t, signEvaluation(t, d.Registry, e.modelSHA256, earlier)) // a sibling: the proof then has a hash
				b := publish(t, env)
				if len(b.Inclusion.Hashes) == 0 {
					t.Fatal("an inclusion proof without hashes")
				}
				b.Inclusion.Hashes[0][0] ^= 1
				return b
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logged *bundle.Bundle
			if c.logged != nil {
				logged = c.logged(t, c.env)
			}
			root := d
			if c.root != nil {
				root = c.root
			}
			v, err := verify.NewVerifier(root.Root)
			if err != nil {
				t.Fatal(err)
			}
			files := verify.EvaluationFiles{Envelope: c.env, Bundle: e.bundle, Manifest: e.manifest, Model: e.model,
				Keys: func(context.Context, circuit.Keyed) (*setup.Keys, error) { return e.keys, nil }, Logged: logged}
			if c.bundle != nil {
				files.Bundle = c.bundle
			}
			subject := e.modelSHA256
			if c.model != nil {
				files.Model = c.model
			}
			if c.subject != "" {
				subject = c.subject
			}
			got, err := v.VerifyEvaluation(ctx, files, subject)
			if c.check == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got.Metrics != good.Metrics || got.Evaluator != goldenEvaluator {
					t.Fatalf("returned %+v", got)
				}
				return
			}
			if !errors.Is(err, verify.ErrEvaluation) || !strings.Contains(err.Error(), ": "+c.check+": ") {
				t.Fatalf("got %v, want the %q check to fail", err, c.check)
			}
		})
	}
}
