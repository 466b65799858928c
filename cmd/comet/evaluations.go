package main

import (
	"fmt"
	"io"
	"time"

	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/registry/client/check"
	"github.com/comet-attest/comet/registry/wire"
	"github.com/spf13/cobra"
)

func newSubmitEvalCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "submit-eval --model MODEL_SHA256 --manifest test.manifest.json --proof model.eval.json",
		Short: "Submit an evaluation of a registered model (the test manifest and the evaluation bundle, never the test set)",
		Long: `Sends the evaluated model's SHA-256, the test set's manifest and the evaluation bundle
(comet evaluate) with a provider's or an evaluator's API key. The registry verifies the
evaluation proof against its published evaluation keys and the registered model, signs an
evaluation attestation and logs it. The command follows the evaluation until it is logged
(exit 0, printing the proven metrics) or rejected (exit 1, naming the failed check). Nothing
private is sent: no test rows, no salt.`,
		Example: "  comet submit-eval --api-key-file court.key --model 3f5a... --manifest test.manifest.json --proof model.eval.json",
		Args:    cobra.NoArgs,
	}
	f := addRegistryFlags(cmd, true)
	modelArg := cmd.Flags().String("model", "", "the evaluated model: its SHA-256 or the model file (required)")
	manifestPath := cmd.Flags().String("manifest", "", "the test set's manifest (comet dataset commit)")
	proofPath := cmd.Flags().String("proof", "", "the evaluation bundle (comet evaluate)")
	wait := cmd.Flags().Bool("wait", true, "follow the evaluation until it is logged or rejected")
	timeout := cmd.Flags().Duration("timeout", 10*time.Minute, "with --wait, give up after this long")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		if *modelArg == "" {
			return usageErrorf("--model is required")
		}
		sha, err := modelHash(ctx, *modelArg)
		if err != nil {
			return err
		}
		parts, err := readJSONFiles("manifest", *manifestPath, "proof", *proofPath)
		if err != nil {
			return err
		}
		c, err := f.client(true)
		if err != nil {
			return err
		}
		ev, err := c.SubmitEvaluation(ctx, wire.EvaluationRequest{ModelSHA256: sha, Manifest: parts[0], Proof: parts[1]})
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		fmt.Fprintf(out, "evaluation %s %s (model %s)\n", ev.ID, ev.Status, ev.ModelSHA256)
		if !*wait {
			return nil
		}
		final, err := follow(cmd, *timeout, "evaluation", ev.ID, c.WaitEvaluation, func(e *wire.Evaluation) string { return e.Status })
		if err != nil {
			return err
		}
		if final.Status == wire.StatusRejected {
			fmt.Fprintf(out, "rejected: %s: %s\n", final.FailedCheck, final.Message)
			return fmt.Errorf("%w: evaluation %s rejected: %s", errCheckFailed, final.ID, final.FailedCheck)
		}
		fmt.Fprintf(out, "logged: evaluation attestation %s at log index %d\n", final.AttestationID, *final.LogIndex)
		e, err := signedEvaluation(final)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, "proven: "+check.EvaluationSummary(e))
		return nil
	}
	return cmd
}

// signedEvaluation reads the evaluation statement of the registry's envelope. It checks no
// signature: comet verify does.
func signedEvaluation(ev *wire.Evaluation) (*statement.Evaluation, error) {
	payload, err := envelope.ParsePayload(ev.Envelope)
	if err != nil {
		return nil, fmt.Errorf("evaluation %s: %w", ev.ID, err)
	}
	_, e, err := statement.ParseEvaluation(payload)
	if err != nil {
		return nil, fmt.Errorf("evaluation %s: %w", ev.ID, err)
	}
	return e, nil
}

// printEvaluations writes one line per evaluation, as comet lookup shows them.
func printEvaluations(w io.Writer, evs []wire.Evaluation) error {
	if len(evs) == 0 {
		fmt.Fprintf(w, "evaluations  none\n")
		return nil
	}
	for i := range evs {
		e, err := signedEvaluation(&evs[i])
		if err != nil {
			return err
		}
		revoked := ""
		if evs[i].Revoked {
			revoked = " [revoked]"
		}
		fmt.Fprintf(w, "evaluation   %s%s: %s\n", evs[i].ID, revoked, check.EvaluationSummary(e))
	}
	return nil
}
