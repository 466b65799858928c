package main

import (
	"encoding/json"
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

type proofVerifyFlags struct{ model, manifest, keys, provider, evaluator string }

func newProofVerifyCmd() *cobra.Command {
	var f proofVerifyFlags
	cmd := &cobra.Command{
		Use:   "verify BUNDLE --model model.json --manifest data.manifest.json --keys keys/ [--provider ID | --evaluator ID]",
		Short: "Verify a proof or evaluation bundle against a model, a manifest, its prover and trusted verifying keys",
		Example: "  comet proof verify model.proof.json --model model.json --manifest data.manifest.json --keys keys/ --provider acme-legal\n" +
			"  comet proof verify model.eval.json --model model.json --manifest test.manifest.json --keys keys/",
		Long: `Needs no data and no salt. Prints one line per check, then what the proof guarantees in the
model's own units, and exits 0 only when every check passes, 1 when one fails (naming it), 2
when the inputs cannot be read. A proof is bound to the provider it was made for: --provider
names the one you expect. An evaluation bundle (comet evaluate) is checked against the test
set's manifest and is bound to its evaluator: --evaluator names the one you expect (without
it, the bundle's is shown). The verifying keys come from --keys, never from the bundle: pin
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
	fl.StringVar(&f.provider, "provider", "", "the provider a proof of training must be bound to (required for one)")
	fl.StringVar(&f.evaluator, "evaluator", "", "the evaluator an evaluation must be bound to (default: the bundle's)")
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
	var head struct{ Format string }
	_ = json.Unmarshal(data, &head) // the parsers below say what is wrong with the rest
	evaluation := head.Format == proof.EvalBundleFormat
	switch {
	case evaluation && f.provider != "":
		return usageErrorf("%s is an evaluation: it is bound to an --evaluator, not a --provider", path)
	case !evaluation && f.evaluator != "":
		return usageErrorf("%s is not an evaluation bundle: --evaluator is for those", path)
	case !evaluation && f.provider == "":
		return usageErrorf("--provider is required")
	}
	m, err := model.Load(ctx, f.model)
	if err != nil {
		return err
	}
	man, err := commitment.LoadManifest(f.manifest)
	if err != nil {
		return err
	}
	shape := circuit.ShapeOf(man.Header, m.FitIntercept)
	var (
		report *proof.Report
		verr   error
		eval   *proof.EvalBundle
	)
	if evaluation {
		if eval, err = proof.ParseEvalBundle(data); err != nil {
			return err
		}
		if f.evaluator == "" {
			f.evaluator = eval.Evaluator
		}
		e := eval.Shape
		e.Shape = shape // the keys of the shape the test set and the model make, not the bundle's
		keys, err := setup.Load(ctx, f.keys, e, setup.Verifying)
		if err != nil {
			return err
		}
		report, verr = proof.VerifyEvaluation(ctx, eval, proof.EvalInputs{Model: m, Manifest: man, Evaluator: f.evaluator}, keys)
	} else {
		b, err := proof.ParseBundle(data)
		if err != nil {
			return err
		}
		keys, err := setup.Load(ctx, f.keys, shape, setup.Verifying)
		if err != nil {
			return err
		}
		report, verr = proof.Verify(ctx, b, proof.Inputs{Model: m, Manifest: man, Provider: f.provider}, keys)
	}
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
	if eval != nil && verr == nil {
		printEvaluation(out, eval, man)
	}
	if verr != nil {
		if errors.Is(verr, proof.ErrVerify) {
			return fmt.Errorf("%w: %w", errCheckFailed, verr)
		}
		return verr
	}
	return nil
}
