package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/comet-attest/comet/cmd/comet/internal/bench"
)

// comet bench --quick runs every step for real (a proof, a registry on loopback), prints the
// table with the machine, writes the report, and compares with an earlier one.
func TestBenchQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every benchmark at its quick size (about 30 s)")
	}
	dir := t.TempDir()
	first := filepath.Join(dir, "first.json")
	code, out, errOut := runComet(t, "bench", "--quick", "--out", first)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := bench.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"commit", "train", "setup", "constraints", "prove", "verify", "log append", "submit", "submit to logged", "lookup", "lookup p99"} {
		if m, ok := rep.Metric(name); !ok || m.Value <= 0 {
			t.Errorf("metric %q: %+v", name, m)
		}
		if !strings.Contains(out, name) {
			t.Errorf("the table has no %q:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "machine ") || !strings.Contains(out, "gnark v0.16.0") {
		t.Errorf("no machine line:\n%s", out)
	}
	code, out, errOut = runComet(t, "bench", "--quick", "--out", filepath.Join(dir, "second.json"), "--compare", first)
	if code != 0 || !strings.Contains(out, "speed-up") || !strings.Contains(out, "×") {
		t.Errorf("--compare: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runComet(t, "bench", "--compare", filepath.Join(dir, "missing.json")); code != 2 || !strings.Contains(errOut, "--compare") {
		t.Errorf("--compare of a missing file: exit %d: %s", code, errOut)
	}
}
