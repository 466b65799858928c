package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/clientstate"
	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/attest/verify"
	"github.com/comet-attest/comet/internal/hexdigest"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/client/check"
	"github.com/comet-attest/comet/registry/wire"
	gnarklog "github.com/consensys/gnark/logger"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/spf13/cobra"
)

type verifyFlags struct {
	reg         *registryFlags
	trustRoot   string
	stateDir    string
	offline     bool
	bundle      string
	revocation  string
	proof       string
	manifest    string
	keys        string
	dir         string
	rpcURL      string
	waive       []string
	singleParty bool
	provider    string
	anchor      bool
	asJSON      bool
}

func newVerifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify MODEL_FILE|MODEL_SHA256",
		Short: "Verify a model's attestation locally: proof, signature, log inclusion, consistency, revocation",
		Long: `Fetches the model's client bundle, its revocation (if any), its proof and manifest and
the circuit's verifying keys from the registry, and checks everything itself against a trust root:
--trust-root FILE, or the one pinned in the state directory on first use; it says which, every
time. When that version does not name the attestation's registry key, log key or circuits, or has
expired, it walks the registry's chain of signed versions to the newest it can verify (comet
trustroot update). It prints one line per check and exits 0 only when none failed (1 when one did);
keys from a single-party setup fail the "key ceremony" line unless --allow-single-party-setup. It remembers the newest checkpoint it
has verified and checks that every later one is consistent with it.

With --rpc-url (or COMET_RPC_URL) it reads the root anchored on Starknet at the bundle's
anchored size from the contract the trust root pins, and checks that the bundle's checkpoint
is that root or consistent with it; without it the anchor is "not checked (offline)".

With --offline nothing is fetched: --dir DIR reads what comet bundle fetch wrote there, or
--bundle FILE --trust-root FILE name the parts; the proof is checked when --proof, --manifest and
--keys are given, the revocation when --revocation is. Online or offline, the proof's bundle
digest, circuits, provider, dataset, λ, tau, metrics and guarantee must be exactly what the
registry signed.

Given a SHA-256 instead of a file, verify fetches the model file from the registry (online) or
reads it from --dir (offline). A required check that did not run (the proof; the revocation
list, which offline is only as fresh as what was fetched) fails the verification unless waived
by name with --waive; the closing line says what was waived. --json prints the result as one
versioned object (docs/attestation.md, "comet verify --json").`,
		Example: `  comet verify model.json --provider acme-legal
  comet verify 3f2a...e9 --require-anchor --rpc-url https://starknet-sepolia.example/rpc
  comet bundle fetch model.json --out evidence/ && comet verify model.json --offline --dir evidence/ --waive revocation
  comet verify model.json --json | jq .verified`,
		Args: cobra.ExactArgs(1),
	}
	f := &verifyFlags{reg: addRegistryFlags(cmd, false)}
	cmd.Flags().StringVar(&f.trustRoot, "trust-root", "", "trust root file (default: pinned on first use in the state directory)")
	cmd.Flags().StringVar(&f.stateDir, "state-dir", defaultStateDir(), "where the pinned trust root, the last seen checkpoint and fetched verifying keys are kept")
	cmd.Flags().BoolVar(&f.offline, "offline", false, "use no network: needs --bundle and --trust-root")
	cmd.Flags().StringVar(&f.bundle, "bundle", "", "client bundle file (offline)")
	cmd.Flags().StringVar(&f.revocation, "revocation", "", "signed revocation envelope file to apply (offline)")
	cmd.Flags().StringVar(&f.proof, "proof", "", "proof bundle file (offline)")
	cmd.Flags().StringVar(&f.manifest, "manifest", "", "dataset manifest file (offline)")
	cmd.Flags().StringVar(&f.keys, "keys", "", "verifying keys directory (offline)")
	cmd.Flags().StringVar(&f.dir, "dir", "", "directory written by comet bundle fetch (offline): bundle, trust root, model, proof, manifest, keys, revocation")
	cmd.Flags().StringVar(&f.provider, "provider", "", "require the attestation to name this provider id")
	cmd.Flags().BoolVar(&f.anchor, "require-anchor", false, "fail unless the checkpoint's anchor on Starknet is checked (needs --rpc-url)")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the result as one JSON object (format comet.verify/v1) instead of lines")
	cmd.Flags().StringVar(&f.rpcURL, "rpc-url", rpcURLDefault(), "Starknet JSON-RPC URL: check the anchor against the contract the trust root pins (default $COMET_RPC_URL)")
	cmd.Flags().StringSliceVar(&f.waive, "waive", nil, "accept that a required check did not run, by name: "+strings.Join(check.WaivableNames(), ", "))
	cmd.Flags().BoolVar(&f.singleParty, "allow-single-party-setup", false, "accept circuits whose keys came from a single-party setup (the registry could forge their proofs)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error { return runVerify(cmd, f, args[0]) }
	return cmd
}

