package bundle_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/prover/proof"
)

// Every parser of outside JSON refuses a duplicated key and a key in another letter case,
// where encoding/json alone takes the last duplicate and matches case-insensitively.
func TestParsersRefuseDuplicateAndCaseVariantKeys(t *testing.T) {
	read := func(path ...string) string {
		b, err := os.ReadFile(filepath.Join(append([]string{"..", ".."}, path...)...))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	proofBundle := read("prover", "proof", "testdata", "bundle.golden.json")
	clientBundle := read("attest", "bundle", "testdata", "bundle.golden")
	stmt := read("attest", "statement", "testdata", "training.statement.json")
	b, err := bundle.Parse([]byte(clientBundle))
	if err != nil {
		t.Fatal(err)
	}
	env := `{"payloadType":"` + b.Envelope.PayloadType + `","payload":"` + b.Envelope.Payload + `","signatures":[{"keyid":"` + b.Envelope.Signatures[0].KeyID + `","sig":"` + b.Envelope.Signatures[0].Sig + `"}]}`
	parsers := map[string]func([]byte) error{
		"proof bundle":  func(b []byte) error { _, err := proof.ParseBundle(b); return err },
		"client bundle": func(b []byte) error { _, err := bundle.Parse(b); return err },
		"envelope":      func(b []byte) error { _, err := envelope.Parse(b); return err },
		"statement":     func(b []byte) error { _, _, err := statement.ParseTraining(b); return err },
	}
	for _, tc := range []struct {
		parser, name, valid, from, to string
	}{
		{"proof bundle", "duplicate", proofBundle, `"backend": "groth16",`, `"backend": "groth16", "backend": "plonk",`},
		{"proof bundle", "case variant", proofBundle, `"curve": "bn254"`, `"Curve": "bn254"`},
		{"client bundle", "duplicate", clientBundle, `"version": 1,`, `"version": 1, "version": 2,`},
		{"client bundle", "case variant", clientBundle, `"version": 1,`, `"Version": 1,`},
		{"envelope", "duplicate", env, `"payloadType":`, `"payloadType":"x","payloadType":`},
		{"envelope", "case variant", env, `"payloadType":`, `"PayloadType":`},
		{"statement", "duplicate predicate key", stmt, `"predicate": {`, `"predicate": {"provider": "someone-else",`},
		{"statement", "duplicate top-level key", stmt, `"_type": "https://in-toto.io/Statement/v1",`, `"_type": "https://in-toto.io/Statement/v1", "_type": "https://in-toto.io/Statement/v1",`},
	} {
		t.Run(tc.parser+"/"+tc.name, func(t *testing.T) {
			parse := parsers[tc.parser]
			if err := parse([]byte(tc.valid)); err != nil {
				t.Fatalf("the valid document is refused: %v", err)
			}
			edited := strings.Replace(tc.valid, tc.from, tc.to, 1)
			if edited == tc.valid {
				t.Fatalf("fixture has no %q", tc.from)
			}
			if err := parse([]byte(edited)); err == nil {
				t.Fatalf("accepted:\n%.300s", edited)
			}
		})
	}
}
