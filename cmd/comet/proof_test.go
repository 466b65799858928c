package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/comet-attest/comet/prover/proof"
)

// TestProveVerifyCLI runs the provider's and the client's commands on a small dataset:
// commit, train, setup, prove, verify; then a tampered bundle, keys of another shape and a
// wrong salt.
func TestProveVerifyCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("proves through the CLI (3 s)")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 1))
	var sb strings.Builder
	sb.WriteString("a,b,y\n")
	for range 20 {
		a, b := rng.NormFloat64(), rng.NormFloat64()
		fmt.Fprintf(&sb, "%.4f,%.4f,%.4f\n", a, b, 2*a-b+0.1*rng.NormFloat64())
	}
	data := writeFile(t, dir, "data.csv", sb.String())
	at := func(name string) string { return filepath.Join(dir, name) }
	must := func(args ...string) string {
		t.Helper()
		code, out, errOut := runComet(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	must("dataset", "commit", data, "--label", "y", "--fraction-bits", "12", "--value-bits", "24", "--chunk-rows", "8",
		"--salt-file", at("data.salt"), "--out", at("m.json"))
	must("train", data, "--manifest", at("m.json"), "--salt-file", at("data.salt"), "--lambda", "0.5", "--out", at("model.json"))
	out := must("setup", "--manifest", at("m.json"), "--out", at("keys"))
	if !strings.Contains(out, "chunk circuit") || !strings.Contains(out, "vk sha256") {
		t.Errorf("setup output:\n%s", out)
	}
	prove := []string{"prove", data, "--manifest", at("m.json"), "--model", at("model.json"), "--salt-file", at("data.salt"),
		"--provider", "acme-legal", "--keys", at("keys"), "--out", at("proof.json")}
	if out := must(prove...); !strings.Contains(out, "3 chunks") {
		t.Errorf("prove output:\n%s", out)
	}
	if _, err := os.Stat(at("proof.json.work")); !os.IsNotExist(err) {
		t.Errorf("work directory left behind: %v", err)
	}
	verify := []string{"proof", "verify", at("proof.json"), "--model", at("model.json"), "--manifest", at("m.json"), "--keys", at("keys"),
		"--provider", "acme-legal"}
	out = must(verify...)
	if strings.Contains(out, "FAIL") || strings.Count(out, "\nok ") < 9 || !strings.Contains(out, "guarantee: ridge λ = ") || !strings.Contains(out, "‖w − w*‖₂ <= ") {
		t.Errorf("verify output:\n%s", out)
	}
	// Bound to its provider: another one's verification fails.
	otherProvider := append(append([]string(nil), verify[:len(verify)-1]...), "other-co")
	if code, out, _ := runComet(t, otherProvider...); code != 1 || !strings.Contains(out, "FAIL bundle is bound to this provider") || strings.Contains(out, "guarantee:") {
		t.Errorf("verify for another provider: exit %d\n%s", code, out)
	}

	// A bundle with a smaller tau: exit 1, naming the failed check.
	raw, err := os.ReadFile(at("proof.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := proof.ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	b.Tau.Sub(b.Tau.Int, b.Tau.Int)
	tampered, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "proof.json", string(tampered))
	code, out, errOut := runComet(t, verify...)
	if code != 1 || !strings.Contains(out, "FAIL bundle carries the model's weights, lambda, tau and metrics") || !strings.Contains(errOut, "tau") {
		t.Errorf("tampered bundle: exit %d\n%s\n%s", code, out, errOut)
	}

	// Keys of another shape: refused before proving.
	must("setup", "--d", "2", "--chunk-rows", "16", "--value-bits", "24", "--fraction-bits", "12", "--out", at("other"))
	if err := os.Rename(filepath.Join(at("other"), "d2-r16-b24-f12-intercept"), filepath.Join(at("other"), "d2-r8-b24-f12-intercept")); err != nil {
		t.Fatal(err)
	}
	other := append([]string(nil), prove...)
	other[len(other)-3] = at("other")
	if code, _, errOut := runComet(t, other...); code != 2 || !strings.Contains(errOut, "keys do not match") {
		t.Errorf("keys of another shape: exit %d: %s", code, errOut)
	}

	// Another salt: the data no longer hashes to the manifest.
	writeFile(t, dir, "other.salt", strings.Repeat("ab", 32)+"\n")
	wrong := append([]string(nil), prove...)
	wrong[7] = at("other.salt")
	if code, _, errOut := runComet(t, wrong...); code != 2 || !strings.Contains(errOut, "data does not match the manifest") {
		t.Errorf("wrong salt: exit %d: %s", code, errOut)
	}
}

// A corrupted bundle: one that cannot be parsed exits 2 naming the chunk and the field; one
// that parses and fails verification exits 1 naming the chunk. On prover/proof's golden bundle.
func TestProofVerifyCorrupted(t *testing.T) {
	golden := func(name string) string { return filepath.Join("..", "..", "prover", "proof", "testdata", name) }
	raw, err := os.ReadFile(golden("bundle.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	// chunk1 is the offset of chunk 1's proof encoding.
	chunk1 := strings.Index(s, `"proof": "`)
	chunk1 += strings.Index(s[chunk1+1:], `"proof": "`) + 1 + len(`"proof": "`)
	const chunk1Rows = `"index": 1,` + "\n" + `      "rows": 8,`
	dir := t.TempDir()
	type corruption struct{ name, bundle string }
	cases := []corruption{
		{"rows changed", strings.Replace(s, chunk1Rows, `"index": 1, "rows": 7,`, 1)},
		{"rows a string", strings.Replace(s, chunk1Rows, `"index": 1, "rows": "8",`, 1)},
		{"JSON broken", strings.Replace(s, chunk1Rows, `"index": 1, "rows" 8,`, 1)},
	}
	// A byte of the proof encoding: it may still decode to points on the curve (verification
	// fails) or not (the bundle is malformed); either way the message names chunk 1.
	for _, at := range []int{0, 5, 20, 43, 60, 100, 170} {
		b := []byte(s)
		b[chunk1+at] = map[bool]byte{true: 'B', false: 'A'}[b[chunk1+at] == 'A']
		cases = append(cases, corruption{fmt.Sprintf("proof byte %d", at), string(b)})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bundle == s {
				t.Fatal("the edit did not apply; fix the test")
			}
			path := writeFile(t, dir, "bundle.json", tc.bundle)
			code, _, errOut := runComet(t, "proof", "verify", path, "--model", golden("model.json"), "--manifest", golden("manifest.json"),
				"--keys", golden("keys"), "--provider", "acme-legal")
			line := strings.TrimSpace(errOut)
			switch {
			case strings.Count(errOut, "\n") != 1:
				t.Errorf("exit %d, stderr not one line:\n%s", code, errOut)
			case tc.name == "JSON broken":
				if code != 2 || !strings.Contains(line, "not JSON at line") {
					t.Errorf("exit %d: %s", code, line)
				}
			case code == 2:
				if tc.name == "rows changed" || !strings.Contains(line, "chunk 1: ") || !regexp.MustCompile(`chunk 1: (proof:|rows must be an integer)`).MatchString(line) {
					t.Errorf("exit 2 not naming chunk 1 and its field: %s", line)
				}
			case code == 1:
				if tc.name == "rows a string" || !strings.Contains(line, "chunk 1") {
					t.Errorf("exit 1 not naming chunk 1: %s", line)
				}
			default:
				t.Errorf("exit %d: %s", code, line)
			}
		})
	}
}