func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "comet")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "comet")
	}
	return ".comet-state"
}

// runVerify turns the flags into check.Options and the evidence to check (fetched by
// registry/client/check online, read from files offline), and prints what check.Run finds.
func runVerify(cmd *cobra.Command, f *verifyFlags, arg string) error {
	gnarklog.Disable() // gnark logs every proof it checks; verify reports each check itself
	ctx := cmd.Context()
	for _, w := range f.waive {
		if !slices.Contains(check.WaivableNames(), w) {
			return usageErrorf("--waive %q: the checks that can be waived are: %s", w, strings.Join(check.WaivableNames(), ", "))
		}
	}
	if f.dir != "" {
		if !f.offline {
			return usageErrorf("--dir is for --offline verification")
		}
		if f.bundle != "" || f.trustRoot != "" || f.proof != "" || f.manifest != "" || f.keys != "" || f.revocation != "" {
			return usageErrorf("--dir names every part: leave out --bundle, --trust-root, --proof, --manifest, --keys and --revocation")
		}
		f.bundle, f.trustRoot, f.proof, f.manifest, f.keys = filepath.Join(f.dir, dirBundle), filepath.Join(f.dir, dirTrustRoot),
			filepath.Join(f.dir, dirProof), filepath.Join(f.dir, dirManifest), filepath.Join(f.dir, dirKeys)
		if _, err := os.Stat(filepath.Join(f.dir, dirRevocation)); err == nil {
			f.revocation = filepath.Join(f.dir, dirRevocation)
		}
	}
	if f.anchor && f.rpcURL == "" {
		return usageErrorf("--require-anchor needs --rpc-url (or COMET_RPC_URL): the anchor is read from the chain")
	}
	out := cmd.OutOrStdout()
	o := check.Options{
		Registry: f.reg.url, State: clientstate.Dir(f.stateDir), Keys: check.KeysDir(filepath.Join(f.stateDir, "keys")),
		Provider: f.provider, SingleParty: f.singleParty, RequireAnchor: f.anchor, Waive: f.waive,
	}
	if !f.asJSON {
		o.Print = func(l check.Line) { fmt.Fprintln(out, l.Text) }
	}
	if !f.offline {
		var err error
		if o.Client, err = f.reg.client(false); err != nil {
			return err
		}
		if f.rpcURL != "" {
			o.Anchor = func(ctx context.Context, r *trustroot.Root) (verify.AnchorReader, error) {
				return anchorReader(ctx, r, f.rpcURL)
			}
		}
		if f.trustRoot != "" {
			if o.TrustRoot, err = trustroot.Load(f.trustRoot); err != nil {
				return usageErrorf("--trust-root: %v", err)
			}
			o.TrustRootFrom = "from --trust-root " + f.trustRoot
		}
	}
	m, err := verifiedModel(ctx, f, o.Client, arg)
	if err != nil {
		return err
	}
	var e *check.Evidence
	if f.offline {
		if f.keys != "" {
			o.Keys = check.KeysDir(f.keys) // the evaluations' keys are read from there too
		}
		e, err = offline(f, m)
	} else {
		e, err = check.Fetch(ctx, o, m)
	}
	if err != nil {
		return err
	}
	res, err := check.Run(ctx, o, e)
	if res != nil && f.asJSON {
		if werr := writeJSON(out, res); werr != nil {
			return werr
		}
	}
	return err
}

