package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/comet-attest/comet/internal/hexdigest"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/client/check"
	"github.com/comet-attest/comet/registry/wire"
	"github.com/spf13/cobra"
)

// modelHash takes a model hash or a model file and returns the hash (the attestation
// subject: the SHA-256 the file declares over its canonical encoding, checked).
func modelHash(ctx context.Context, arg string) (string, error) {
	if hexdigest.Valid(arg) {
		if _, err := os.Stat(arg); err != nil {
			return arg, nil
		}
	}
	m, err := model.Load(ctx, arg)
	if err != nil {
		return "", usageErrorf("%s is neither a model hash nor a model file: %v", arg, err)
	}
	return m.SHA256, nil
}

func newLookupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Example: "  comet lookup model.json --registry https://registry.example",

		Use:   "lookup MODEL_SHA256|MODEL_FILE",
		Short: "Show what a registry says about a model: status, attestation, log index, revocation, featurizer, evaluations",
		Args:  cobra.ExactArgs(1),
	}
	f := addRegistryFlags(cmd, false)
	asJSON := cmd.Flags().Bool("json", false, "print the registry's answer as JSON, with the model's evaluations")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		sha, err := modelHash(ctx, args[0])
		if err != nil {
			return err
		}
		c, err := f.client(false)
		if err != nil {
			return err
		}
		l, err := c.Lookup(ctx, sha)
		if errors.Is(err, client.ErrNotFound) {
			return fmt.Errorf("%w: the registry has no model %s", errCheckFailed, sha)
		}
		if err != nil {
			return err
		}
		evs, err := check.ModelEvaluations(ctx, c, sha)
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		if *asJSON {
			// The registry's answer, with the model's evaluations beside its fields.
			return writeJSON(out, struct {
				*wire.ModelLookup
				Evaluations []wire.Evaluation `json:"evaluations"`
			}{l, evs})
		}
		fmt.Fprintf(out, "model        %s (%s)\n", l.ModelSHA256, l.Name)
		fmt.Fprintf(out, "provider     %s\n", l.ProviderID)
		fmt.Fprintf(out, "dataset      %s\n", l.DatasetCommitment)
		printLookupFeaturizer(out, l)
		status := l.Status
		if l.FailedCheck != "" {
			status += " (" + l.FailedCheck + ": " + l.Message + ")"
		}
		fmt.Fprintf(out, "status       %s\n", status)
		if a := l.Attestation; a != nil {
			fmt.Fprintf(out, "attestation  %s signed by %s at %s\n", a.ID, a.KeyID, a.IssuedAt.Format(time.RFC3339))
			if a.LogIndex != nil {
				fmt.Fprintf(out, "log index    %d\n", *a.LogIndex)
			} else {
				fmt.Fprintf(out, "log index    not yet logged\n")
			}
		}
		if r := l.Revocation; r != nil {
			fmt.Fprintf(out, "revoked      at %s: %s\n", r.RevokedAt.Format(time.RFC3339), r.Reason)
		} else {
			fmt.Fprintf(out, "revoked      no\n")
		}
		return printEvaluations(out, evs)
	}
	return cmd
}
