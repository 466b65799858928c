package main

import (
	"errors"
	"fmt"
	"math"
	"os"

	gnarklog "github.com/consensys/gnark/logger"
	"github.com/spf13/cobra"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/setup"
)

func newProofCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "proof",
		Short: "Work with proof bundles",
	}
	cmd.AddCommand(newProofVerifyCmd())
	return cmd
}

type proofVerifyFlags struct{ model, manifest, keys string }

func newProofVerifyCmd() *cobra.Command {
	var f proofVerifyFlags
	cmd := &cobra.Command{
		Use:   "verify model.proof.json --model model.json --manifest data.manifest.json --keys keys/",
		Short: "Verify a proof bundle against a model, a manifest and trusted verifying keys",
		Long: `Needs no data and no salt. Prints one line per check and exits 0 only when every check
passes, 1 when one fails (naming it), 2 when the inputs cannot be read. The verifying keys
come from --keys, never from the bundle: pin their hashes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProofVerify(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", "", "model file (required)")
	fl.StringVar(&f.manifest, "manifest", "", "dataset manifest (required)")
	fl.StringVar(&f.keys, "keys", "", "trusted keys directory (required)")
	for _, name := range []string{"model", "manifest", "keys"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func runProofVerify(cmd *cobra.Command, path string, f proofVerifyFlags) error {
	ctx := cmd.Context()
	gnarklog.Disable()
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read proof bundle: %w", err)
	}
	b, err := proof.ParseBundle(data)
	if err != nil {
		return err
	}
	m, err := model.Load(ctx, f.model)
	if err != nil {
		return err
	}
	man, err := commitment.LoadManifest(f.manifest)
	if err != nil {
		return err
	}
	keys, err := setup.Load(ctx, f.keys, circuit.ShapeOf(man.Header, m.FitIntercept), setup.Verifying)
	if err != nil {
		return err
	}
	report, verr := proof.Verify(ctx, b, m, man, keys)
	out := cmd.OutOrStdout()
	for _, c := range report.Checks {
		status := "ok  "
		if !c.Passed {
			status = "FAIL"
		}
		fmt.Fprintf(out, "%s %s: %s\n", status, c.Name, c.Detail)
	}
	if !math.IsNaN(report.DistanceBound) {
		fmt.Fprintf(out, "ridge: |w - w*|_2 <= sqrt(d) tau / lambda = %.6g\n", report.DistanceBound)
	}
	if verr != nil {
		if errors.Is(verr, proof.ErrVerify) {
			return fmt.Errorf("%w: %w", errCheckFailed, verr)
		}
		return verr
	}
	return nil
}
