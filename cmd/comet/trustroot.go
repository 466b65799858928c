package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/comet-attest/comet/attest/clientstate"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/client/check"
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
	var asPEM bool
	var key string
	cmd := &cobra.Command{
		Use:   "show FILE [--pem [--key ROLE|KEY_ID]]",
		Short: "Print what a trust root file trusts, or its signing keys as PEM",
		Long: `Without --pem, prints the trust root's version, keys, witness policy, pinned circuits and
anchor. With --pem, prints its root, registry and log keys as PEM "PUBLIC KEY" blocks (PKIX), the
form cosign's --key and OpenSSL read, each after a comment line that names its role, key id and
what the trust root says of it (validity window, revocation). --key keeps one key: a role
(root, registry or log) when the trust root has one key in that role, or a key id (an envelope's
signatures[].keyid names the registry key that signed it). A PEM key is only the key: cosign
then checks the signature and not what comet verify checks beside it (validity window,
revocation, log inclusion, proof); see docs/attestation.md.`,
		Example: `  comet trustroot show trustroot.json
  comet trustroot show trustroot.json --pem
  comet trustroot show evidence/trustroot.json --pem --key registry > registry.pem
  cosign verify-blob-attestation --key registry.pem --type https://comet-attest.dev/training/v2 \
    --insecure-ignore-tlog --signature evidence/envelope.json evidence/model.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key != "" && !asPEM {
				return usageErrorf("--key selects a key to print as PEM: add --pem")
			}
			r, err := trustroot.Load(args[0])
			if err != nil {
				return usageErrorf("%v", err)
			}
			if !asPEM {
				printTrustRoot(cmd, r)
				return nil
			}
			ks, err := selectKeys(trustedKeys(r), key)
			if err != nil {
				return err
			}
			return printPEMKeys(cmd, ks)
		},
	}
	cmd.Flags().BoolVar(&asPEM, "pem", false, "print the root, registry and log keys as PEM PUBLIC KEY blocks (for cosign --key, OpenSSL)")
	cmd.Flags().StringVar(&key, "key", "", "with --pem, print only this key: a role (root, registry, log) that has one key, or a key id")
	return cmd
}

// trustedKey is one signing key a trust root names, with its role and what the root says of it.
type trustedKey struct {
	role   string // root, registry or log
	key    *keys.Verifier
	detail string
}

// trustedKeys lists the root, registry and log keys in the order show prints them.
func trustedKeys(r *trustroot.Root) []trustedKey {
	var out []trustedKey
	for _, k := range r.RootKeys {
		out = append(out, trustedKey{"root", k, fmt.Sprintf("(%d of %d sign the next version)", r.RootThreshold, len(r.RootKeys))})
	}
	for _, k := range r.Registry {
		window := "from " + k.NotBefore.UTC().Format(time.RFC3339)
		if !k.NotAfter.IsZero() {
			window += " to " + k.NotAfter.UTC().Format(time.RFC3339)
		}
		if !k.RevokedAt.IsZero() {
			window += ", revoked " + k.RevokedAt.UTC().Format(time.RFC3339) + " (" + k.RevocationReason + ")"
		}
		out = append(out, trustedKey{"registry", k.Key, window})
	}
	for i, k := range r.LogKeys {
		role := "(current)"
		if i > 0 {
			role = "(previous)"
		}
		out = append(out, trustedKey{"log", k, role})
	}
	return out
}

// selectKeys keeps the keys that sel names (all when it is empty). A role must name exactly
// one key, so that a file made with --key holds the one key meant: cosign reads only the
// first PEM block of a file.
func selectKeys(ks []trustedKey, sel string) ([]trustedKey, error) {
	if sel == "" {
		return ks, nil
	}
	var byRole, byID []trustedKey
	ids := make([]string, len(ks))
	for i, k := range ks {
		ids[i] = k.key.KeyID()
		if k.role == sel {
			byRole = append(byRole, k)
		}
		if k.key.KeyID() == sel {
			byID = append(byID, k)
		}
	}
	switch {
	case len(byID) > 0:
		return byID[:1], nil // a key in two roles (root and registry) is one key
	case len(byRole) == 1:
		return byRole, nil
	case len(byRole) > 1:
		roleIDs := make([]string, len(byRole))
		for i, k := range byRole {
			roleIDs[i] = k.key.KeyID()
		}
		return nil, usageErrorf("--key %s: the trust root has %d %s keys (%s): name one by its key id", sel, len(byRole), sel, strings.Join(roleIDs, ", "))
	}
	return nil, usageErrorf("--key %s: no such role (root, registry, log) or key id in the trust root; its keys are %s", sel, strings.Join(ids, ", "))
}

func printPEMKeys(cmd *cobra.Command, ks []trustedKey) error {
	w := cmd.OutOrStdout()
	for _, k := range ks {
		b, err := k.key.PEM()
		if err != nil {
			return err
		}
		// Text before a PEM block is allowed (RFC 7468) and skipped by Go's, OpenSSL's and
		// cosign's readers; PEM headers would not be (OpenSSL refuses any but Proc-Type).
		fmt.Fprintf(w, "# %s %s %s\n%s", k.role, k.key.KeyID(), k.detail, b)
	}
	return nil
}

func printTrustRoot(cmd *cobra.Command, r *trustroot.Root) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "version   %d, expires %s, sha256:%s\n", r.Version, r.Expires.UTC().Format(time.RFC3339), r.Fingerprint())
	for _, k := range trustedKeys(r) {
		label := k.role
		if label == "root" {
			label = "root key"
		}
		fmt.Fprintf(w, "%-10s%s %s\n", label, k.key.KeyID(), k.detail)
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
type pins struct{ check.Pins }

func newPins(stateDir, registry string) pins {
	return pins{check.Pins{State: stateIn(stateDir), Registry: registry}}
}

// stateIn is what the client remembers (trust roots, checkpoints) in the state directory.
func stateIn(dir string) clientstate.State { return clientstate.State{Store: clientstate.Dir(dir)} }

func (p pins) path() string { return p.Where() }

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
	return p.Load(ctx, c, nil)
}

// update walks the registry's chain from root to the newest version it can verify.
func (p pins) update(ctx context.Context, c *client.Client, root *trustroot.Root) (*trustroot.Root, error) {
	return p.Update(ctx, c, root, time.Now())
}

func (p pins) save(ctx context.Context, r *trustroot.Root) error { return p.Save(ctx, r) }
