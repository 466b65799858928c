package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// clientCommands runs, inside TestEndToEnd's flow (an attested model, single-party keys), the
// commands a provider and a client reach for beside submit and verify: the registry's keys,
// the offline bundle, verify by hash, with a provider, as JSON, and the admin's key list.
func clientCommands(t *testing.T, bin, dir string, admin, anon []string, modelFile, manifest, sha string) {
	t.Helper()
	p := func(name string) string { return filepath.Join(dir, name) }
	state := p("client-state")
	verified := regexp.MustCompile(`every check passed`)

	// The admin lists the provider's keys: ids and labels, never a secret.
	out := mustRun(t, bin, admin, "admin", "keys", "list", "acme-legal")
	if !regexp.MustCompile(`(?m)^KEY\s+ROLE\s+CREATED\s+REVOKED\s+LABEL$`).MatchString(out) || !strings.Contains(out, "provider") || strings.Contains(out, "comet_") {
		t.Errorf("admin keys list:\n%s", out)
	}

	// The provider fetches the registry's keys for its dataset, checked against the trust root.
	out = mustRun(t, bin, anon, "keys", "fetch", "--manifest", manifest, "--out", p("fetched-keys"), "--state-dir", state)
	if !strings.Contains(out, "verifying keys pinned by trust root version") {
		t.Errorf("keys fetch:\n%s", out)
	}
	if code, _, errOut := run(t, bin, anon, "keys", "fetch", "--d", "3", "--chunk-rows", "64", "--out", p("fetched-keys"), "--state-dir", state); code != 1 ||
		!strings.Contains(errOut, "publishes no keys for this dataset's shape") {
		t.Errorf("keys fetch of an unpublished shape: exit %d: %s", code, errOut)
	}

	// verify by hash fetches the model file; --provider is a policy; --json is one object.
	if out := mustRun(t, bin, anon, "verify", sha, "--state-dir", state, "--allow-single-party-setup", "--provider", "acme-legal"); !verified.MatchString(out) ||
		!regexp.MustCompile(`(?m)^provider\s+passed\s+acme-legal$`).MatchString(out) {
		t.Errorf("verify by hash with --provider:\n%s", out)
	}
	if code, _, errOut := run(t, bin, anon, "verify", modelFile, "--state-dir", state, "--allow-single-party-setup", "--provider", "other-co"); code != 1 ||
		!strings.Contains(errOut, `provider: attestation names "acme-legal", expected "other-co"`) {
		t.Errorf("verify --provider other-co: exit %d: %s", code, errOut)
	}
	var res struct {
		Format   string `json:"format"`
		Verified bool   `json:"verified"`
		Checks   []struct{ Name, Status, Detail string }
		Waived   []string `json:"waived"`
	}
	raw := mustRun(t, bin, anon, "verify", modelFile, "--state-dir", state, "--allow-single-party-setup", "--json")
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		t.Fatalf("verify --json: %v\n%s", err, raw)
	}
	proofPassed := false
	for _, c := range res.Checks {
		proofPassed = proofPassed || (c.Name == "zero-knowledge proof" && c.Status == "passed")
	}
	if res.Format != "comet.verify/v1" || !res.Verified || !proofPassed || len(res.Waived) != 1 {
		t.Errorf("verify --json: %+v", res)
	}

	// Everything for offline verification in one directory.
	evidence := p("evidence")
	mustRun(t, bin, anon, "bundle", "fetch", modelFile, "--out", evidence, "--state-dir", state)
	for _, name := range []string{dirBundle, dirTrustRoot, dirModel, dirProof, dirManifest, dirKeys} {
		if _, err := os.Stat(filepath.Join(evidence, name)); err != nil {
			t.Errorf("bundle fetch: %v", err)
		}
	}
	offline := []string{"verify", modelFile, "--offline", "--dir", evidence, "--allow-single-party-setup"}
	// Offline, the revocation list is only as fresh as the fetch: a required check not run.
	if code, _, errOut := run(t, bin, nil, offline...); code != 1 || !strings.Contains(errOut, "attestation not revoked: not checked") || !strings.Contains(errOut, "--waive revocation") {
		t.Errorf("offline --dir without waiving the revocation: exit %d: %s", code, errOut)
	}
	out = mustRun(t, bin, nil, append(offline, "--waive", "revocation")...)
	if !regexp.MustCompile(`zero-knowledge proof\s+passed`).MatchString(out) || !strings.Contains(out, "waived: the revocation list (--waive revocation)") {
		t.Errorf("offline --dir:\n%s", out)
	}
	if out := mustRun(t, bin, nil, "verify", sha, "--offline", "--dir", evidence, "--allow-single-party-setup", "--waive", "revocation"); !verified.MatchString(out) {
		t.Errorf("offline --dir by hash:\n%s", out)
	}
	if code, _, errOut := run(t, bin, nil, "verify", sha, "--offline", "--bundle", filepath.Join(evidence, dirBundle), "--trust-root", filepath.Join(evidence, dirTrustRoot)); code != 2 ||
		!strings.Contains(errOut, "offline, a model hash needs the model") {
		t.Errorf("offline by hash without the model: exit %d: %s", code, errOut)
	}
}

// revokedBundle fetches the offline bundle of a revoked model: it carries the signed
// revocation, which offline verification then applies, and the API's revocation object is
// accepted by --revocation as it is.
func revokedBundle(t *testing.T, bin, dir string, anon []string, modelFile, registryURL, sha string) {
	t.Helper()
	var lookup struct {
		Attestation struct{ ID string } `json:"attestation"`
	}
	if err := json.Unmarshal(fetch(t, registryURL+"/v1/models/"+sha), &lookup); err != nil {
		t.Fatal(err)
	}
	attestationID := lookup.Attestation.ID
	evidence := filepath.Join(dir, "evidence-revoked")
	mustRun(t, bin, anon, "bundle", "fetch", modelFile, "--out", evidence, "--state-dir", filepath.Join(dir, "client-state"))
	code, out, _ := run(t, bin, nil, "verify", modelFile, "--offline", "--dir", evidence, "--allow-single-party-setup")
	if code != 1 || !regexp.MustCompile(`attestation not revoked\s+failed\s+.*training data withdrawn`).MatchString(out) {
		t.Errorf("offline --dir of a revoked model: exit %d\n%s", code, out)
	}
	apiRevocation := filepath.Join(dir, "revocation.api.json")
	if err := os.WriteFile(apiRevocation, fetch(t, registryURL+"/v1/attestations/"+attestationID+"/revocation"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, bin, nil, "verify", modelFile, "--offline", "--bundle", filepath.Join(evidence, dirBundle), "--trust-root", filepath.Join(evidence, dirTrustRoot),
		"--revocation", apiRevocation, "--allow-single-party-setup", "--waive", "proof")
	if code != 1 || !regexp.MustCompile(`attestation not revoked\s+failed`).MatchString(out) {
		t.Errorf("offline --revocation with the API's answer: exit %d\n%s%s", code, out, errOut)
	}
}
