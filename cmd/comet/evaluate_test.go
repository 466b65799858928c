package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEvaluateCLI runs an evaluator's commands on a small classification task: commit a
// training and a test set, train, make the evaluation keys, evaluate, verify; then the wrong
// evaluator, a test set that does not fit the model, and regression options on a classifier.
func TestEvaluateCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluation proofs end to end")
	}
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	csv := func(name string, n int, seed uint64) string {
		rng := rand.New(rand.NewPCG(seed, 3))
		var sb strings.Builder
		sb.WriteString("a,b,y\n")
		for range n {
			a, b := rng.NormFloat64(), rng.NormFloat64()
			y := 1
			if a-b+0.5*rng.NormFloat64() < 0 {
				y = -1
			}
			fmt.Fprintf(&sb, "%.4f,%.4f,%d\n", a, b, y)
		}
		return writeFile(t, dir, name, sb.String())
	}
	must := func(args ...string) string {
		t.Helper()
		code, out, errOut := runComet(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	train, test := csv("train.csv", 40, 1), csv("test.csv", 20, 2)
	for _, part := range []string{"train", "test"} {
		must("dataset", "commit", at(part+".csv"), "--label", "y", "--fraction-bits", "12", "--value-bits", "24", "--chunk-rows", "8",
			"--salt-file", at(part+".salt"), "--out", at(part+".manifest.json"))
	}
	must("train", train, "--manifest", at("train.manifest.json"), "--salt-file", at("train.salt"), "--lambda", "1", "--out", at("model.json"))
	if out := must("setup", "--evaluation", "--manifest", at("test.manifest.json"), "--out", at("keys")); !strings.Contains(out, "eval-chunk circuit") ||
		!strings.Contains(out, "classification-k32") {
		t.Errorf("setup output:\n%s", out)
	}
	evaluate := []string{"evaluate", at("model.json"), test, "--manifest", at("test.manifest.json"), "--salt-file", at("test.salt"),
		"--keys", at("keys"), "--evaluator", "court-of-appeal"}
	out := must(evaluate...)
	if !strings.Contains(out, "model.eval.json") || !strings.Contains(out, "proven: held out on 20 rows") || !strings.Contains(out, "AUC at least") {
		t.Errorf("evaluate output:\n%s", out)
	}
	// K evenly spaced thresholds, 0 among them: -1.55, -1.5, ... 0.
	if out := must(append(append([]string(nil), evaluate...), "--thresholds", "-1.55:0:32", "--out", at("range.eval.json"))...); !strings.Contains(out, "32 thresholds") {
		t.Errorf("evaluate with a threshold range:\n%s", out)
	}
	verify := []string{"proof", "verify", at("model.eval.json"), "--model", at("model.json"), "--manifest", at("test.manifest.json"), "--keys", at("keys")}
	out = must(verify...)
	if strings.Contains(out, "FAIL") || !strings.Contains(out, "ok   metrics follow from the proven sums") || !strings.Contains(out, "proven by court-of-appeal") {
		t.Errorf("verify output:\n%s", out)
	}
	if code, out, _ := runComet(t, append(verify, "--evaluator", "someone-else")...); code != 1 || !strings.Contains(out, "FAIL bundle is bound to this evaluator") {
		t.Errorf("another evaluator: exit %d\n%s", code, out)
	}
	// A test set whose features are not the model's is refused before any proving.
	raw, err := os.ReadFile(test)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "other.csv", strings.Replace(string(raw), "a,b,y", "a,c,y", 1))
	must("dataset", "commit", at("other.csv"), "--label", "y", "--fraction-bits", "12", "--value-bits", "24", "--chunk-rows", "8",
		"--salt-file", at("test.salt"), "--out", at("other.manifest.json"))
	cases := []struct {
		args []string
		code int
		want string
	}{
		{append(append([]string(nil), evaluate...), "--manifest", at("other.manifest.json")), 2, `feature 1 is "b" in the model and "c" in the test set`},
		{append(append([]string(nil), evaluate...), "--task", "regression", "--thresholds", "0"), 2, "--thresholds and --decision-threshold are for --task classification"},
		{append(append([]string(nil), evaluate...), "--decision-threshold", "0.3"), 2, "not one of the 32 thresholds"},
		{append(append([]string(nil), evaluate...), "--thresholds", "1:-1:8"), 2, "want FROM:TO:K with FROM < TO"},
		{append(append([]string(nil), evaluate...), "--thresholds", "-1:1:33"), 2, "keys"}, // 33 thresholds: no keys of that shape
		{append(append([]string(nil), verify...), "--provider", "acme-legal"), 2, "bound to an --evaluator, not a --provider"},
	}
	for _, c := range cases {
		code, _, errOut := runComet(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args[len(c.args)-2:], code, errOut, c.code, c.want)
		}
	}
}
