package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/pipeline"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/train"
)

type trainFlags struct {
	manifest, out, saltFile string
	lambda                  float64
	intercept               bool
}

func newTrainCmd() *cobra.Command {
	var f trainFlags
	cmd := &cobra.Command{
		Use:     "train data.csv --manifest data.manifest.json --salt-file data.salt --out model.json",
		Short:   "Train OLS or ridge on exactly the committed rows and write the model file",
		Example: "  comet train data.csv --manifest data.manifest.json --salt-file data.salt --lambda 10 --out model.json",
		Long: `Reads the CSV the manifest committed to and checks it as comet dataset verify does (every
chunk commitment and the file's keyed digest, so --salt-file is needed unless the manifest is
public), trains on the fixed-point values (OLS when --lambda is 0, ridge otherwise; the
intercept is never penalised), and chooses
fixed-point weights that make the integer optimality residual |X^T(Xw-y)+lambda w|_inf as small
as the format allows (docs/model.md).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTrain(cmd.Context(), cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.manifest, "manifest", "", "dataset manifest (comet dataset commit) (required)")
	fl.StringVar(&f.saltFile, "salt-file", "", "the dataset's salt file (required unless the manifest is public)")
	fl.Float64Var(&f.lambda, "lambda", 0, "ridge penalty; 0 trains ordinary least squares")
	fl.BoolVar(&f.intercept, "intercept", true, "fit an unpenalised intercept")
	fl.StringVar(&f.out, "out", "", "model file to write (default: <data>.model.json)")
	_ = cmd.MarkFlagRequired("manifest")
	return cmd
}

func runTrain(ctx context.Context, cmd *cobra.Command, path string, f trainFlags) error {
	opts := train.Options{Kind: train.KindOLS, Lambda: f.lambda, Intercept: f.intercept}
	if f.lambda != 0 {
		opts.Kind = train.KindRidge
	}
	if err := opts.Validate(); err != nil {
		return usageErrorf("--lambda: %v", err)
	}
	if f.out == "" {
		f.out = strings.TrimSuffix(path, filepath.Ext(path)) + ".model.json"
	}
	m, err := commitment.LoadManifest(f.manifest)
	if err != nil {
		return err
	}
	salt, err := manifestSalt(m, f.saltFile)
	if err != nil {
		return err
	}
	table, err := pipeline.ReadCommitted(ctx, path, m, salt)
	if err != nil {
		return err
	}
	mod, fit, err := pipeline.Train(ctx, table, m, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := model.Save(ctx, f.out, mod); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "trained %s on %d rows × %d features (intercept %t)\n", mod.Kind, mod.Metrics.N, len(mod.Features), mod.FitIntercept)
	fmt.Fprintf(out, "R² %.6g, residual SD %.6g, RMSE %.6g (of the fixed-point weights: what the proof proves)\n", mod.Metrics.R2, mod.Metrics.ResidualSD, mod.Metrics.RMSE)
	fmt.Fprintf(out, "optimality residual %s (units of 2^-%d; weights need %d bits)\n", mod.OptimalityResidual, 3*mod.FractionBits, fit.WeightBits)
	if g, err := proof.Guarantees(m, mod); err == nil {
		fmt.Fprintf(out, "a proof will guarantee: %s\n", g.Summary(mod.Kind))
	} else {
		fmt.Fprintf(out, "this model cannot be proven: %v\n", err)
	}
	fmt.Fprintf(out, "model %s (sha256 %s)\n", f.out, mod.SHA256)
	return nil
}
