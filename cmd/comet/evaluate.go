package main

import (
	"fmt"
	"io"
	"math/big"
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
	fl.StringSliceVar(&f.thresholds, "thresholds", nil, "classification score thresholds, increasing decimals (default: 32 from -1 by 1/16)")
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
			req.Thresholds = nil
			for _, t := range f.thresholds {
				v, err := scores.Parse(strings.TrimSpace(t))
				if err != nil {
					return usageErrorf("--thresholds %q: %v", t, err)
				}
				req.Thresholds = append(req.Thresholds, big.NewInt(v))
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
	data, err := b.Marshal()
	if err != nil {
		return err
	}
	if err := f.write(data); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "evaluation of %s on %s (%s, %d reused) by %s written to %s in %v\n",
		shape, count(man.N, "test row"), count(len(b.Chunks), "chunk"), *reused, f.evaluator, f.out, time.Since(start).Round(time.Millisecond))
	printEvaluation(out, b)
	return nil
}

// printEvaluation says in plain words what an evaluation proves.
func printEvaluation(w io.Writer, b *proof.EvalBundle) {
	m := b.Metrics
	if b.Shape.Task == circuit.Regression {
		fmt.Fprintf(w, "proven: held out on %s of test set %s: R² %.4f, RMSE %.4g (sum of squared residuals %.6g), bound to model %s and evaluator %s\n",
			count(m.N, "row"), b.DatasetCommitment, *m.R2, *m.RMSE, *m.SSR, b.ModelSHA256, b.Evaluator)
		return
	}
	fmt.Fprintf(w, "proven: held out on %s of test set %s, positive when the score is at least %s: accuracy %.4f, precision %.4f, recall %.4f, F1 %.4f (tp %d, fp %d, tn %d, fn %d); AUC between %.4f and %.4f at %d thresholds; bound to model %s and evaluator %s\n",
		count(m.N, "row"), b.DatasetCommitment, fixedpoint.Decimal(b.Decision.Int, 2*b.Header.FractionBits),
		*m.Accuracy, *m.Precision, *m.Recall, *m.F1, *m.TP, *m.FP, *m.TN, *m.FN, *m.AUCLower, *m.AUCUpper, len(b.Thresholds), b.ModelSHA256, b.Evaluator)
}
