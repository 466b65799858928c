package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/comet-attest/comet/internal/hexdigest"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
	"github.com/spf13/cobra"
)

// registryFlags are how a command reaches a registry: its URL and an API key, read from a
// file or the environment (never a flag value, which would end up in shell history).
type registryFlags struct {
	url     string
	keyFile string
}

func addRegistryFlags(cmd *cobra.Command, withKey bool) *registryFlags {
	f := &registryFlags{}
	def := os.Getenv("COMET_REGISTRY")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	cmd.Flags().StringVar(&f.url, "registry", def, "registry URL; $COMET_REGISTRY, when set, is the default")
	if withKey {
		cmd.Flags().StringVar(&f.keyFile, "api-key-file", "", "file holding the API key (default: $COMET_API_KEY)")
	}
	return f
}

func (f *registryFlags) client(needKey bool) (*client.Client, error) {
	key := strings.TrimSpace(os.Getenv("COMET_API_KEY"))
	if f.keyFile != "" {
		b, err := os.ReadFile(f.keyFile)
		if err != nil {
			return nil, usageErrorf("--api-key-file: %v", err)
		}
		key = strings.TrimSpace(string(b))
	}
	if needKey && key == "" {
		return nil, usageErrorf("an API key is needed: --api-key-file FILE or COMET_API_KEY")
	}
	c, err := client.New(f.url, key, nil)
	if err != nil {
		return nil, usageErrorf("--registry: %v", err)
	}
	return c, nil
}

func newAdminCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Operate a registry: the first admin key, providers, keys, revocations"}
	cmd.AddCommand(newAdminInitCmd(), newAdminProvidersCmd(), newAdminKeysCmd(), newAdminRevokeCmd(), newAdminJobsCmd())
	return cmd
}

func newAdminInitCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the first admin API key in the registry's database and print it once",
		Long: `Opens the registry's database as the configuration names it (the same config.yaml and
COMET_ variables as comet serve) and adds an admin API key, printed once on stdout. The data
directory must exist, so that a mistyped directory does not make a new, empty registry whose key
the running one refuses; --create makes it for a new registry. Works before or while serving.`,
		Example: "  comet admin init --create --config registry.yaml   # a new registry\n  comet admin init --config registry.yaml            # beside an existing one",
		Args:    cobra.NoArgs,
	}
	cfgPath := configFlag(cmd)
	label := cmd.Flags().String("label", "first admin", "label stored with the key")
	force := cmd.Flags().Bool("force", false, "add an admin key even if one exists")
	create := cmd.Flags().Bool("create", false, "create the data directory and database when they do not exist yet (a new registry)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := loadConfig(cmd, *cfgPath)
		if err != nil {
			return err
		}
		// Run in the wrong directory, init would make a new database there and print a key
		// the running registry refuses with 401.
		if _, err := os.Stat(cfg.DataDir); !cfg.Postgres() && errors.Is(err, fs.ErrNotExist) && !*create {
			return usageErrorf("data directory %s does not exist: run where the registry's config.yaml is, name it with --config, or pass --create for a new registry", cfg.DataDir)
		}
		ctx := cmd.Context()
		st, err := store.Open(ctx, store.Options{
			SQLitePath: cfg.Path(cfg.Database.SQLitePath), SQLiteSynchronous: cfg.Database.SQLiteSynchronous,
			DSN: cfg.Database.DSN, Schema: cfg.Database.Schema,
		})
		if err != nil {
			return err
		}
		defer st.Close()
		raw, k, err := service.InitAdmin(ctx, st, *label, *force)
		if errors.Is(err, service.ErrConflict) {
			return usageErrorf("%v", err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "admin key %s created; it is shown only now: store it (for example in COMET_API_KEY)\n", k.ID)
		fmt.Fprintln(cmd.OutOrStdout(), raw)
		return nil
	}
	return cmd
}

func newAdminProvidersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "providers", Short: "List, approve, suspend or reinstate providers"}
	list := &cobra.Command{Use: "list", Short: "List providers", Example: "  comet admin providers list --status pending", Args: cobra.NoArgs}
	lf := addRegistryFlags(list, true)
	status := list.Flags().String("status", "", "only providers with this status: pending, approved or suspended")
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := lf.client(true)
		if err != nil {
			return err
		}
		ps, err := c.Providers(cmd.Context(), *status, client.Page{})
		if err != nil {
			return err
		}
		for _, p := range ps.Items {
			fmt.Fprintf(cmd.OutOrStdout(), "%-30s %-10s %s <%s>\n", p.ID, p.Status, p.DisplayName, p.Contact)
		}
		return nil
	}
	cmd.AddCommand(list)
	for _, action := range []string{"approve", "suspend", "reinstate"} {
		sub := &cobra.Command{Use: action + " PROVIDER", Short: strings.ToUpper(action[:1]) + action[1:] + " a provider", Example: "  comet admin providers " + action + " acme-legal", Args: cobra.ExactArgs(1)}
		f := addRegistryFlags(sub, true)
		reason := sub.Flags().String("reason", "", "reason, kept in the audit log")
		sub.RunE = func(cmd *cobra.Command, args []string) error {
			c, err := f.client(true)
			if err != nil {
				return err
			}
			p, err := c.ProviderAction(cmd.Context(), args[0], action, *reason)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "provider %s is %s\n", p.ID, p.Status)
			return nil
		}
		cmd.AddCommand(sub)
	}
	return cmd
}

func newAdminKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "List, issue or revoke provider API keys"}
	list := &cobra.Command{Use: "list PROVIDER", Short: "List a provider's API keys (never their secrets)", Example: "  comet admin keys list acme-legal", Args: cobra.ExactArgs(1)}
	fl := addRegistryFlags(list, true)
	list.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := fl.client(true)
		if err != nil {
			return err
		}
		ks, err := c.APIKeys(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "KEY\tROLE\tCREATED\tREVOKED\tLABEL")
		for _, k := range ks {
			revoked := "-"
			if k.RevokedAt != nil {
				revoked = k.RevokedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Role, k.CreatedAt.UTC().Format(time.RFC3339), revoked, k.Label)
		}
		return w.Flush()
	}
	issue := &cobra.Command{Use: "issue PROVIDER", Short: "Issue a provider key and print it once", Example: "  comet admin keys issue acme-legal > acme.key", Args: cobra.ExactArgs(1)}
	fi := addRegistryFlags(issue, true)
	label := issue.Flags().String("label", "", "label stored with the key")
	issue.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := fi.client(true)
		if err != nil {
			return err
		}
		k, err := c.IssueKey(cmd.Context(), args[0], *label)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "key %s issued to %s; it is shown only now\n", k.APIKey.ID, args[0])
		fmt.Fprintln(cmd.OutOrStdout(), k.Key)
		return nil
	}
	revoke := &cobra.Command{Use: "revoke KEY_ID", Short: "Revoke an API key", Example: "  comet admin keys revoke 9c357e8f14b2bbaa", Args: cobra.ExactArgs(1)}
	fr := addRegistryFlags(revoke, true)
	revoke.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := fr.client(true)
		if err != nil {
			return err
		}
		if err := c.RevokeKey(cmd.Context(), args[0]); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "key %s revoked\n", args[0])
		return nil
	}
	cmd.AddCommand(list, issue, revoke)
	return cmd
}

func newAdminRevokeCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "revoke MODEL_FILE|MODEL_SHA256|ATTESTATION_ID|EVALUATION_ID --reason TEXT", Short: "Revoke an attestation or an evaluation (signed and logged)",
		Example: "  comet admin revoke model.json --reason \"training data withdrawn\"\n  comet admin revoke ev_0193a1b2c3d4e5f6a7b8c9d0e1f2 --reason \"test set leaked into training\"", Args: cobra.ExactArgs(1)}
	f := addRegistryFlags(cmd, true)
	reason := cmd.Flags().String("reason", "", "why (required; part of the signed revocation)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if strings.TrimSpace(*reason) == "" {
			return usageErrorf("--reason is required")
		}
		c, err := f.client(true)
		if err != nil {
			return err
		}
		if strings.HasPrefix(args[0], evaluationPrefix) {
			r, err := c.RevokeEvaluation(cmd.Context(), args[0], *reason)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "evaluation %s revoked at %s (revocation %s)\n", args[0], r.RevokedAt.Format("2006-01-02T15:04:05Z"), r.ID)
			return nil
		}
		id, err := attestationID(cmd.Context(), c, args[0])
		if err != nil {
			return err
		}
		r, err := c.Revoke(cmd.Context(), id, *reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "attestation %s revoked at %s (revocation %s)\n", r.AttestationID, r.RevokedAt.Format("2006-01-02T15:04:05Z"), r.ID)
		return nil
	}
	return cmd
}

// evaluationPrefix starts every evaluation id the registry issues.
const evaluationPrefix = "ev_"

// attestationID accepts a model file, a model hash (looked up) or an attestation id.
func attestationID(ctx context.Context, c *client.Client, s string) (string, error) {
	if !hexdigest.Valid(s) {
		sha, err := modelHash(ctx, s)
		if err != nil {
			return "", err
		}
		s = sha
	}
	l, err := c.Lookup(ctx, s)
	if errors.Is(err, client.ErrNotFound) {
		return s, nil // not a model: take it as an attestation id
	}
	if err != nil {
		return "", err
	}
	if l.Attestation == nil {
		return "", fmt.Errorf("model %s has no attestation (status %s)", s, l.Status)
	}
	return l.Attestation.ID, nil
}

func newAdminJobsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "jobs", Short: "List the registry's jobs and their states", Example: "  comet admin jobs", Args: cobra.NoArgs}
	f := addRegistryFlags(cmd, true)
	state := cmd.Flags().String("state", "", "only jobs in this River state (available, running, retryable, completed, discarded, ...)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := f.client(true)
		if err != nil {
			return err
		}
		js, err := c.Jobs(cmd.Context(), *state, client.Page{})
		if err != nil {
			return err
		}
		for _, j := range js.Items {
			fmt.Fprintf(cmd.OutOrStdout(), "%8d %-20s %-10s attempt %d/%d %s\n", j.ID, j.Kind, j.State, j.Attempt, j.MaxAttempts, j.Args)
		}
		return nil
	}
	return cmd
}
