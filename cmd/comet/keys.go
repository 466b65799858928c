package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/internal/atomicfile"
)

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Generate and show Ed25519 signing keys; fetch the registry's circuit keys",
	}
	cmd.AddCommand(newKeysGenerateCmd(), newKeysShowCmd(), newKeysFetchCmd())
	return cmd
}

func newKeysGenerateCmd() *cobra.Command {
	var name, out, pubOut string
	cmd := &cobra.Command{
		Example: "  comet keys generate --name registry.example/log --out log.key --public-out log.pub",

		Use:   "generate --name NAME --out key.private [--public-out key.pub]",
		Short: "Generate a key pair in signed-note form; the private key file is created 0600 and never overwritten",
		Long: `Writes the private key to --out (mode 0600; an existing file is refused so a key is never
lost by accident) and prints the public verifier key and key id. For the log key, NAME is the
log's origin. Point config at the file (key_file) or put its content in the environment
variable that config names (key_env); never commit it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := keys.Generate(name)
			if err != nil {
				return usageErrorf("--name: %v", err)
			}
			if err := s.WriteFile(out); err != nil {
				return err
			}
			if pubOut != "" {
				if err := atomicfile.WriteFile(pubOut, []byte(s.Verifier().String()+"\n"), 0o644); err != nil {
					return err
				}
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "private key %s (keep it secret)\n", out)
			fmt.Fprintf(w, "public key  %s\n", s.Verifier())
			fmt.Fprintf(w, "key id      %s\n", s.KeyID())
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "key name (signed-note name: no spaces or '+'; the origin for a log key)")
	cmd.Flags().StringVar(&out, "out", "", "private key file to create (required)")
	cmd.Flags().StringVar(&pubOut, "public-out", "", "also write the public verifier key here")
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func newKeysShowCmd() *cobra.Command {
	var asPEM bool
	cmd := &cobra.Command{
		Example: `  comet keys show log.key
  comet keys show log.pub --pem > log.pem`,

		Use:   "show KEY_FILE [--pem]",
		Short: "Print the public key and key id of a key file (private or public), or the public key as PEM",
		Long: `KEY_FILE holds a private key or a public verifier key in signed-note form (as comet keys
generate writes them). Without --pem it prints the public verifier key and its key id; with --pem
only the public key as a PEM "PUBLIC KEY" block (PKIX), the form cosign's --key, OpenSSL and
most tools outside signed notes read. The private key is never printed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := keys.LoadVerifierFile(args[0])
			if err != nil {
				return usageErrorf("%v", err)
			}
			if asPEM {
				b, err := v.PEM()
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "public key  %s\nkey id      %s\n", v, v.KeyID())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asPEM, "pem", false, "print only the public key, as a PEM PUBLIC KEY block (for cosign --key, OpenSSL)")
	return cmd
}
