package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/comet-attest/comet/registry/registrytest"
	"github.com/comet-attest/comet/registry/wire"
)

// Evaluations through the CLI against comet serve: an evaluator registers and is approved, may
// not submit training, submits an evaluation of the provider's attested model and waits for it;
// lookup lists it with its metrics and who proved it; verify checks its proof, and once an
// admin revokes it verification fails unless the evaluations are waived by name.
func TestSubmitEval(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and serves as a process")
	}
	fix := registrytest.Get(t)
	testManifest, evalBundle, keysDir, err := fix.Evaluation("court-of-appeal", fix.Model)
	if err != nil {
		t.Fatal(err)
	}
	bin := buildComet(t)
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	writeFixture(t, dir, fix, map[string][]byte{"test.manifest.json": testManifest, "model.eval.json": evalBundle})
	config := writeConfig(t, dir, keysDir)
	adminKey := strings.TrimSpace(mustRun(t, bin, nil, "admin", "init", "--create", "--config", config))
	reg := startRegistry(t, bin, config)
	admin := []string{"COMET_API_KEY=" + adminKey, "COMET_REGISTRY=" + reg.url}
	anon := []string{"COMET_REGISTRY=" + reg.url}
	registerProvider(t, bin, dir, admin, anon)
	mustRun(t, bin, anon, "provider", "register", "court-of-appeal", "--role", "evaluator", "--contact", "ops@court.example", "--key-out", p("court.key"))
	mustRun(t, bin, admin, "admin", "providers", "approve", "court-of-appeal")

	submit := []string{"submit", "--model", p("model.json"), "--manifest", p("data.manifest.json"), "--proof", p("model.proof.json"), "--wait"}
	if code, _, errOut := run(t, bin, anon, append(submit, "--api-key-file", p("court.key"))...); code == 0 || !strings.Contains(errOut, "evaluator") {
		t.Errorf("an evaluator submitted training: exit %d: %s", code, errOut)
	}
	if out := mustRun(t, bin, anon, append(submit, "--api-key-file", p("provider.key"))...); !strings.Contains(out, "logged: attestation") {
		t.Fatalf("submit:\n%s", out)
	}

	out := mustRun(t, bin, anon, "submit-eval", "--api-key-file", p("court.key"), "--model", fix.ModelSHA256,
		"--manifest", p("test.manifest.json"), "--proof", p("model.eval.json"))
	m := regexp.MustCompile(`(?m)^evaluation (ev_[0-9a-f]+) received`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "logged: evaluation attestation") ||
		!regexp.MustCompile(`proven: held out on 40 rows of test set [0-9a-f]{64}: R² \S+, RMSE \S+, SSR \S+ \(proven by court-of-appeal`).MatchString(out) {
		t.Fatalf("submit-eval:\n%s\n%s", out, reg.log())
	}
	evID := m[1]
	if code, _, errOut := run(t, bin, anon, "submit-eval", "--api-key-file", p("court.key"), "--model", fix.ModelSHA256,
		"--manifest", p("test.manifest.json"), "--proof", p("model.eval.json")); code == 0 || !strings.Contains(errOut, "409 conflict") {
		t.Errorf("submit-eval again: exit %d: %s", code, errOut)
	}

	out = mustRun(t, bin, anon, "lookup", p("model.json"))
	if !regexp.MustCompile(`(?m)^evaluation\s+` + evID + `: held out on 40 rows .*R² .*proven by court-of-appeal`).MatchString(out) {
		t.Errorf("lookup:\n%s", out)
	}
	var looked struct {
		ModelSHA256 string            `json:"model_sha256"`
		Evaluations []wire.Evaluation `json:"evaluations"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, bin, anon, "lookup", p("model.json"), "--json")), &looked); err != nil ||
		looked.ModelSHA256 != fix.ModelSHA256 || len(looked.Evaluations) != 1 || looked.Evaluations[0].ID != evID || looked.Evaluations[0].EvaluatorID != "court-of-appeal" {
		t.Errorf("lookup --json: %+v, %v", looked, err)
	}

	state := p("state")
	verifyArgs := []string{"verify", p("model.json"), "--state-dir", state, "--allow-single-party-setup"}
	out = mustRun(t, bin, anon, verifyArgs...)
	if !regexp.MustCompile(`evaluation `+evID+`\s+passed\s+held out on 40 rows .*proven by court-of-appeal`).MatchString(out) || !strings.Contains(out, "every check passed") {
		t.Errorf("verify with an evaluation:\n%s", out)
	}

	// Offline: comet bundle fetch writes the evaluation beside the model's files, and verify
	// --dir checks it as online.
	evidence := p("evidence")
	mustRun(t, bin, anon, "bundle", "fetch", p("model.json"), "--out", evidence, "--state-dir", state)
	for _, name := range []string{"envelope.json", "bundle.json", "proof.json", "manifest.json"} {
		if _, err := os.Stat(filepath.Join(evidence, "evaluations", evID, name)); err != nil {
			t.Errorf("bundle fetch: %v", err)
		}
	}
	offline := []string{"verify", p("model.json"), "--offline", "--dir", evidence, "--waive", "revocation", "--allow-single-party-setup"}
	if out := mustRun(t, bin, nil, offline...); !regexp.MustCompile(`evaluation ` + evID + `\s+passed\s+held out on 40 rows`).MatchString(out) {
		t.Errorf("offline verify with an evaluation:\n%s", out)
	}

	if out := mustRun(t, bin, admin, "admin", "revoke", evID, "--reason", "test set leaked into training"); !strings.Contains(out, "evaluation "+evID+" revoked at ") {
		t.Errorf("admin revoke of an evaluation:\n%s", out)
	}
	code, out, errOut := run(t, bin, anon, verifyArgs...)
	if code != 1 || !regexp.MustCompile(`evaluation `+evID+`\s+failed\s+revoked at \S+: test set leaked into training`).MatchString(out) || !strings.Contains(errOut, "evaluation "+evID) {
		t.Errorf("verify with a revoked evaluation: exit %d\n%s%s", code, out, errOut)
	}
	out = mustRun(t, bin, anon, append(verifyArgs, "--waive", "evaluations")...)
	if !strings.Contains(out, "every check passed") || !strings.Contains(out, "evaluation "+evID+" (--waive evaluations)") {
		t.Errorf("verify --waive evaluations:\n%s", out)
	}
	// Fetched again, the signed revocation travels with the evaluation; a revocation that
	// does not verify is no revocation, and the evaluation's line says so.
	mustRun(t, bin, anon, "bundle", "fetch", p("model.json"), "--out", evidence, "--state-dir", state)
	code, out, _ = run(t, bin, nil, offline...)
	if code != 1 || !regexp.MustCompile(`evaluation `+evID+`\s+failed\s+revoked at \S+: test set leaked into training`).MatchString(out) {
		t.Errorf("offline verify with a revoked evaluation: exit %d\n%s", code, out)
	}
	rev := filepath.Join(evidence, "evaluations", evID, "revocation.json")
	raw, err := os.ReadFile(rev)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rev, []byte(strings.Replace(string(raw), `"sig":"`, `"sig":"AA`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ = run(t, bin, nil, offline...); code != 1 || !strings.Contains(out, "its revocation does not verify") {
		t.Errorf("offline verify with a forged revocation: exit %d\n%s", code, out)
	}
}
