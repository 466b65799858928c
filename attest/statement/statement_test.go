package statement_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/statement"
)

var update = flag.Bool("update", false, "rewrite golden files")

func sample() (statement.Subject, statement.Training) {
	h := func(c string) string { return strings.Repeat(c, 64) }
	return statement.Subject{Name: "contracts-ridge.model.json", SHA256: h("a")},
		statement.Training{
			Dataset: statement.Dataset{
				Commitment: h("c"),
				Header:     statement.Header{N: 9414, D: 64, FractionBits: 16, ValueBits: 32, ChunkRows: 1024},
				SHA256:     h("d"),
			},
			Model:      statement.Model{Kind: statement.ModelRidge, Lambda: "0.1", Intercept: true, Tau: "0.0001"},
			Proof:      statement.Proof{BundleSHA256: h("b"), CircuitID: "ridge-v1-n9414-d64", VerifyingKeySHA256: h("e")},
			Provider:   "acme-legal-ai",
			Featurizer: &statement.Featurizer{Name: "token-hash", Version: "1", Params: map[string]string{"buckets": "64", "lowercase": "true"}},
			IssuedAt:   time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		}
}

// canonical re-indents JSON with sorted keys: protojson output is
// deliberately unstable in whitespace.
func canonical(t *testing.T, b []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

func TestTrainingGolden(t *testing.T) {
	subj, tr := sample()
	st, err := statement.NewTraining(subj, tr)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := statement.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	got := canonical(t, raw)
	path := filepath.Join("testdata", "training.statement.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("statement changed:\n%s", got)
	}
	// Parsing the golden file gives back the same claim, and re-encoding it
	// changes nothing.
	s2, tr2, err := statement.ParseTraining(want)
	if err != nil {
		t.Fatal(err)
	}
	if s2 != subj || tr2.Provider != tr.Provider || !tr2.IssuedAt.Equal(tr.IssuedAt) || tr2.Dataset != tr.Dataset || tr2.Model != tr.Model || tr2.Featurizer.Params["buckets"] != "64" {
		t.Fatalf("round trip: %+v %+v", s2, tr2)
	}
	st2, err := statement.NewTraining(s2, *tr2)
	if err != nil {
		t.Fatal(err)
	}
	raw2, _ := statement.Marshal(st2)
	if !bytes.Equal(canonical(t, raw2), want) {
		t.Fatal("second encoding differs")
	}
}

func TestTrainingInvalid(t *testing.T) {
	cases := []struct {
		name string
		edit func(*statement.Subject, *statement.Training)
	}{
		{"upper-case subject digest", func(s *statement.Subject, _ *statement.Training) { s.SHA256 = strings.Repeat("A", 64) }},
		{"short subject digest", func(s *statement.Subject, _ *statement.Training) { s.SHA256 = "abcd" }},
		{"no subject name", func(s *statement.Subject, _ *statement.Training) { s.Name = "" }},
		{"commitment with 0x", func(_ *statement.Subject, tr *statement.Training) {
			tr.Dataset.Commitment = "0x" + tr.Dataset.Commitment[2:]
		}},
		{"zero rows", func(_ *statement.Subject, tr *statement.Training) { tr.Dataset.Header.N = 0 }},
		{"unknown model", func(_ *statement.Subject, tr *statement.Training) { tr.Model.Kind = "lasso" }},
		{"lambda in exponent form", func(_ *statement.Subject, tr *statement.Training) { tr.Model.Lambda = "1e-3" }},
		{"negative tau", func(_ *statement.Subject, tr *statement.Training) { tr.Model.Tau = "-1" }},
		{"no circuit", func(_ *statement.Subject, tr *statement.Training) { tr.Proof.CircuitID = "" }},
		{"no provider", func(_ *statement.Subject, tr *statement.Training) { tr.Provider = "" }},
		{"featurizer without version", func(_ *statement.Subject, tr *statement.Training) { tr.Featurizer.Version = "" }},
		{"no issue time", func(_ *statement.Subject, tr *statement.Training) { tr.IssuedAt = time.Time{} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, tr := sample()
			tc.edit(&s, &tr)
			if _, err := statement.NewTraining(s, tr); !errors.Is(err, statement.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "training.statement.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"unknown predicate field": strings.Replace(string(good), `"provider":`, `"extra": 1, "provider":`, 1),
		"other predicate type":    strings.Replace(string(good), "training/v1", "training/v2", 1),
		"old statement type":      strings.Replace(string(good), "Statement/v1", "Statement/v0.1", 1),
		"second digest":           strings.Replace(string(good), `"sha256": "aaaa`, `"sha512": "00", "sha256": "aaaa`, 1),
		"not json":                "{",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if in == string(good) {
				t.Fatal("edit did not apply")
			}
			if _, _, err := statement.ParseTraining([]byte(in)); !errors.Is(err, statement.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestRevocationRoundTrip(t *testing.T) {
	var d [32]byte
	d[0], d[31] = 1, 2
	at := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	st, err := statement.NewRevocation(d, statement.Revocation{Reason: "dataset withdrawn", RevokedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := statement.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	got, r, err := statement.ParseRevocation(raw)
	if err != nil || got != d || r.Reason != "dataset withdrawn" || !r.RevokedAt.Equal(at) {
		t.Fatalf("%x %+v %v", got, r, err)
	}
	if pt, _ := statement.PredicateType(raw); pt != statement.RevocationPredicateType {
		t.Fatalf("predicate type %q", pt)
	}
	if _, _, err := statement.ParseTraining(raw); err == nil {
		t.Fatal("a revocation parsed as a training claim")
	}
	if _, err := statement.NewRevocation(d, statement.Revocation{RevokedAt: at}); err == nil {
		t.Fatal("revocation without reason")
	}
}
