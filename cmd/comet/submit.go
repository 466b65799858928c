package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/comet-attest/comet/internal/atomicfile"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
	"github.com/comet-attest/comet/registry/wire"
	"github.com/spf13/cobra"
)

func newProviderCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "provider", Short: "A model provider's account with a registry"}
	reg := &cobra.Command{
		Use:   "register ID --contact EMAIL",
		Short: "Register as a provider (pending until an admin approves) and save the API key",
		Long: `Asks the registry for a provider account under ID, with a contact address the operator can
reach (an e-mail address or an https URL). The account is pending until an admin approves it;
the API key it returns is shown once: --key-out writes it to a file with mode 0600.`,
		Example: "  comet provider register acme-legal --contact ops@acme.example --key-out acme.key",
		Args:    cobra.ExactArgs(1),
	}
	f := addRegistryFlags(reg, false)
	name := reg.Flags().String("name", "", "display name (default: the id)")
	contact := reg.Flags().String("contact", "", "where the operator reaches you: an e-mail address or an https URL (required)")
	keyOut := reg.Flags().String("key-out", "", "write the API key to this file (0600) instead of printing it")
	role := reg.Flags().String("role", "provider", "provider (submits models, may evaluate them) or evaluator (only submits evaluations: comet submit-eval)")
	_ = reg.MarkFlagRequired("contact")
	reg.RunE = func(cmd *cobra.Command, args []string) error {
		if err := service.CheckContact(strings.TrimSpace(*contact)); err != nil {
			return usageErrorf("--contact: %v", err)
		}
		if *role != string(store.RoleProvider) && *role != string(store.RoleEvaluator) {
			return usageErrorf("--role %q: want provider or evaluator", *role)
		}
		c, err := f.client(false)
		if err != nil {
			return err
		}
		r, err := c.Register(cmd.Context(), wire.RegisterRequest{ID: args[0], DisplayName: *name, Contact: *contact, Role: *role})
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "%s %s registered (%s); an admin must approve it before it can submit\n", r.Provider.Role, r.Provider.ID, r.Provider.Status)
		if *keyOut != "" {
			if err := atomicfile.WriteFile(*keyOut, []byte(r.Key+"\n"), 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "API key written to %s\n", *keyOut)
			return nil
		}
		fmt.Fprintln(cmd.OutOrStdout(), r.Key)
		return nil
	}
	cmd.AddCommand(reg)
	return cmd
}

// readJSONFile reads a file that must hold one JSON object, for a submission part.
func readJSONFile(flag, path string) (json.RawMessage, error) {
	if path == "" {
		return nil, usageErrorf("--%s is required", flag)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErrorf("--%s: %v", flag, err)
	}
	if !json.Valid(b) {
		return nil, usageErrorf("--%s: %s is not JSON", flag, path)
	}
	return b, nil
}

// readJSONFiles reads the files of flag, path pairs with readJSONFile, in order.
func readJSONFiles(flagPaths ...string) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(flagPaths)/2)
	for i := 0; i+1 < len(flagPaths); i += 2 {
		b, err := readJSONFile(flagPaths[i], flagPaths[i+1])
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func newSubmitCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "submit --model model.json --manifest data.manifest.json --proof model.proof.json",
		Short: "Submit a model, its dataset manifest and its proof (never the data or the salt) for attestation",
		Long: `Sends the model file, the dataset manifest and the proof bundle with a provider's API key.
The registry verifies the proof against its published keys, signs an attestation and logs it;
--wait follows the submission until it is logged (exit 0) or rejected (exit 1, naming the
failed check and its reason). Nothing private is sent: no data, no salt.`,
		Example: "  comet submit --api-key-file acme.key --model model.json --manifest data.manifest.json --proof model.proof.json --wait",
		Args:    cobra.NoArgs,
	}
	f := addRegistryFlags(cmd, true)
	modelPath := cmd.Flags().String("model", "", "model file (comet train)")
	manifestPath := cmd.Flags().String("manifest", "", "dataset manifest (comet dataset commit)")
	proofPath := cmd.Flags().String("proof", "", "proof bundle (comet prove)")
	wait := cmd.Flags().Bool("wait", false, "follow the submission until it is logged or rejected")
	timeout := cmd.Flags().Duration("timeout", 10*time.Minute, "with --wait, give up after this long")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		parts, err := readJSONFiles("model", *modelPath, "manifest", *manifestPath, "proof", *proofPath)
		if err != nil {
			return err
		}
		model, manifest, proof := parts[0], parts[1], parts[2]
		c, err := f.client(true)
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		s, err := c.Submit(ctx, wire.SubmitRequest{ModelName: filepath.Base(*modelPath), Model: model, Manifest: manifest, Proof: proof})
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		fmt.Fprintf(out, "submission %s %s (model %s)\n", s.ID, s.Status, s.ModelSHA256)
		if !*wait {
			return nil
		}
		final, err := follow(cmd, *timeout, "submission", s.ID, c.Wait, func(s *wire.Submission) string { return s.Status })
		if err != nil {
			return err
		}
		return reportSubmission(cmd, final)
	}
	return cmd
}

// follow waits for the record id of a kind ("submission", "evaluation") to be logged or
// rejected, at most timeout, saying each new status on stderr.
func follow[T any](cmd *cobra.Command, timeout time.Duration, kind, id string,
	wait func(context.Context, string, time.Duration, func(*T)) (*T, error), status func(*T) string) (*T, error) {
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	return wait(ctx, id, 250*time.Millisecond, func(v *T) { fmt.Fprintf(cmd.ErrOrStderr(), "%s %s: %s\n", kind, id, status(v)) })
}

func reportSubmission(cmd *cobra.Command, s *wire.Submission) error {
	out := cmd.OutOrStdout()
	if s.Status == "rejected" {
		fmt.Fprintf(out, "rejected: %s: %s\n", s.FailedCheck, s.Message)
		return fmt.Errorf("%w: submission %s rejected: %s", errCheckFailed, s.ID, s.FailedCheck)
	}
	idx := "?"
	if s.LogIndex != nil {
		idx = fmt.Sprint(*s.LogIndex)
	}
	fmt.Fprintf(out, "logged: attestation %s at log index %s\n", s.AttestationID, idx)
	return nil
}
