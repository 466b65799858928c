package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCeremony runs a three-party ceremony as separate processes, each participant on its own
// copy of the directory as it travels, finalizes it, publishes the keys on a registry that
// requires a ceremony of three, and verifies an attestation proven with them: the key ceremony
// line passes without --allow-single-party-setup. A tampered contribution fails ceremony verify.
func TestCeremony(t *testing.T) {
	if testing.Short() {
		t.Skip("a ceremony and the flow as processes (50 s)")
	}
	bin := buildComet(t)
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	var sb strings.Builder
	sb.WriteString("x1,x2,y\n")
	for i := range 40 {
		fmt.Fprintf(&sb, "%d,%d,%d\n", i%7, (i*3)%5, 2*(i%7)-(i*3)%5+i%3)
	}
	data := writeFile(t, dir, "data.csv", sb.String())
	mustRun(t, bin, nil, "dataset", "commit", data, "--label", "y", "--chunk-rows", "8", "--value-bits", "24", "--fraction-bits", "12",
		"--salt-file", p("data.salt"), "--out", p("data.manifest.json"))
	mustRun(t, bin, nil, "train", data, "--manifest", p("data.manifest.json"), "--salt-file", p("data.salt"), "--lambda", "0.5", "--out", p("model.json"))

	// The directory travels: coordinator → alice → bob → carol → coordinator, each on a copy.
	hop := 0
	pass := func(from string) string {
		t.Helper()
		hop++
		to := p(fmt.Sprintf("hop%02d", hop))
		if err := os.CopyFS(to, os.DirFS(from)); err != nil {
			t.Fatal(err)
		}
		return to
	}
	cur := p("ceremony")
	mustRun(t, bin, nil, "ceremony", "init", "--manifest", p("data.manifest.json"), "--out", cur)
	names := []string{"alice", "bob", "carol"}
	for round := range 2 {
		for _, n := range names {
			cur = pass(cur)
			if out := mustRun(t, bin, nil, "ceremony", "contribute", cur, "--name", n); !regexp.MustCompile(`by ` + n + `: sha256 [0-9a-f]{64}`).MatchString(out) {
				t.Fatalf("contribute:\n%s", out)
			}
		}
		if round == 0 {
			cur = pass(cur)
			mustRun(t, bin, nil, "ceremony", "close-phase1", cur)
		}
	}
	if code, _, errOut := run(t, bin, nil, "ceremony", "contribute", cur, "--name", "alice"); code != 2 || !strings.Contains(errOut, "already contributed") {
		t.Errorf("a second phase-2 contribution by alice: exit %d: %s", code, errOut)
	}

	// A tampered contribution: a byte of carol's phase-2 chunk file, its recorded hash fixed.
	bad := pass(cur)
	file := filepath.Join(bad, "phase2", "chunk", "0003.bin")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	old := sha256.Sum256(raw)
	raw[len(raw)/2] ^= 4
	now := sha256.Sum256(raw)
	js, _ := os.ReadFile(filepath.Join(bad, "ceremony.json"))
	js = []byte(strings.Replace(string(js), hex.EncodeToString(old[:]), hex.EncodeToString(now[:]), 1))
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "ceremony.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := run(t, bin, nil, "ceremony", "verify", bad); code != 1 || !strings.Contains(out, "phase2/chunk/0003.bin") || !strings.Contains(out, "FAILED") {
		t.Errorf("ceremony verify of a tampered contribution: exit %d\n%s", code, out)
	}

	out := mustRun(t, bin, nil, "ceremony", "finalize", cur, "--out", p("keys"))
	if !strings.Contains(out, "alice, bob, carol (phase 1) and alice, bob, carol (phase 2)") {
		t.Fatalf("finalize:\n%s", out)
	}
	transcript := regexp.MustCompile(`transcript (\S+) sha256 ([0-9a-f]{64})`).FindStringSubmatch(out)
	if transcript == nil {
		t.Fatalf("finalize names no transcript:\n%s", out)
	}
	if out := mustRun(t, bin, nil, "ceremony", "verify", transcript[1]); !strings.Contains(out, "every contribution verified (9)") {
		t.Fatalf("ceremony verify of the transcript:\n%s", out)
	}

	// Published by a registry that requires three contributions, proven, attested, verified.
	config := writeConfig(t, dir, p("keys"))
	cfg, _ := os.ReadFile(config)
	cfg = []byte(strings.Replace(string(cfg), "registry:\n", "registry:\n  require_ceremony: true\n  min_ceremony_contributions: 3\n", 1))
	if err := os.WriteFile(config, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	adminKey := strings.TrimSpace(mustRun(t, bin, nil, "admin", "init", "--create", "--config", config))
	reg := startRegistry(t, bin, config)
	admin := []string{"COMET_API_KEY=" + adminKey, "COMET_REGISTRY=" + reg.url}
	anon := []string{"COMET_REGISTRY=" + reg.url}
	registerProvider(t, bin, dir, admin, anon)
	proveAndSubmit(t, bin, dir, reg, anon, data, p("data.manifest.json"), p("data.salt"), p("model.json"))
	out = mustRun(t, bin, anon, "verify", p("model.json"), "--state-dir", p("state"))
	if !regexp.MustCompile(`key ceremony\s+passed\s+3 contributions \(phase 1 alice, bob, carol; phase 2 alice, bob, carol\), transcript sha256:` + transcript[2]).MatchString(out) {
		t.Fatalf("verify with ceremony keys:\n%s", out)
	}
	// The registry serves the transcript the trust root pins.
	circuitID := regexp.MustCompile(`chunk circuit ([0-9a-f]{64})`).FindStringSubmatch(mustRun(t, bin, nil, "setup", "--manifest", p("data.manifest.json"), "--out", p("keys")))
	if circuitID == nil {
		t.Fatal("no circuit id")
	}
	if sum := sha256.Sum256(fetch(t, reg.url+"/v1/keys/"+circuitID[1]+"/transcript")); hex.EncodeToString(sum[:]) != transcript[2] {
		t.Errorf("served transcript hashes to %x, want %s", sum, transcript[2])
	}
	reg.stop(t)
}