// verifiedModel reads the model verify is about: the file named, or, given its SHA-256, the
// registry's copy (online) or the one in --dir (offline), which must hash to it.
func verifiedModel(ctx context.Context, f *verifyFlags, c *client.Client, arg string) (*model.Model, error) {
	if !hexdigest.Valid(arg) {
		m, err := model.Load(ctx, arg)
		if err != nil {
			return nil, usageErrorf("%v", err) // it names the file
		}
		return m, nil
	}
	if _, err := os.Stat(arg); err == nil {
		return nil, usageErrorf("%s is both a model hash and a file: name the file as ./%s", arg, arg)
	}
	switch {
	case f.dir != "":
	case f.offline:
		return nil, usageErrorf("offline, a model hash needs the model: give the model file, or --dir from comet bundle fetch")
	default:
		return check.Model(ctx, c, arg)
	}
	raw, err := os.ReadFile(filepath.Join(f.dir, dirModel))
	if err != nil {
		return nil, usageErrorf("--dir: %v", err)
	}
	return check.ModelFile(raw, arg, "in --dir")
}

// offline reads the evidence from the files the flags name.
func offline(f *verifyFlags, m *model.Model) (*check.Evidence, error) {
	if f.bundle == "" || f.trustRoot == "" {
		return nil, usageErrorf("--offline needs --bundle and --trust-root")
	}
	root, err := trustroot.Load(f.trustRoot)
	if err != nil {
		return nil, usageErrorf("--trust-root: %v", err)
	}
	e := &check.Evidence{Model: m, Root: root, Notes: []string{check.TrustRootNote(root, "from --trust-root "+f.trustRoot+" (offline: not updated)")}}
	raw, err := os.ReadFile(f.bundle)
	if err != nil {
		return nil, usageErrorf("--bundle: %v", err)
	}
	if e.Bundle, err = bundle.Parse(raw); err != nil {
		return nil, usageErrorf("--bundle %s: %v", f.bundle, err)
	}
	if f.revocation != "" {
		raw, err := os.ReadFile(f.revocation)
		if err != nil {
			return nil, usageErrorf("--revocation: %v", err)
		}
		env, err := revocationEnvelope(raw)
		if err != nil {
			return nil, usageErrorf("--revocation %s: %v", f.revocation, err)
		}
		e.Policy = append(e.Policy, verify.WithRevocations(env))
	}
	switch {
	case f.proof != "" && f.manifest != "" && f.keys != "":
		pb, err := os.ReadFile(f.proof)
		if err != nil {
			return nil, usageErrorf("--proof: %v", err)
		}
		mb, err := os.ReadFile(f.manifest)
		if err != nil {
			return nil, usageErrorf("--manifest: %v", err)
		}
		modelJSON, err := m.Marshal() // the file's bytes: Load accepts only the canonical file
		if err != nil {
			return nil, err
		}
		e.Proofs = verify.ProofFiles{Bundle: pb, Manifest: mb, Model: modelJSON, Keys: check.LocalKeys(check.KeysDir(f.keys))}
	case f.proof != "" || f.manifest != "" || f.keys != "":
		return nil, usageErrorf("--proof, --manifest and --keys go together: the proof is checked with all three")
	}
	var evs []check.Evaluation
	ok := false
	if f.dir != "" {
		evs, ok, err = readEvaluations(f.dir)
	}
	switch {
	case err != nil:
		return nil, usageErrorf("--dir: %v", err)
	case ok:
		e.Evaluations = evs
	default:
		e.Notes = append(e.Notes, "evaluations: not checked offline (comet bundle fetch writes them into the --dir it makes)")
	}
	return e, nil
}

// revocationEnvelope reads a signed revocation as a DSSE envelope file, or as the registry's
// answer to GET /v1/attestations/{id}/revocation, which carries the envelope.
func revocationEnvelope(raw []byte) (*dsse.Envelope, error) {
	env, err := envelope.Parse(raw)
	if err == nil {
		return env, nil
	}
	var r wire.Revocation
	if json.Unmarshal(raw, &r) != nil || len(r.Envelope) == 0 {
		return nil, fmt.Errorf("neither a DSSE envelope nor the registry's revocation: %w", err)
	}
	return envelope.Parse(r.Envelope)
}
