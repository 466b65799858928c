package proof

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/fixedpoint"
	datapipe "github.com/comet-attest/comet/prover/pipeline"
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/prover/train"
)

// classified writes a CSV of n rows labelled y = sign(1.5·a − 2·b + noise) as ±1.
func classified(t testing.TB, dir string, n int, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	var sb strings.Builder
	sb.WriteString("id,a,b,y\n")
	for i := range n {
		a, b := rng.NormFloat64(), rng.NormFloat64()
		y := 1
		if 1.5*a-2*b+rng.NormFloat64() < 0 {
			y = -1
		}
		fmt.Fprintf(&sb, "%d,%.4f,%.4f,%d\n", i, a, b, y)
	}
	path := filepath.Join(dir, fmt.Sprintf("classified-%d-%d.csv", n, seed))
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// evalCase is a model trained on one CSV and a test set committed from another.
type evalCase struct {
	trained *pipeline
	test    *pipeline // manifest and salt of the test set; its model is unused
	task    circuit.Task
}

var evalSpec = dataSpec{label: "y", exclude: []string{"id"}, format: fixedpoint.Format{FractionBits: 12, ValueBits: 24}, chunkRows: 16,
	train: train.Options{Kind: train.KindRidge, Lambda: 1, Intercept: true}}

func newEvalCase(t *testing.T, task circuit.Task) evalCase {
	t.Helper()
	dir := t.TempDir()
	data := synthetic
	if task == circuit.Classification {
		data = classified
	}
	train, test := evalSpec, evalSpec
	train.salt, test.salt = 31, 32
	return evalCase{trained: commitAndTrain(t, data(t, dir, 60, 1), train), test: commitAndTrain(t, data(t, dir, 37, 2), test), task: task}
}

func (c evalCase) request() EvalRequest {
	return EvalRequest{Manifest: c.test.manifest, Model: c.trained.model, Salt: c.test.salt,
		Rows: CSVSource(c.test.csv, c.test.manifest), Evaluator: "court-of-appeal", Task: c.task}
}

func (c evalCase) inputs() EvalInputs {
	return EvalInputs{Model: c.trained.model, Manifest: c.test.manifest, Evaluator: "court-of-appeal"}
}

func (c evalCase) shape() circuit.EvalShape {
	e := circuit.EvalShape{Shape: circuit.ShapeOf(c.test.manifest.Header, c.trained.model.FitIntercept), Task: c.task}
	if c.task == circuit.Classification {
		e.Thresholds = 32
	}
	return e
}

// scores are the model's fixed-point scores of the test rows and their labels, in real units.
func (c evalCase) scores(t *testing.T) (scores, labels []float64) {
	t.Helper()
	table, err := datapipe.ReadCommitted(context.Background(), c.test.csv, c.test.manifest, &c.test.salt)
	if err != nil {
		t.Fatal(err)
	}
	w, intercept, err := c.trained.model.FixedWeights()
	if err != nil {
		t.Fatal(err)
	}
	s := c.shape().Shape
	f := s.FractionBits
	for i := range table.N {
		row := table.Row(i)
		sc := s.Score(row, append(w, intercept))
		v, _ := new(big.Float).SetInt(sc).Float64()
		scores = append(scores, math.Ldexp(v, -2*f))
		labels = append(labels, math.Ldexp(float64(row[s.Features]), -f))
	}
	return scores, labels
}

// An evaluation proves held-out metrics that a verifier, holding only the model, the test
// manifest and the evaluation keys, checks; the metrics are those of the model's fixed-point
// scores on the test rows.
func TestEvaluate(t *testing.T) {
	if testing.Short() {
		t.Skip("proves evaluations end to end (7 s)")
	}
	ctx := context.Background()
	for _, task := range []circuit.Task{circuit.Regression, circuit.Classification} {
		t.Run(string(task), func(t *testing.T) {
			c := newEvalCase(t, task)
			b, err := Evaluate(ctx, keysFor(t, c.shape(), setup.Proving), c.request(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			data, err := b.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := ParseEvalBundle(data)
			if err != nil {
				t.Fatal(err)
			}
			if parsed.Digest() != b.Digest() {
				t.Fatal("the parsed bundle's digest differs")
			}
			vk := keysFor(t, c.shape(), setup.Verifying)
			r, err := VerifyEvaluation(ctx, parsed, c.inputs(), vk)
			if err != nil {
				for _, ch := range r.Checks {
					t.Log(ch.Name, ch.Passed, ch.Detail)
				}
				t.Fatal(err)
			}
			scores, labels := c.scores(t)
			m := b.Metrics
			if m.N != int64(len(scores)) {
				t.Fatalf("n = %d, want %d", m.N, len(scores))
			}
			if task == circuit.Regression {
				var ssr float64
				for i, s := range scores {
					ssr += (s - labels[i]) * (s - labels[i])
				}
				if math.Abs(*m.RMSE-math.Sqrt(ssr/float64(len(scores)))) > 1e-3 || *m.R2 < 0.99 {
					t.Fatalf("rmse %g r2 %g; the scores give rmse %g", *m.RMSE, *m.R2, math.Sqrt(ssr/float64(len(scores))))
				}
				t.Logf("held out: r2 %.4f rmse %.4f", *m.R2, *m.RMSE)
				return
			}
			var tp, fp int64
			for i, s := range scores {
				if s >= 0 && labels[i] > 0 {
					tp++
				}
				if s >= 0 && labels[i] < 0 {
					fp++
				}
			}
			if *m.TP != tp || *m.FP != fp {
				t.Fatalf("tp %d fp %d, the scores give %d and %d", *m.TP, *m.FP, tp, fp)
			}
			auc := exactAUC(scores, labels)
			if auc < *m.AUCLower || auc > *m.AUCUpper || *m.AUCLower < 0.8 {
				t.Fatalf("exact AUC %g outside the proven [%g, %g]", auc, *m.AUCLower, *m.AUCUpper)
			}
			t.Logf("held out: accuracy %.3f f1 %.3f auc in [%.3f, %.3f] (exact %.3f)", *m.Accuracy, *m.F1, *m.AUCLower, *m.AUCUpper, auc)
		})
	}
}

// exactAUC is P(score of a positive > score of a negative), ties half.
func exactAUC(scores, labels []float64) float64 {
	var pos, neg []float64
	for i, s := range scores {
		if labels[i] > 0 {
			pos = append(pos, s)
		} else {
			neg = append(neg, s)
		}
	}
	sort.Float64s(neg)
	var sum float64
	for _, p := range pos {
		for _, n := range neg {
			switch {
			case p > n:
				sum++
			case p == n:
				sum += 0.5
			}
		}
	}
	return sum / float64(len(pos)*len(neg))
}

// An evaluation verifies for its own model, test set and evaluator only, with its stated
// metrics only; and a test set that does not fit the model or the task is refused before any
// proving.
func TestEvaluateRejects(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluation proofs end to end")
	}
	ctx := context.Background()
	c := newEvalCase(t, circuit.Classification)
	b, err := Evaluate(ctx, keysFor(t, c.shape(), setup.Proving), c.request(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	vk := keysFor(t, c.shape(), setup.Verifying)
	spec := evalSpec
	spec.salt = 40
	dir := t.TempDir()
	other := evalCase{task: circuit.Classification, trained: commitAndTrain(t, classified(t, dir, 50, 9), spec), test: commitAndTrain(t, classified(t, dir, 37, 10), spec)}
	cases := []struct {
		name   string
		in     func() EvalInputs
		tamper func(*EvalBundle)
		check  string
	}{
		{"another evaluator", func() EvalInputs { in := c.inputs(); in.Evaluator = "someone-else"; return in }, nil, "bundle is bound to this evaluator"},
		{"another model", other.inputs, nil, "bundle is bound to this model file"},
		{"another test set", func() EvalInputs { in := c.inputs(); in.Manifest = other.test.manifest; return in }, nil, "bundle names this test set"},
		{"metrics changed", c.inputs, func(b *EvalBundle) { v := *b.Metrics.F1 + 0.01; b.Metrics.F1 = &v }, "metrics follow from the proven sums"},
		{"sums changed", c.inputs, func(b *EvalBundle) {
			b.Sums[0] = Int{new(big.Int).Add(b.Sums[0].Int, big.NewInt(1))}
			b.Sums[1] = Int{new(big.Int).Sub(b.Sums[1].Int, big.NewInt(1))}
		}, "final proof verifies"},
		{"a threshold changed", c.inputs, func(b *EvalBundle) {
			b.Thresholds[30] = Int{new(big.Int).Add(b.Thresholds[30].Int, big.NewInt(1))}
		}, "chunk proofs verify"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, _ := b.Marshal()
			bb, err := ParseEvalBundle(data)
			if err != nil {
				t.Fatal(err)
			}
			if tc.tamper != nil {
				tc.tamper(bb)
			}
			r, err := VerifyEvaluation(ctx, bb, tc.in(), vk)
			if !errors.Is(err, ErrVerify) || r.Failure() == nil || r.Failure().Name != tc.check {
				t.Fatalf("got %v, first failure %+v; want %q to fail", err, r.Failure(), tc.check)
			}
		})
	}

	t.Run("labels not ±1", func(t *testing.T) {
		reg := newEvalCase(t, circuit.Regression)
		req := reg.request()
		req.Model = c.trained.model // same columns; the regression labels are not ±1
		req.Task = circuit.Classification
		if _, err := Evaluate(ctx, keysFor(t, c.shape(), setup.Proving), req, Options{}); !errors.Is(err, ErrLabels) {
			t.Fatalf("got %v, want ErrLabels", err)
		}
	})
	t.Run("other features", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "renamed.csv")
		raw, _ := os.ReadFile(c.test.csv)
		os.WriteFile(path, []byte(strings.Replace(string(raw), "id,a,b,y", "id,a,c,y", 1)), 0o644)
		man, err := datapipe.Commit(ctx, path, datapipe.CommitOptions{Label: "y", Exclude: []string{"id"}, Format: evalSpec.format, ChunkRows: 16, Salt: c.test.salt})
		if err != nil {
			t.Fatal(err)
		}
		req := c.request()
		req.Manifest, req.Rows = man, CSVSource(path, man)
		if _, err := Evaluate(ctx, keysFor(t, c.shape(), setup.Proving), req, Options{}); !errors.Is(err, ErrStatement) || !strings.Contains(err.Error(), `feature 1 is "b" in the model and "c"`) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("decision threshold not a threshold", func(t *testing.T) {
		req := c.request()
		req.Decision = big.NewInt(1)
		if _, err := Evaluate(ctx, keysFor(t, c.shape(), setup.Proving), req, Options{}); !errors.Is(err, ErrStatement) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("duplicate key in the bundle", func(t *testing.T) {
		data, _ := b.Marshal()
		dup := strings.Replace(string(data), `"evaluator": "court-of-appeal",`, `"evaluator": "court-of-appeal", "evaluator": "x",`, 1)
		if _, err := ParseEvalBundle([]byte(dup)); !errors.Is(err, ErrBundle) {
			t.Fatalf("got %v", err)
		}
	})
}