// An evaluation shape's keys come from a ceremony too: init --evaluation, one contributor
// per phase, finalize; comet evaluate proves with them and the proof verifies, and keys.json
// records the ceremony.
func TestEvaluationCeremony(t *testing.T) {
	if testing.Short() {
		t.Skip("a ceremony of the evaluation circuits and an evaluation proof (20 s)")
	}
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	must := func(args ...string) string {
		t.Helper()
		code, out, errOut := runComet(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	for part, n := range map[string]int{"train": 40, "test": 16} {
		var sb strings.Builder
		sb.WriteString("x1,x2,y\n")
		for i := range n {
			fmt.Fprintf(&sb, "%d,%d,%d\n", (i+len(part))%7, (i*3)%5, 2*((i+len(part))%7)-(i*3)%5+i%3)
		}
		writeFile(t, dir, part+".csv", sb.String())
		must("dataset", "commit", p(part+".csv"), "--label", "y", "--chunk-rows", "8", "--value-bits", "24", "--fraction-bits", "12",
			"--salt-file", p(part+".salt"), "--out", p(part+".manifest.json"))
	}
	must("train", p("train.csv"), "--manifest", p("train.manifest.json"), "--salt-file", p("train.salt"), "--lambda", "0.5", "--out", p("model.json"))

	cer := p("ceremony")
	if out := must("ceremony", "init", "--evaluation", "--task", "regression", "--manifest", p("test.manifest.json"), "--out", cer); !strings.Contains(out, "regression") {
		t.Errorf("init names no evaluation shape:\n%s", out)
	}
	must("ceremony", "contribute", cer, "--name", "alice")
	must("ceremony", "close-phase1", cer)
	must("ceremony", "contribute", cer, "--name", "bob")
	out := must("ceremony", "finalize", cer, "--out", p("keys"))
	if !strings.Contains(out, "alice (phase 1) and bob (phase 2)") || !strings.Contains(out, "eval-chunk circuit") {
		t.Fatalf("finalize:\n%s", out)
	}
	must("evaluate", p("model.json"), p("test.csv"), "--manifest", p("test.manifest.json"), "--salt-file", p("test.salt"),
		"--keys", p("keys"), "--evaluator", "court", "--task", "regression", "--out", p("model.eval.json"))
	out = must("proof", "verify", p("model.eval.json"), "--model", p("model.json"), "--manifest", p("test.manifest.json"), "--keys", p("keys"))
	if strings.Contains(out, "FAIL") || !strings.Contains(out, "proven by court") {
		t.Errorf("verify of an evaluation proven with ceremony keys:\n%s", out)
	}
	keysJSON, err := filepath.Glob(filepath.Join(p("keys"), "*", "keys.json"))
	if err != nil || len(keysJSON) != 1 {
		t.Fatalf("keys.json: %v %v", keysJSON, err)
	}
	if raw, _ := os.ReadFile(keysJSON[0]); !strings.Contains(string(raw), `"phase2_contributors"`) || !strings.Contains(string(raw), "regression") {
		t.Errorf("keys.json does not record the evaluation ceremony:\n%s", raw)
	}
}
