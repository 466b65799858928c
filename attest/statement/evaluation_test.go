package statement_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/prover/commitment"
)

func evalSample() (statement.Subject, statement.Evaluation) {
	h := func(c string) string { return strings.Repeat(c, 64) }
	return statement.Subject{Name: "claudette-ridge.model.json", SHA256: h("a")},
		statement.Evaluation{
			TestSet: statement.Dataset{
				Commitment: h("c"),
				Header:     commitment.Header{N: 3476, D: 64, FractionBits: 16, ValueBits: 32, ChunkRows: 1024},
				FileDigest: h("d"),
			},
			Featurizer: &statement.Featurizer{Name: "claudette-hash", Version: "1", Params: map[string]string{"buckets": "64"},
				SpecSHA256: h("5"), CorpusDigest: h("6")},
			Task: statement.TaskClassification,
			Metrics: statement.EvalMetrics{N: 3476, TP: "300", FP: "76", TN: "3000", FN: "100",
				Accuracy: "0.9493670886075949", Precision: "0.7978723404255319", Recall: "0.75", F1: "0.7731958762886598",
				AUCLower: "0.91", AUCUpper: "0.925"},
			Evaluator: "court-of-appeal",
			Circuit: statement.EvalCircuit{Shape: "d64-r1024-b32-f16-intercept-classification-k32",
				Chunk: statement.Circuit{ID: h("1"), VerifyingKeySHA256: h("e")},
				Final: statement.Circuit{ID: h("2"), VerifyingKeySHA256: h("f")}},
			BundleSHA256: h("b"),
			IssuedAt:     time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC),
		}
}

func TestEvaluationGolden(t *testing.T) {
	subj, ev := evalSample()
	st, err := statement.NewEvaluation(subj, ev)
	if err != nil {
		t.Fatal(err)
	}
	want := golden(t, st, "evaluation.statement.json")
	s2, ev2, err := statement.ParseEvaluation(want)
	if err != nil {
		t.Fatal(err)
	}
	if s2 != subj || ev2.TestSet != ev.TestSet || ev2.Metrics != ev.Metrics || ev2.Circuit != ev.Circuit || ev2.Evaluator != ev.Evaluator ||
		ev2.BundleSHA256 != ev.BundleSHA256 || !ev2.IssuedAt.Equal(ev.IssuedAt) || ev2.Featurizer.Params["buckets"] != "64" {
		t.Fatalf("round trip: %+v %+v", s2, ev2)
	}
	if pt, _ := statement.PredicateType(want); pt != statement.EvaluationPredicateType {
		t.Fatalf("predicate type %q", pt)
	}
	if _, _, err := statement.ParseTraining(want); !errors.Is(err, statement.ErrInvalid) {
		t.Fatalf("an evaluation parsed as a training claim: %v", err)
	}
}

func TestEvaluationRegression(t *testing.T) {
	subj, ev := evalSample()
	ev.Task, ev.Featurizer = statement.TaskRegression, nil
	ev.Metrics = statement.EvalMetrics{N: 3476, SSR: "12.5", R2: "0.61", RMSE: "0.06"}
	st, err := statement.NewEvaluation(subj, ev)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := statement.Marshal(st)
	if _, ev2, err := statement.ParseEvaluation(raw); err != nil || ev2.Metrics != ev.Metrics {
		t.Fatalf("%+v %v", ev2, err)
	}
}

func TestEvaluationInvalid(t *testing.T) {
	cases := map[string]func(*statement.Subject, *statement.Evaluation){
		"no subject name":              func(s *statement.Subject, _ *statement.Evaluation) { s.Name = "" },
		"test set commitment not hex":  func(_ *statement.Subject, e *statement.Evaluation) { e.TestSet.Commitment = "0x12" },
		"zero rows":                    func(_ *statement.Subject, e *statement.Evaluation) { e.TestSet.Header.N = 0 },
		"unknown task":                 func(_ *statement.Subject, e *statement.Evaluation) { e.Task = "ranking" },
		"metrics.n not the header's":   func(_ *statement.Subject, e *statement.Evaluation) { e.Metrics.N = 1 },
		"counts do not add up":         func(_ *statement.Subject, e *statement.Evaluation) { e.Metrics.TP = "301" },
		"negative count":               func(_ *statement.Subject, e *statement.Evaluation) { e.Metrics.FN = "-1" },
		"missing f1":                   func(_ *statement.Subject, e *statement.Evaluation) { e.Metrics.F1 = "" },
		"auc not a number":             func(_ *statement.Subject, e *statement.Evaluation) { e.Metrics.AUCLower = "NaN" },
		"regression metric on a label": func(_ *statement.Subject, e *statement.Evaluation) { e.Metrics.R2 = "0.5" },
		"no evaluator":                 func(_ *statement.Subject, e *statement.Evaluation) { e.Evaluator = "" },
		"no shape":                     func(_ *statement.Subject, e *statement.Evaluation) { e.Circuit.Shape = "" },
		"final circuit vk not hex":     func(_ *statement.Subject, e *statement.Evaluation) { e.Circuit.Final.VerifyingKeySHA256 = "x" },
		"no bundle digest":             func(_ *statement.Subject, e *statement.Evaluation) { e.BundleSHA256 = "" },
		"featurizer without version":   func(_ *statement.Subject, e *statement.Evaluation) { e.Featurizer.Version = "" },
		"no issue time":                func(_ *statement.Subject, e *statement.Evaluation) { e.IssuedAt = time.Time{} },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			s, e := evalSample()
			edit(&s, &e)
			if _, err := statement.NewEvaluation(s, e); !errors.Is(err, statement.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestParseEvaluationRejects(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "evaluation.statement.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"unknown predicate field": strings.Replace(string(good), `"evaluator":`, `"extra": 1, "evaluator":`, 1),
		"unknown metric":          strings.Replace(string(good), `"f1":`, `"mae": "1", "f1":`, 1),
		"duplicate key":           strings.Replace(string(good), `"evaluator":`, `"evaluator": "x", "evaluator":`, 1),
		"training predicate type": strings.Replace(string(good), "evaluation/v1", "training/v2", 1),
		"second subject digest":   strings.Replace(string(good), `"sha256": "aaaa`, `"sha512": "00", "sha256": "aaaa`, 1),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if in == string(good) {
				t.Fatal("edit did not apply")
			}
			if _, _, err := statement.ParseEvaluation([]byte(in)); !errors.Is(err, statement.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

// FuzzParseEvaluation: the parser never panics, every refusal is ErrInvalid, and what it
// accepts builds back into a statement that parses to the same claim.
func FuzzParseEvaluation(f *testing.F) {
	good, err := os.ReadFile(filepath.Join("testdata", "evaluation.statement.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://comet-attest.dev/evaluation/v1","predicate":{"task":"regression"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		subj, ev, err := statement.ParseEvaluation(data)
		if err != nil {
			if !errors.Is(err, statement.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		st, err := statement.NewEvaluation(subj, *ev)
		if err != nil {
			t.Fatalf("a parsed claim does not build: %v", err)
		}
		raw, err := statement.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		subj2, ev2, err := statement.ParseEvaluation(raw)
		if err != nil || subj2 != subj || ev2.TestSet != ev.TestSet || ev2.Metrics != ev.Metrics || ev2.Circuit != ev.Circuit || ev2.Evaluator != ev.Evaluator {
			t.Fatalf("round trip changed the claim: %v", err)
		}
	})
}
