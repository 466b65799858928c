package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/comet-attest/comet/attest/clientstate"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/registry/client"
)

func newTrustRootCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trustroot",
		Short: "Pin, update and show the registry's signed trust root",
		Long: `A trust root is a chain of signed versions: each names the registry and log keys, the
witness policy, the pinned circuits with their key ceremonies and the anchor contract, and is
signed by the root keys of the version before. A client pins one version (on first use, or the
file given with --trust-root) and walks the chain from it to the newest, refusing a version
its predecessor did not sign, an expired newest version, and a rollback (docs/attestation.md).`,
	}
	cmd.AddCommand(newTrustRootUpdateCmd(), newTrustRootShowCmd())
	return cmd
}

func newTrustRootUpdateCmd() *cobra.Command {
	var stateDir, from string
	cmd := &cobra.Command{
		Use:     "update --registry URL [--trust-root FILE]",
		Short:   "Walk the registry's trust root chain from the pinned version and pin the newest it can verify",
		Example: "  comet trustroot update --registry https://registry.example",
		Args:    cobra.NoArgs,
	}
	reg := addRegistryFlags(cmd, false)
	cmd.Flags().StringVar(&stateDir, "state-dir", defaultStateDir(), "where the pinned trust root is kept")
	cmd.Flags().StringVar(&from, "trust-root", "", "start from this trust root file instead of the pinned one (it is then pinned)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := reg.client(false)
		if err != nil {
			return err
		}
		p := newPins(stateDir, reg.url)
		root, how, err := p.load(cmd.Context(), c, from)
		if err != nil {
			return err
		}
		newer, err := p.update(cmd.Context(), c, root)
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		switch {
		case newer.Version > root.Version:
			fmt.Fprintf(out, "trust root updated from version %d to version %d (sha256:%s), pinned in %s\n", root.Version, newer.Version, newer.Fingerprint(), p.path())
		default:
			fmt.Fprintf(out, "trust root version %d (sha256:%s) is the newest; %s\n", newer.Version, newer.Fingerprint(), how)
		}
		if from != "" || newer.Version > root.Version {
			return p.save(cmd.Context(), newer)
		}
		return nil
	}
	return cmd
}

func newTrustRootShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "show FILE",
		Short:   "Print what a trust root file trusts",
		Example: "  comet trustroot show trustroot.json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := trustroot.Load(args[0])
			if err != nil {
				return usageErrorf("%v", err)
			}
			printTrustRoot(cmd, r)
			return nil
		},
	}
}

func printTrustRoot(cmd *cobra.Command, r *trustroot.Root) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "version   %d, expires %s, sha256:%s\n", r.Version, r.Expires.UTC().Format(time.RFC3339), r.Fingerprint())
	for _, k := range r.RootKeys {
		fmt.Fprintf(w, "root key  %s (%d of %d sign the next version)\n", k.KeyID(), r.RootThreshold, len(r.RootKeys))
	}
	for _, k := range r.Registry {
		window := "from " + k.NotBefore.UTC().Format(time.RFC3339)
		if !k.NotAfter.IsZero() {
			window += " to " + k.NotAfter.UTC().Format(time.RFC3339)
		}
		if !k.RevokedAt.IsZero() {
			window += ", revoked " + k.RevokedAt.UTC().Format(time.RFC3339) + " (" + k.RevocationReason + ")"
		}
		fmt.Fprintf(w, "registry  %s %s\n", k.Key.KeyID(), window)
	}
	for i, k := range r.LogKeys {
		role := "current"
		if i > 0 {
			role = "previous"
		}
		fmt.Fprintf(w, "log       %s (%s)\n", k.KeyID(), role)
	}
	for _, wt := range r.Witnesses {
		fmt.Fprintf(w, "witness   %s (%d required)\n", wt.Verifier.Name(), r.WitnessQuorum)
	}
	ids := make([]string, 0, len(r.Circuits))
	for id := range r.Circuits {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		p := r.Circuits[id]
		setupLine := "single-party setup (the registry could forge proofs)"
		if c := p.Ceremony; c != nil {
			setupLine = fmt.Sprintf("ceremony of %d contributions (%s), transcript sha256:%s", c.Contributions(),
				strings.Join(c.Phase2Contributors, ", "), c.TranscriptSHA256)
		}
		fmt.Fprintf(w, "circuit   %s vk sha256:%s, %s\n", id, p.VKSHA256, setupLine)
	}
	if sn := r.Starknet; sn != nil {
		fmt.Fprintf(w, "anchor    starknet %s contract %s\n", sn.ChainID, sn.Contract)
	}
}

// pins is where a client keeps the trust root it pinned for one registry.
type pins struct {
	state    clientstate.State
	registry string
}

func newPins(stateDir, registry string) pins {
	return pins{state: stateIn(stateDir), registry: registry}
}

// stateIn is what the client remembers (trust roots, checkpoints) in the state directory.
func stateIn(dir string) clientstate.State { return clientstate.State{Store: clientstate.Dir(dir)} }

func (p pins) path() string { return p.state.RootPath(p.registry) }

// load returns the trust root to start from and says where it came from: the file the user
// named, the one pinned in the state directory, or (trust on first use) the registry's newest,
// which it pins.
func (p pins) load(ctx context.Context, c *client.Client, file string) (*trustroot.Root, string, error) {
	if file != "" {
		r, err := trustroot.Load(file)
		if err != nil {
			return nil, "", usageErrorf("--trust-root: %v", err)
		}
		return r, "from --trust-root " + file, nil
	}
	r, firstUse, err := p.state.PinOnFirstUse(ctx, p.registry, c)
	switch {
	case errors.Is(err, clientstate.ErrRefused):
		return nil, "", fmt.Errorf("%w: %w", errCheckFailed, err)
	case err != nil:
		return nil, "", err
	case firstUse:
		return r, fmt.Sprintf("pinned on first use from %s into %s (trust on first use: pass --trust-root to choose your own)", p.registry, p.path()), nil
	}
	return r, "pinned in " + p.path(), nil
}

// update walks the registry's chain from root to the newest version it can verify.
func (p pins) update(ctx context.Context, c *client.Client, root *trustroot.Root) (*trustroot.Root, error) {
	newer, err := clientstate.Update(ctx, c, root, time.Now())
	if errors.Is(err, clientstate.ErrRefused) {
		return nil, fmt.Errorf("%w: %w", errCheckFailed, err)
	}
	return newer, err
}

func (p pins) save(ctx context.Context, r *trustroot.Root) error {
	return p.state.Pin(ctx, p.registry, r)
}
