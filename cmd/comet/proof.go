package main

import (
	"errors"
	"fmt"
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

type proofVerifyFlags struct{ model, manifest, keys, provider string }

func newProofVerifyCmd() *cobra.Command {
	var f proofVerifyFlags
	cmd := &cobra.Command{
		Use:     "verify model.proof.json --model model.json --manifest data.manifest.json --keys keys/ --provider ID",
		Short:   "Verify a proof bundle against a model, a manifest, a provider and trusted verifying keys",
		Example: "  comet proof verify model.proof.json --model model.json --manifest data.manifest.json --keys keys/ --provider acme-legal",
		Long: `Needs no data and no salt. Prints one line per check, then what the proof guarantees in the
model's own units, and exits 0 only when every check passes, 1 when one fails (naming it), 2
when the inputs cannot be read. A proof is bound to the provider it was made for: --provider
names the one you expect. The verifying keys come from --keys, never from the bundle: pin
their hashes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProofVerify(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", "", "model file (required)")
	fl.StringVar(&f.manifest, "manifest", "", "dataset manifest (required)")
	fl.StringVar(&f.keys, "keys", "", "trusted keys directory (required)")
	fl.StringVar(&f.provider, "provider", "", "the provider the proof must be bound to (required)")
	for _, name := range []string{"model", "manifest", "keys", "provider"} {
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
	report, verr := proof.Verify(ctx, b, proof.Inputs{Model: m, Manifest: man, Provider: f.provider}, keys)
	out := cmd.OutOrStdout()
	for _, c := range report.Checks {
		status := "ok  "
		if !c.Passed {
			status = "FAIL"
		}
		fmt.Fprintf(out, "%s %s: %s\n", status, c.Name, c.Detail)
	}
	if c := report.Claim(); c != nil {
		fmt.Fprintf(out, "guarantee: %s\n", c.Guarantee.Summary(c.Requested))
	}
	if verr != nil {
		if errors.Is(verr, proof.ErrVerify) {
			return fmt.Errorf("%w: %w", errCheckFailed, verr)
		}
		return verr
	}
	return nil
}
