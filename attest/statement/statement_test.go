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

	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/train"
)

var update = flag.Bool("update", false, "rewrite golden files")

func sample() (statement.Subject, statement.Training) {
	h := func(c string) string { return strings.Repeat(c, 64) }
	return statement.Subject{Name: "contracts-ridge.model.json", SHA256: h("a")},
		statement.Training{
			Dataset: statement.Dataset{
				Commitment: h("c"),
				Header:     commitment.Header{N: 9414, D: 64, FractionBits: 16, ValueBits: 32, ChunkRows: 1024},
				FileDigest: h("d"),
			},
			Model: statement.Model{Kind: string(train.KindRidge), Intercept: true, LambdaFixed: "429496730", Lambda: "0.100000000093132257461547851562",
				TauFixed: "28147497671", Tau: "0.00009999999999621422841"},
			Metrics:   statement.Metrics{N: 9414, SSR: "123456789", SumY: "-4321", SumY2: "99999", R2: "0.41", RMSE: "0.3", ResidualSD: "0.31"},
			Guarantee: statement.Guarantee{RelativeGradient: "2.5e-10", DistanceBound: "0.0125", LossGapBound: "1.5e-06"},
			Proof: statement.Proof{BundleSHA256: h("b"),
				Chunk: statement.Circuit{ID: h("1"), VerifyingKeySHA256: h("e")},
				Final: statement.Circuit{ID: h("2"), VerifyingKeySHA256: h("f")}},
			Provider: "acme-legal-ai",
			Featurizer: &statement.Featurizer{Name: "token-hash", Version: "1", Params: map[string]string{"buckets": "64", "lowercase": "true"},
				SpecSHA256: h("5"), CorpusDigest: h("6")},
			IssuedAt: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
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

// golden compares the statement, canonical, with testdata/name (rewriting it with -update)
// and returns the file.
func golden(t *testing.T, st *intoto.Statement, name string) []byte {
	t.Helper()
	raw, err := statement.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	got := canonical(t, raw)
	path := filepath.Join("testdata", name)
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
	return want
}

func TestTrainingGolden(t *testing.T) {
	subj, tr := sample()
	st, err := statement.NewTraining(subj, tr)
	if err != nil {
		t.Fatal(err)
	}
	want := golden(t, st, "training.statement.json")
	// Parsing the golden file gives back the same claim, and re-encoding it
	// changes nothing.
	s2, tr2, err := statement.ParseTraining(want)
	if err != nil {
		t.Fatal(err)
	}
	if s2 != subj || tr2.Provider != tr.Provider || !tr2.IssuedAt.Equal(tr.IssuedAt) || tr2.Dataset != tr.Dataset || tr2.Model != tr.Model || tr2.Metrics != tr.Metrics || tr2.Guarantee != tr.Guarantee || tr2.Proof != tr.Proof || tr2.Featurizer.Params["buckets"] != "64" {
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
		{"negative tau_fixed", func(_ *statement.Subject, tr *statement.Training) { tr.Model.TauFixed = "-1" }},
		{"no final circuit", func(_ *statement.Subject, tr *statement.Training) { tr.Proof.Final.ID = "" }},
		{"chunk vk not hex", func(_ *statement.Subject, tr *statement.Training) { tr.Proof.Chunk.VerifyingKeySHA256 = "xyz" }},
		{"plain file digest of a private dataset", func(_ *statement.Subject, tr *statement.Training) { tr.Dataset.SHA256 = strings.Repeat("d", 64) }},
		{"public dataset without sha256", func(_ *statement.Subject, tr *statement.Training) { tr.Dataset.Public = true }},
		{"metrics.n not the header's", func(_ *statement.Subject, tr *statement.Training) { tr.Metrics.N = 1 }},
		{"negative ssr", func(_ *statement.Subject, tr *statement.Training) { tr.Metrics.SSR = "-1" }},
		{"r2 not a number", func(_ *statement.Subject, tr *statement.Training) { tr.Metrics.R2 = "NaN" }},
		{"ridge without a distance bound", func(_ *statement.Subject, tr *statement.Training) { tr.Guarantee.DistanceBound = "" }},
		{"ols with a distance bound", func(_ *statement.Subject, tr *statement.Training) { tr.Model.Kind = string(train.KindOLS) }},
		{"featurizer without spec digest", func(_ *statement.Subject, tr *statement.Training) { tr.Featurizer.SpecSHA256 = "" }},
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
		"other predicate type":    strings.Replace(string(good), "training/v2", "training/v3", 1),
		"old predicate type":      strings.Replace(string(good), "training/v2", "training/v1", 1),
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

// FuzzParseTraining: the parser never panics, and whatever it accepts builds back into a
// statement that parses to the same claim.
func FuzzParseTraining(f *testing.F) {
	good, err := os.ReadFile(filepath.Join("testdata", "training.statement.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://comet-attest.dev/training/v2"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		subj, tr, err := statement.ParseTraining(data)
		if err != nil {
			if !errors.Is(err, statement.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		st, err := statement.NewTraining(subj, *tr)
		if err != nil {
			t.Fatalf("a parsed claim does not build: %v", err)
		}
		raw, err := statement.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		subj2, tr2, err := statement.ParseTraining(raw)
		if err != nil || subj2 != subj || tr2.Model != tr.Model || tr2.Metrics != tr.Metrics || tr2.Proof != tr.Proof || tr2.Dataset != tr.Dataset {
			t.Fatalf("round trip changed the claim: %v", err)
		}
	})
}

// FuzzParseRevocation feeds arbitrary payloads to the revocation parser, as a verifier sees
// them once the envelope's signature checked: none may panic, every refusal is ErrInvalid,
// and what parses builds again to the same revocation.
func FuzzParseRevocation(f *testing.F) {
	st, err := statement.NewRevocation([32]byte{1, 2, 3}, statement.Revocation{Reason: "training data withdrawn", RevokedAt: time.Unix(1700000000, 0).UTC()})
	if err != nil {
		f.Fatal(err)
	}
	good, err := statement.Marshal(st)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://comet-attest.dev/revocation/v1","predicate":{"reason":"x","reason":"y"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		digest, r, err := statement.ParseRevocation(data)
		if err != nil {
			if !errors.Is(err, statement.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		again, err := statement.NewRevocation(digest, *r)
		if err != nil {
			t.Fatalf("a parsed revocation does not build: %v", err)
		}
		raw, err := statement.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if d2, r2, err := statement.ParseRevocation(raw); err != nil || d2 != digest || r2.Reason != r.Reason || !r2.RevokedAt.Equal(r.RevokedAt) {
			t.Fatalf("round trip changed the revocation: %v", err)
		}
	})
}
