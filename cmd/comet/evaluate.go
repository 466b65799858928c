package main

import (
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"

	gnarklog "github.com/consensys/gnark/logger"
	"github.com/spf13/cobra"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/proof"
)

type evaluateFlags struct {
	manifest, saltFile, evaluator, task string
	thresholds                          []string
	decision                            string
	proving
}

func newEvaluateCmd() *cobra.Command {
	var f evaluateFlags
	cmd := &cobra.Command{
		Use:   "evaluate model.json test.csv --manifest test.manifest.json --salt-file test.salt --keys keys/ --evaluator ID --out model.eval.json",
		Short: "Prove a model's quality on a committed test set, without revealing the test set",
		Example: "  comet evaluate model.json test.csv --manifest test.manifest.json --salt-file test.salt --keys keys/ --evaluator court-of-appeal\n" +
			"  comet evaluate model.json test.csv --manifest test.manifest.json --salt-file test.salt --keys keys/ --evaluator acme-legal --task regression",
		Long: `Proves, over exactly the rows the test manifest commits to and the model's weights, held-out
metrics, bound to the model file and to the evaluator id (anyone: the provider, a client, an
auditor or a court holding its own test set). Commit the test set as a training set (comet
dataset commit, same featurizer and format); make the evaluation keys with comet setup
--evaluation (or fetch the registry's).

--task classification (the default) needs labels -1 and 1; it proves the counts of each label
in each score bucket between the thresholds (default 32, from -1 to 0.9375 by 1/16), from which
follow the confusion counts at --decision-threshold (default 0: the score's sign), accuracy,
precision, recall, F1 and bounds on the AUC. --task regression proves the sum of squared
residuals and of the labels: R² and RMSE. Rows, labels and scores stay private; the salt file
never leaves this machine. What an evaluation does not prove: that the test set is disjoint
from the training set, or representative (docs/proof.md).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEvaluate(cmd, args[0], args[1], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.manifest, "manifest", "", "the test set's manifest (required)")
	fl.StringVar(&f.saltFile, "salt-file", "", "the test set's private salt file (required)")
	fl.StringVar(&f.evaluator, "evaluator", "", "the id the evaluation is bound to, as registered (required)")
	fl.StringVar(&f.task, "task", string(circuit.Classification), "classification (labels ±1) or regression")
	fl.StringSliceVar(&f.thresholds, "thresholds", nil, "classification score thresholds: increasing decimals, or FROM:TO:K for K evenly spaced (default: 32 from -1 by 1/16)")
	fl.StringVar(&f.decision, "decision-threshold", "0", "classification: the threshold at which a score counts as positive; one of --thresholds")
	addProvingFlags(cmd, &f.proving, ".eval.json")
	for _, name := range []string{"manifest", "salt-file", "evaluator"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func runEvaluate(cmd *cobra.Command, modelPath, path string, f evaluateFlags) error {
	ctx := cmd.Context()
	gnarklog.Disable()
	if err := f.resolve(modelPath, ".eval.json"); err != nil {
		return err
	}
	task := circuit.Task(f.task)
	if task != circuit.Classification && task != circuit.Regression {
		return usageErrorf("--task %q: classification or regression", f.task)
	}
	if task == circuit.Regression && (cmd.Flags().Changed("thresholds") || cmd.Flags().Changed("decision-threshold")) {
		return usageErrorf("--thresholds and --decision-threshold are for --task classification")
	}
	man, err := commitment.LoadManifest(f.manifest)
	if err != nil {
		return err
	}
	m, err := model.Load(ctx, modelPath)
	if err != nil {
		return err
	}
	salt, err := commitment.LoadSalt(f.saltFile)
	if err != nil {
		return err
	}
	scores := fixedpoint.Format{FractionBits: 2 * man.FractionBits, ValueBits: 62}
	req := proof.EvalRequest{Manifest: man, Model: m, Salt: salt, Rows: proof.CSVSource(path, man), Evaluator: f.evaluator, Task: task}
	shape := circuit.EvalShape{Shape: circuit.ShapeOf(man.Header, m.FitIntercept), Task: task}
	if task == circuit.Classification {
		req.Thresholds = proof.DefaultThresholds(man.FractionBits)
		if len(f.thresholds) > 0 {
			if req.Thresholds, err = parseThresholds(f.thresholds, scores); err != nil {
				return err
			}
		}
		d, err := scores.Parse(f.decision)
		if err != nil {
			return usageErrorf("--decision-threshold %q: %v", f.decision, err)
		}
		req.Decision = big.NewInt(d)
		shape.Thresholds = len(req.Thresholds)
	}
	keys, err := f.loadKeys(cmd, shape, f.manifest)
	if err != nil {
		return err
	}
	opts, finish, reused := f.options(man.Header.Chunks(), "evaluating")
	start := time.Now()
	b, err := proof.Evaluate(ctx, keys, req, opts)
	finish()
	if err != nil {
		return err
	}
	if err := f.write(b); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "evaluation of %s on %s (%s, %d reused) by %s written to %s in %v\n",
		shape, count(man.N, "test row"), count(len(b.Chunks), "chunk"), *reused, f.evaluator, f.out, time.Since(start).Round(time.Millisecond))
	printEvaluation(out, b, man)
	return nil
}

// parseThresholds reads --thresholds: increasing decimals, or FROM:TO:K for K evenly spaced
// from FROM to TO, in the scores' fixed-point format.
func parseThresholds(values []string, scores fixedpoint.Format) ([]*big.Int, error) {
	if len(values) == 1 && strings.Contains(values[0], ":") {
		parts := strings.Split(values[0], ":")
		from, okFrom := new(big.Rat).SetString(strings.TrimSpace(parts[0]))
		to, okTo := new(big.Rat).SetString(strings.TrimSpace(parts[min(1, len(parts)-1)]))
		k, err := strconv.Atoi(strings.TrimSpace(parts[len(parts)-1]))
		if len(parts) != 3 || !okFrom || !okTo || err != nil || k < 2 || k > circuit.MaxThresholds || from.Cmp(to) >= 0 {
			return nil, usageErrorf("--thresholds %q: want FROM:TO:K with FROM < TO and K from 2 to %d, or decimals", values[0], circuit.MaxThresholds)
		}
		step := new(big.Rat).Quo(new(big.Rat).Sub(to, from), new(big.Rat).SetInt64(int64(k-1)))
		values = make([]string, k)
		for i := range values {
			values[i] = new(big.Rat).Add(from, new(big.Rat).Mul(step, new(big.Rat).SetInt64(int64(i)))).FloatString(30)
		}
	}
	var out []*big.Int
	for _, t := range values {
		v, err := scores.Parse(strings.TrimSpace(t))
		if err != nil {
			return nil, usageErrorf("--thresholds %q: %v", t, err)
		}
		out = append(out, big.NewInt(v))
	}
	return out, nil
}

// printEvaluation says in plain words what an evaluation proves, naming the test set by its
// commitment and, when its manifest records one, its featurizer.
func printEvaluation(w io.Writer, b *proof.EvalBundle, man *commitment.Manifest) {
	m := b.Metrics
	set := fmt.Sprintf("%s of test set %s", count(m.N, "row"), b.DatasetCommitment)
	if fz := man.Featurizer; fz != nil {
		set += fmt.Sprintf(" (featurizer %s/%s, id %s)", fz.Name, fz.Version, fz.SpecSHA256)
	}
	if b.Shape.Task == circuit.Regression {
		fmt.Fprintf(w, "proven: held out on %s: R² %.4f, RMSE %.4g (sum of squared residuals %.6g); bound to model %s, proven by %s\n",
			set, *m.R2, *m.RMSE, *m.SSR, b.ModelSHA256, b.Evaluator)
		return
	}
	fmt.Fprintf(w, "proven: held out on %s, positive when the score is at least %s: accuracy %.4f, precision %.4f, recall %.4f, F1 %.4f (tp %d, fp %d, tn %d, fn %d); AUC at least %.4f (at most %.4f; %d thresholds); bound to model %s, proven by %s\n",
		set, fixedpoint.Decimal(b.Decision.Int, 2*b.Header.FractionBits),
		*m.Accuracy, *m.Precision, *m.Recall, *m.F1, *m.TP, *m.FP, *m.TN, *m.FN, *m.AUCLower, *m.AUCUpper, len(b.Thresholds), b.ModelSHA256, b.Evaluator)
}
