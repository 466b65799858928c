package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/dataset"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/train"
)

type trainFlags struct {
	manifest, out string
	lambda        float64
	intercept     bool
}

func newTrainCmd() *cobra.Command {
	var f trainFlags
	cmd := &cobra.Command{
		Use:   "train data.csv --manifest data.manifest.json --out model.json",
		Short: "Train OLS or ridge on exactly the committed rows and write the model file",
		Long: `Reads the CSV the manifest committed to (its SHA-256 must match), trains on the fixed-point
values (OLS when --lambda is 0, ridge otherwise; the intercept is never penalised), and chooses
fixed-point weights that make the integer optimality residual |X^T(Xw-y)+lambda w|_inf as small
as the format allows (docs/model.md).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTrain(cmd.Context(), cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.manifest, "manifest", "", "dataset manifest from `comet dataset commit` (required)")
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
	table, err := readCommittedTable(ctx, path, m)
	if err != nil {
		return err
	}
	res, err := train.FitFixed(ctx, train.FixedData{N: table.N, D: table.D, Values: table.Values, Format: table.Format}, opts)
	if err != nil {
		return fmt.Errorf("train on %s: %w", path, err)
	}
	mod, err := model.New(res, model.Meta{
		Features: m.Features, Label: m.Label, Format: m.Format(), DatasetCommitment: m.Commitment.String(),
	})
	if err != nil {
		return err
	}
	if err := model.Save(ctx, f.out, mod); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "trained %s on %d rows × %d features (intercept %t)\n", mod.Kind, mod.Metrics.N, len(mod.Features), mod.FitIntercept)
	fmt.Fprintf(out, "R² %.6g, residual SD %.6g, RMSE %.6g\n", mod.Metrics.R2, mod.Metrics.ResidualSD, mod.Metrics.RMSE)
	fmt.Fprintf(out, "optimality residual %s (units of 2^-%d; weights need %d bits)\n", mod.OptimalityResidual, 3*mod.FractionBits, res.WeightBits)
	fmt.Fprintf(out, "model %s (sha256 %s)\n", f.out, mod.SHA256)
	return nil
}

// readCommittedTable reads the whole dataset a manifest committed to, refusing a file whose
// bytes or shape differ from what was committed.
func readCommittedTable(ctx context.Context, path string, m *commitment.Manifest) (*dataset.Table, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	defer file.Close()
	digest := sha256.New()
	table, err := dataset.ReadAll(ctx, io.TeeReader(file, digest), dataset.Options{
		Label: m.Label, Features: m.Features, Format: m.Format(),
	})
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", path, err)
	}
	// ReadAll stops at the last record; hash whatever follows it too.
	if _, err := io.Copy(digest, file); err != nil {
		return nil, fmt.Errorf("dataset %s: %w", path, err)
	}
	if err := checkSHA256(path, digest, m); err != nil {
		return nil, err
	}
	if table.N != m.N {
		return nil, fmt.Errorf("%w: %s has %d rows, the manifest %d", errDatasetMismatch, path, table.N, m.N)
	}
	return table, nil
}
