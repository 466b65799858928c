package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/attesttest"
	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/registry/registrytest"
	"github.com/comet-attest/comet/registry/wire"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// The DSSE and in-toto verifier these tests run: cosign, which nobody on this project wrote.
// .ci/run installs it and sets COMET_COSIGN.
const installCosign = "GOFLAGS= go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5 " +
	"(into $(go env GOPATH)/bin, on PATH, or name the binary in COMET_COSIGN; .ci/run does this)"

// cosignTool finds cosign. The test is a process test: it skips under -short, and otherwise
// fails, never skips, when cosign is missing.
func cosignTool(t *testing.T) string {
	t.Helper()
	cosign := findTool("COMET_COSIGN", "cosign")
	switch {
	case testing.Short() && cosign == "":
		t.Skipf("runs cosign as a process; cosign not found: install with %s", installCosign)
	case testing.Short():
		t.Skip("runs cosign as a process (10 s)")
	case cosign == "":
		t.Fatalf("cosign not found: install with %s", installCosign)
	}
	return cosign
}

// cosign verify-blob-attestation, with the registry's key as PEM, accepts a real attestation
// the registry issued, with model.json and envelope.json as comet bundle fetch writes them,
// and refuses each tampered part: the model file, the signed payload, the signature, the key.
func TestCosignVerifiesAttestation(t *testing.T) {
	cosign := cosignTool(t)
	ctx := context.Background()
	fix := registrytest.Get(t)
	reg := registrytest.Serve(t, registrytest.Config(t), nil)
	prov := reg.Provider(t, registrytest.Provider)
	sub, err := prov.Submit(ctx, wire.SubmitRequest{ModelName: "model.json", Model: fix.Model, Manifest: fix.Manifest, Proof: fix.Proof})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if sub, err = prov.Wait(wctx, sub.ID, 20*time.Millisecond, nil); err != nil || sub.Status != "logged" {
		t.Fatalf("submission %+v %v", sub, err)
	}

	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	evidence := p("evidence")
	// By hash: the model file is the one the registry serves, not the one submitted.
	if code, out, errOut := runComet(t, "bundle", "fetch", fix.ModelSHA256, "--registry", reg.URL, "--out", evidence, "--state-dir", p("state")); code != 0 ||
		!strings.Contains(out, dirEnvelope) {
		t.Fatalf("bundle fetch: exit %d\n%s%s", code, out, errOut)
	}
	modelFile, envFile := filepath.Join(evidence, dirModel), filepath.Join(evidence, dirEnvelope)
	served, err := os.ReadFile(modelFile)
	if err != nil {
		t.Fatal(err)
	}
	envJSON, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	// cosign hashes the file as it is: the in-toto subject must be the served file's SHA-256.
	env, err := envelope.Parse(bytes.TrimSpace(envJSON))
	if err != nil {
		t.Fatalf("envelope.json: %v", err)
	}
	payload, err := envelope.Payload(env)
	if err != nil {
		t.Fatal(err)
	}
	subj, _, err := statement.Parse(payload, statement.TrainingPredicateType)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(served); env.PayloadType != "application/vnd.in-toto+json" || subj.SHA256 != hex.EncodeToString(sum[:]) ||
		subj.SHA256 != fix.ModelSHA256 || !bytes.Equal(served, fix.Model) {
		t.Fatalf("payload type %q, subject %s; the served model file hashes to %x, the submitted one is %s", env.PayloadType, subj.SHA256, sum, fix.ModelSHA256)
	}

	code, registryPEM, errOut := runComet(t, "trustroot", "show", filepath.Join(evidence, dirTrustRoot), "--pem", "--key", "registry")
	if code != 0 {
		t.Fatalf("trustroot show --pem --key registry: exit %d: %s", code, errOut)
	}
	registryKey := writeFile(t, dir, "registry.pem", registryPEM)
	other, err := keys.Generate("comet.test/other")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.WriteFile(p("other.key")); err != nil {
		t.Fatal(err)
	}
	code, otherPEM, errOut := runComet(t, "keys", "show", p("other.key"), "--pem")
	if code != 0 {
		t.Fatalf("keys show --pem: exit %d: %s", code, errOut)
	}
	otherKey := writeFile(t, dir, "other.pem", otherPEM)

	verify := func(key, sig, blob string) (int, string) {
		t.Helper()
		cmd := exec.Command(cosign, "verify-blob-attestation", "--key", key, "--type", statement.TrainingPredicateType,
			"--insecure-ignore-tlog", "--signature", sig, blob)
		// --key needs no Sigstore trust root, but cosign fetches one from the public TUF
		// repository first (and warns when it cannot): a mirror it has no cached root for keeps
		// it off the network, so that the test checks only what it means to.
		cmd.Env = append(os.Environ(), "TUF_ROOT="+p("tuf"), "TUF_MIRROR=http://127.0.0.1:9")
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, string(out)
	}
	code, out := verify(registryKey, envFile, modelFile)
	t.Logf("cosign on the registry's attestation: exit %d\n%s", code, out)
	if code != 0 || !strings.Contains(out, "Verified OK") {
		t.Fatalf("cosign refused the registry's attestation: exit %d\n%s", code, out)
	}

	// The model's first float weight edited: no longer the attested file.
	firstWeight := regexp.MustCompile(`"weights":\[([-0-9.e+]+)`)
	edited := firstWeight.ReplaceAllStringFunc(string(served), func(m string) string {
		w, err := strconv.ParseFloat(firstWeight.FindStringSubmatch(m)[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		return `"weights":[` + strconv.FormatFloat(2*w+1, 'g', -1, 64)
	})
	tamperedModel := writeFile(t, dir, "tampered-model.json", edited)
	// The payload re-pointed at another provider, the subject untouched: only the signature
	// can tell.
	otherProvider := bytes.Replace(payload, []byte(`"`+registrytest.Provider+`"`), []byte(`"other-co"`), 1)
	if bytes.Equal(otherProvider, payload) {
		t.Fatalf("the payload names no provider %q:\n%s", registrytest.Provider, payload)
	}
	tamperedPayload := spoiledEnvelope(t, dir, "tampered-payload.json", env, func(e *dsse.Envelope) {
		e.Payload = base64.StdEncoding.EncodeToString(otherProvider)
	})
	tamperedSig := spoiledEnvelope(t, dir, "tampered-signature.json", env, func(e *dsse.Envelope) {
		sig, err := base64.StdEncoding.DecodeString(e.Signatures[0].Sig)
		if err != nil {
			t.Fatal(err)
		}
		sig[0] ^= 1
		e.Signatures[0].Sig = base64.StdEncoding.EncodeToString(sig)
	})
	for _, c := range []struct{ name, key, sig, blob string }{
		{"tampered model file", registryKey, envFile, tamperedModel},
		{"tampered payload", registryKey, tamperedPayload, modelFile},
		{"tampered signature", registryKey, tamperedSig, modelFile},
		{"wrong key", otherKey, envFile, modelFile},
	} {
		code, out := verify(c.key, c.sig, c.blob)
		t.Logf("cosign on the %s: exit %d\n%s", c.name, code, out)
		if code == 0 || strings.Contains(out, "Verified OK") {
			t.Errorf("cosign accepted the %s: exit %d\n%s", c.name, code, out)
		}
	}
}

// spoiledEnvelope writes a copy of env, changed by spoil, to dir/name.
func spoiledEnvelope(t *testing.T, dir, name string, env *dsse.Envelope, spoil func(*dsse.Envelope)) string {
	t.Helper()
	c := *env
	c.Signatures = append(c.Signatures[:0:0], env.Signatures...)
	spoil(&c)
	b, err := envelope.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, string(b))
}

// trustroot show --pem prints each root, registry and log key as a PEM block after a comment
// naming it; --key keeps one, refusing a role that has several keys (cosign would read only
// the first) and a name that is no role or key id.
func TestTrustRootShowPEM(t *testing.T) {
	ctx := context.Background()
	gen := func(name string) *keys.Verifier {
		k, err := keys.Generate(name)
		if err != nil {
			t.Fatal(err)
		}
		return k.Verifier()
	}
	old, current, logKey := gen("comet.test/registry-2025"), gen("comet.test/registry"), gen("comet.test/log")
	retired := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	r, _, err := attesttest.SignRoot(ctx, trustroot.File{
		RegistryKeys: []trustroot.KeyEntry{
			{Key: old.String(), NotBefore: retired.Add(-24 * time.Hour), NotAfter: &retired},
			{Key: current.String(), NotBefore: retired},
		},
		Log: trustroot.LogEntry{Origin: "comet.test/log", Key: logKey.String()},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := writeFile(t, dir, "trustroot.json", string(raw))

	code, out, errOut := runComet(t, "trustroot", "show", file, "--pem")
	if code != 0 {
		t.Fatalf("--pem: exit %d: %s", code, errOut)
	}
	want := []struct {
		role string
		key  *keys.Verifier
	}{{"root", r.RootKeys[0]}, {"registry", old}, {"registry", current}, {"log", logKey}}
	rest := []byte(out)
	for _, w := range want {
		comment := "# " + w.role + " " + w.key.KeyID() + " "
		if !bytes.HasPrefix(rest, []byte(comment)) {
			t.Fatalf("want a block after %q here:\n%s", comment, rest)
		}
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if wantPEM, _ := w.key.PEM(); block == nil || !bytes.Equal(pem.EncodeToMemory(block), wantPEM) {
			t.Fatalf("the %s key %s is not printed as its PEM:\n%s", w.role, w.key.KeyID(), out)
		}
	}
	if len(bytes.TrimSpace(rest)) != 0 || !strings.Contains(out, "to "+retired.Format(time.RFC3339)) {
		t.Errorf("--pem:\n%s", out)
	}

	for sel, key := range map[string]*keys.Verifier{"log": logKey, current.KeyID(): current} {
		code, out, errOut := runComet(t, "trustroot", "show", file, "--pem", "--key", sel)
		if wantPEM, _ := key.PEM(); code != 0 || !strings.HasSuffix(out, string(wantPEM)) || strings.Count(out, "BEGIN") != 1 {
			t.Errorf("--pem --key %s: exit %d\n%s%s", sel, code, out, errOut)
		}
	}
	for args, msg := range map[string]string{
		"--pem --key registry": "the trust root has 2 registry keys",
		"--pem --key witness":  "no such role",
		"--key log":            "add --pem",
	} {
		code, _, errOut := runComet(t, append([]string{"trustroot", "show", file}, strings.Fields(args)...)...)
		if code != 2 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, msg) {
			t.Errorf("%s: exit %d: %s", args, code, errOut)
		}
	}
}
