package main

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/internal/shareddata"
)

// freeAddr is a loopback address free a moment ago, so that a restarted registry answers at
// the URL its clients pinned the trust root for.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestKeyRotation rotates the registry's signing key and the log's key between two runs of
// comet serve: the registry issues trust root version 2, signed by the root key of version 1;
// comet verify, holding version 1, meets an attestation signed by the new key, walks the chain
// and pins version 2; and the attestation signed before the rotation still verifies.
func TestKeyRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("the flow as processes, twice: builds the binary, proves, serves (40 s)")
	}
	bin := buildComet(t)
	dir := t.TempDir()
	data := shareddata.Path(t, "data", "legal", "fjc_rollcall_margin.csv")
	p := func(name string) string { return filepath.Join(dir, name) }
	mustRun(t, bin, nil, "dataset", "commit", data, "--label", "vote_margin", "--exclude", "nid,sequence,ayes,nays",
		"--chunk-rows", "128", "--salt-file", p("data.salt"), "--out", p("data.manifest.json"))
	for _, m := range []struct{ out, lambda string }{{"model.json", "0"}, {"model2.json", "0.5"}} {
		mustRun(t, bin, nil, "train", data, "--manifest", p("data.manifest.json"), "--salt-file", p("data.salt"), "--lambda", m.lambda, "--out", p(m.out))
	}
	mustRun(t, bin, nil, "setup", "--manifest", p("data.manifest.json"), "--out", p("keys"))
	config := writeConfig(t, dir, p("keys"))
	adminKey := strings.TrimSpace(mustRun(t, bin, nil, "admin", "init", "--create", "--config", config))
	addr := freeAddr(t)
	reg := startComet(t, bin, listeningRE, "serve", "--config", config, "--addr", addr)
	admin := []string{"COMET_API_KEY=" + adminKey, "COMET_REGISTRY=" + reg.url}
	anon := []string{"COMET_REGISTRY=" + reg.url}
	registerProvider(t, bin, dir, admin, anon)
	submit := func(model string) {
		t.Helper()
		proveAndSubmit(t, bin, dir, reg, anon, data, p("data.manifest.json"), p("data.salt"), model)
	}
	submit(p("model.json"))
	state := p("state")
	verifyArgs := func(model string) []string {
		return []string{"verify", model, "--state-dir", state, "--allow-single-party-setup"}
	}
	out := mustRun(t, bin, anon, verifyArgs(p("model.json"))...)
	if !strings.Contains(out, "trust root version 1 (sha256:") || !strings.Contains(out, "pinned on first use") {
		t.Fatalf("first verify does not say which trust root it pinned:\n%s", out)
	}
	v1, err := trustroot.Load(pinnedRoot(t, state))
	if err != nil {
		t.Fatal(err)
	}
	reg.stop(t)

	// Rotate both keys: the operator points the config at new key files.
	mustRun(t, bin, nil, "keys", "generate", "--name", "comet.localhost", "--out", p("registry2.key"))
	mustRun(t, bin, nil, "keys", "generate", "--name", "comet.localhost/log", "--out", p("log2.key"))
	raw, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	rotated := strings.Replace(string(raw), "registry:\n", "registry:\n  key_file: "+p("registry2.key")+"\n", 1)
	rotated = strings.Replace(rotated, "log:\n", "log:\n  key_file: "+p("log2.key")+"\n", 1)
	if err := os.WriteFile(config, []byte(rotated), 0o644); err != nil {
		t.Fatal(err)
	}
	reg = startComet(t, bin, listeningRE, "serve", "--config", config, "--addr", addr)
	if !strings.Contains(reg.log(), "issued trust root") || !strings.Contains(reg.log(), "version=2") {
		t.Fatalf("the restarted registry did not issue version 2:\n%s", reg.log())
	}
	submit(p("model2.json"))

	// The client still holds version 1, which does not know the new registry key.
	out = mustRun(t, bin, anon, verifyArgs(p("model2.json"))...)
	if !regexp.MustCompile(`trust root version 2 \(sha256:[0-9a-f]{64}\), updated from version 1 .*registry key the pinned version does not name`).MatchString(out) ||
		!strings.Contains(out, "every check passed") {
		t.Fatalf("verify after the rotation:\n%s", out)
	}
	v2, err := trustroot.Load(pinnedRoot(t, state))
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || len(v2.Registry) != 2 || v2.Registry[0].NotAfter.IsZero() || len(v2.LogKeys) != 2 || v2.RootKeys[0].KeyID() != v1.RootKeys[0].KeyID() {
		t.Fatalf("pinned version 2: %+v", v2)
	}
	// Signed before the rotation, by the retired key: still valid.
	if out := mustRun(t, bin, anon, verifyArgs(p("model.json"))...); !strings.Contains(out, "trust root version 2") || !strings.Contains(out, "every check passed") {
		t.Fatalf("the attestation signed before the rotation:\n%s", out)
	}
	if out := mustRun(t, bin, anon, "trustroot", "update", "--state-dir", state); !strings.Contains(out, "version 2") || !strings.Contains(out, "is the newest") {
		t.Fatalf("trustroot update:\n%s", out)
	}
	reg.stop(t)
}
