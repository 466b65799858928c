package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	tclient "github.com/transparency-dev/tessera/client"

	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/clientstate"
	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/attest/verify"
	"github.com/comet-attest/comet/internal/atomicfile"
	"github.com/comet-attest/comet/internal/hexdigest"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/wire"
	gnarklog "github.com/consensys/gnark/logger"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/spf13/cobra"
	f_log "github.com/transparency-dev/formats/log"
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
	cmd.Flags().StringSliceVar(&f.waive, "waive", nil, "accept that a required check did not run, by name: "+strings.Join(waivableNames(), ", "))
	cmd.Flags().BoolVar(&f.singleParty, "allow-single-party-setup", false, "accept circuits whose keys came from a single-party setup (the registry could forge their proofs)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error { return runVerify(cmd, f, args[0]) }
	return cmd
}

// waivable are the checks that must run unless the user waives them by name: what the
// attestation is about (the proof) and whether it still stands (the revocation list).
var waivable = []struct{ name, check, what string }{
	{"proof", verify.CheckProof, "the zero-knowledge proof"},
	{"revocation", verify.CheckRevocation, "the revocation list"},
}

// waiveEvaluations accepts failed evaluation checks: the model's training attestation still
// verifies, and the closing line says which evaluations failed.
const waiveEvaluations = "evaluations"

func waivableNames() []string {
	names := make([]string, len(waivable), len(waivable)+1)
	for i, w := range waivable {
		names[i] = w.name
	}
	return append(names, waiveEvaluations)
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

// verification gathers what one run of verify has found.
type verification struct {
	root   *trustroot.Root
	bundle *bundle.Bundle
	policy []verify.PolicyOption
	proofs verify.ProofChecker
	notes  []string
}

func runVerify(cmd *cobra.Command, f *verifyFlags, arg string) error {
	gnarklog.Disable() // gnark logs every proof it checks; verify reports each check itself
	ctx := cmd.Context()
	for _, w := range f.waive {
		if !slices.Contains(waivableNames(), w) {
			return usageErrorf("--waive %q: the checks that can be waived are: %s", w, strings.Join(waivableNames(), ", "))
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
	var c *client.Client
	if !f.offline {
		var err error
		if c, err = f.reg.client(false); err != nil {
			return err
		}
	}
	m, err := verifiedModel(ctx, f, c, arg)
	if err != nil {
		return err
	}
	modelJSON, err := m.Marshal() // the file's bytes: Load accepts only the canonical file
	if err != nil {
		return err
	}
	v := &verification{policy: []verify.PolicyOption{verify.WithModelSHA256(m.SHA256)}}
	if f.singleParty {
		v.policy = append(v.policy, verify.AllowSingleParty())
	}
	if f.provider != "" {
		v.policy = append(v.policy, verify.WithProvider(f.provider))
	}
	if f.anchor {
		v.policy = append(v.policy, verify.RequireAnchor())
	}
	if f.offline {
		err = v.offline(f, modelJSON)
	} else {
		err = v.online(ctx, f, c, m, modelJSON)
	}
	if err != nil {
		return err
	}
	vopts := []verify.Option{}
	if v.proofs != nil {
		vopts = append(vopts, verify.WithProofChecker(v.proofs))
	}
	if f.rpcURL != "" && !f.offline {
		rd, err := anchorReader(ctx, v.root, f.rpcURL)
		if err != nil {
			return err
		}
		vopts = append(vopts, verify.WithAnchorReader(rd))
	}
	verifier, err := verify.NewVerifier(v.root, vopts...)
	if err != nil {
		return err
	}
	policy, err := verify.NewPolicy(v.policy...)
	if err != nil {
		return err
	}
	rep, verr := verifier.Verify(ctx, v.bundle, policy)
	if rep == nil {
		return verr
	}
	if cp, ok := rep.Line(verify.CheckCheckpoint); ok && cp.Status == verify.Passed {
		if pr, _ := rep.Line(verify.CheckPrior); pr.Status != verify.Failed {
			if err := stateIn(f.stateDir).Remember(ctx, v.root, v.bundle.Checkpoint); err != nil {
				return err
			}
		}
	}
	res := v.result(m.SHA256, rep, f)
	if !f.offline {
		lines, err := checkEvaluations(ctx, c, verifier, m.SHA256, modelJSON, filepath.Join(f.stateDir, "keys"))
		if err != nil {
			return err
		}
		res.addEvaluations(lines, slices.Contains(f.waive, waiveEvaluations))
	}
	out := cmd.OutOrStdout()
	if f.asJSON {
		if err := writeJSON(out, res); err != nil {
			return err
		}
	} else {
		for _, n := range res.Notes {
			fmt.Fprintln(out, n)
		}
		for _, l := range res.Checks {
			fmt.Fprintf(out, "%-38s %-11s %s\n", l.Name, l.Status, l.Detail)
		}
		if line, ok := featurizerLine(rep); ok {
			fmt.Fprintln(out, line)
		}
		printAnchorEvidence(out, rep)
	}
	if !res.Verified {
		return fmt.Errorf("%w: %s", errCheckFailed, strings.Join(res.Failures, "; "))
	}
	if !f.asJSON {
		closing := fmt.Sprintf("model %s: every check passed (%d passed, %d not checked)", m.SHA256, res.Passed, res.NotChecked)
		if len(res.Waived) > 0 {
			closing += "; waived: " + strings.Join(res.Waived, ", ")
		}
		fmt.Fprintln(out, closing)
	}
	return nil
}

// resultFormat names the version of verifyResult.
const resultFormat = "comet.verify/v1"

// verifyResult is what `comet verify --json` prints (docs/attestation.md): every check with its
// status and detail, what was waived, and the verdict the exit status gives.
type verifyResult struct {
	Format      string `json:"format"`
	ModelSHA256 string `json:"model_sha256"`
	TrustRoot   struct {
		Version int64  `json:"version"`
		SHA256  string `json:"sha256"`
	} `json:"trust_root"`
	Notes      []string      `json:"notes"`
	Checks     []verify.Line `json:"checks"`
	Passed     int           `json:"passed"`
	NotChecked int           `json:"not_checked"`
	Failed     int           `json:"failed"`
	// Waived are the required checks that did not run and that the user accepted by name.
	Waived []string `json:"waived"`
	// Failures are the failed checks and the required checks that did not run unwaived.
	Failures []string `json:"failures"`
	Verified bool     `json:"verified"`
}

// result judges the report: a failed check fails, and so does a required one that did not
// run unless it was waived by name.
func (v *verification) result(modelSHA string, rep *verify.Report, f *verifyFlags) verifyResult {
	res := verifyResult{Format: resultFormat, ModelSHA256: modelSHA, Notes: v.notes, Checks: rep.Lines, Waived: []string{}, Failures: []string{}}
	res.TrustRoot.Version, res.TrustRoot.SHA256 = v.root.Version, v.root.Fingerprint()
	for _, l := range rep.Lines {
		switch l.Status {
		case verify.Failed:
			res.Failed++
			res.Failures = append(res.Failures, l.Name+": "+l.Detail)
		case verify.Passed:
			res.Passed++
		default:
			res.NotChecked++
		}
	}
	for _, w := range waivable {
		l, ok := rep.Line(w.check)
		if !ok || l.Status != verify.NotChecked {
			continue
		}
		if slices.Contains(f.waive, w.name) {
			res.Waived = append(res.Waived, w.what+" (--waive "+w.name+")")
		} else {
			res.Failures = append(res.Failures, w.check+": not checked ("+l.Detail+"; --waive "+w.name+" accepts that)")
		}
	}
	if l, _ := rep.Line(verify.CheckCeremony); f.singleParty && l.Status == verify.NotChecked {
		res.Waived = append(res.Waived, "a single-party key setup (--allow-single-party-setup)")
	}
	res.Verified = len(res.Failures) == 0
	return res
}

// checkEvaluations checks each logged evaluation of the model as the training proof is
// checked (verify.Verifier.VerifyEvaluation): one line each, named by the evaluation, saying
// what it proves and who proved it. A revoked evaluation fails its line.
func checkEvaluations(ctx context.Context, c *client.Client, verifier *verify.Verifier, sha string, modelJSON []byte, keysDir string) ([]verify.Line, error) {
	evs, err := modelEvaluations(ctx, c, sha)
	if err != nil {
		return nil, err
	}
	lines := make([]verify.Line, 0, len(evs))
	for _, ev := range evs {
		name := "evaluation " + ev.ID
		fail := func(err error) {
			lines = append(lines, verify.Line{Name: name, Status: verify.Failed, Detail: err.Error()})
		}
		env, err := envelope.Parse(ev.Envelope)
		if err != nil {
			fail(err)
			continue
		}
		pb, err := c.EvaluationProof(ctx, ev.ID)
		if err != nil {
			return nil, err
		}
		mb, err := c.EvaluationManifest(ctx, ev.ID)
		if err != nil {
			return nil, err
		}
		e, err := verifier.VerifyEvaluation(ctx, verify.EvaluationFiles{Envelope: env, Bundle: pb, Manifest: mb, Model: modelJSON,
			Keys: localKeys[circuit.Keyed](keysDir, func(ctx context.Context) error { return fetchEvalKeys(ctx, c, keysDir, pb) })}, sha)
		switch {
		case err != nil:
			fail(err)
		case ev.Revoked:
			reason := "revoked"
			if r, err := c.Revocation(ctx, ev.AttestationID); err == nil {
				reason = fmt.Sprintf("revoked at %s: %s", r.RevokedAt.Format(time.RFC3339), r.Reason)
			}
			fail(fmt.Errorf("%s (it proved: %s)", reason, evaluationSummary(e)))
		default:
			lines = append(lines, verify.Line{Name: name, Status: verify.Passed, Detail: evaluationSummary(e)})
		}
	}
	return lines, nil
}

// addEvaluations adds the evaluation lines to the result; a failed one fails verification
// unless waived.
func (r *verifyResult) addEvaluations(lines []verify.Line, waived bool) {
	r.Checks = append(r.Checks, lines...)
	for _, l := range lines {
		if l.Status == verify.Passed {
			r.Passed++
			continue
		}
		r.Failed++
		if waived {
			r.Waived = append(r.Waived, l.Name+" (--waive "+waiveEvaluations+")")
		} else {
			r.Failures = append(r.Failures, l.Name+": "+l.Detail)
		}
	}
	r.Verified = len(r.Failures) == 0
}

// verifiedModel reads the model verify is about: the file named, or, given its SHA-256, the
// registry's copy (online) or the one in --dir (offline), which must hash to it.
func verifiedModel(ctx context.Context, f *verifyFlags, c *client.Client, arg string) (*model.Model, error) {
	if !hexdigest.Valid(arg) {
		m, err := model.Load(ctx, arg)
		if err != nil {
			return nil, usageErrorf("model %s: %v", arg, err)
		}
		return m, nil
	}
	if _, err := os.Stat(arg); err == nil {
		return nil, usageErrorf("%s is both a model hash and a file: name the file as ./%s", arg, arg)
	}
	var raw []byte
	var err error
	switch {
	case f.dir != "":
		if raw, err = os.ReadFile(filepath.Join(f.dir, dirModel)); err != nil {
			return nil, usageErrorf("--dir: %v", err)
		}
	case f.offline:
		return nil, usageErrorf("offline, a model hash needs the model: give the model file, or --dir from comet bundle fetch")
	default:
		if raw, err = c.ModelFile(ctx, arg); errors.Is(err, client.ErrNotFound) {
			return nil, fmt.Errorf("%w: the registry has no model %s", errCheckFailed, arg)
		} else if err != nil {
			return nil, err
		}
	}
	m, err := model.Unmarshal(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: the model file of %s: %w", errCheckFailed, arg, err)
	}
	if m.SHA256 != arg {
		return nil, fmt.Errorf("%w: the model file fetched for %s hashes to %s", errCheckFailed, arg, m.SHA256)
	}
	return m, nil
}

func (v *verification) offline(f *verifyFlags, modelJSON []byte) error {
	if f.bundle == "" || f.trustRoot == "" {
		return usageErrorf("--offline needs --bundle and --trust-root")
	}
	root, err := trustroot.Load(f.trustRoot)
	if err != nil {
		return usageErrorf("--trust-root: %v", err)
	}
	v.root = root
	v.notes = append(v.notes, trustRootNote(root, "from --trust-root "+f.trustRoot+" (offline: not updated)"))
	raw, err := os.ReadFile(f.bundle)
	if err != nil {
		return usageErrorf("--bundle: %v", err)
	}
	if v.bundle, err = bundle.Parse(raw); err != nil {
		return usageErrorf("--bundle %s: %v", f.bundle, err)
	}
	if f.revocation != "" {
		raw, err := os.ReadFile(f.revocation)
		if err != nil {
			return usageErrorf("--revocation: %v", err)
		}
		env, err := revocationEnvelope(raw)
		if err != nil {
			return usageErrorf("--revocation %s: %v", f.revocation, err)
		}
		v.policy = append(v.policy, verify.WithRevocations(env))
	}
	switch {
	case f.proof != "" && f.manifest != "" && f.keys != "":
		pb, err := os.ReadFile(f.proof)
		if err != nil {
			return usageErrorf("--proof: %v", err)
		}
		mb, err := os.ReadFile(f.manifest)
		if err != nil {
			return usageErrorf("--manifest: %v", err)
		}
		v.proofs = verify.ProofFiles{Bundle: pb, Manifest: mb, Model: modelJSON, Keys: localKeys[circuit.Shape](f.keys, nil)}
	case f.proof != "" || f.manifest != "" || f.keys != "":
		return usageErrorf("--proof, --manifest and --keys go together: the proof is checked with all three")
	}
	return nil
}

// localKeys loads a shape's verifying keys from dir, after fetch (when given) has put them
// there; the verifier uses them only if their hashes are the ones the trust root pins.
func localKeys[S circuit.Keyed](dir string, fetch func(ctx context.Context) error) func(context.Context, S) (*setup.Keys, error) {
	return func(ctx context.Context, shape S) (*setup.Keys, error) {
		keys, err := setup.Load(ctx, dir, shape, setup.Verifying)
		if errors.Is(err, setup.ErrNotFound) && fetch != nil {
			if err = fetch(ctx); err == nil {
				keys, err = setup.Load(ctx, dir, shape, setup.Verifying)
			}
		}
		return keys, err
	}
}

// online fetches what verification needs; the trust root comes from --trust-root or the
// state directory, and is fetched from the registry only the first time (and said so).
func (v *verification) online(ctx context.Context, f *verifyFlags, c *client.Client, m *model.Model, modelJSON []byte) error {
	p := newPins(f.stateDir, f.reg.url)
	root, how, err := p.load(ctx, c, f.trustRoot)
	if err != nil {
		return err
	}
	l, err := c.Lookup(ctx, m.SHA256)
	if errors.Is(err, client.ErrNotFound) {
		return fmt.Errorf("%w: the registry has no model %s", errCheckFailed, m.SHA256)
	}
	if err != nil {
		return err
	}
	if l.Attestation == nil {
		return fmt.Errorf("%w: model %s has no attestation (status %s %s)", errCheckFailed, m.SHA256, l.Status, l.FailedCheck)
	}
	raw, err := c.Bundle(ctx, l.Attestation.ID)
	if err != nil {
		return err
	}
	if v.bundle, err = bundle.Parse(raw); err != nil {
		return fmt.Errorf("%w: the registry's bundle: %w", errCheckFailed, err)
	}
	var revs []*dsse.Envelope
	r, err := c.Revocation(ctx, l.Attestation.ID)
	switch {
	case errors.Is(err, client.ErrNotFound):
	case err != nil:
		return err
	default:
		env, err := envelope.Parse(r.Envelope)
		if err != nil {
			return fmt.Errorf("%w: the registry's revocation: %w", errCheckFailed, err)
		}
		revs = append(revs, env)
	}
	v.policy = append(v.policy, verify.WithRevocations(revs...))
	pb, err := c.Proof(ctx, m.SHA256)
	if err != nil {
		return err
	}
	mb, err := c.Manifest(ctx, m.SHA256)
	if err != nil {
		return err
	}
	// Walk the chain only when the pinned version cannot speak for this attestation.
	if why := staleFor(root, v.bundle, pb); why != "" {
		newer, err := p.update(ctx, c, root)
		if err != nil {
			return fmt.Errorf("%s; updating the trust root: %w", why, err)
		}
		if newer.Version > root.Version {
			how = fmt.Sprintf("updated from version %d (%s) because %s", root.Version, how, why)
			if f.trustRoot == "" {
				if err := p.save(ctx, newer); err != nil {
					return err
				}
				how += "; pinned in " + p.path()
			}
		}
		root = newer
	}
	v.root = root
	v.notes = append(v.notes, trustRootNote(root, how))
	keysDir := filepath.Join(f.stateDir, "keys")
	v.proofs = verify.ProofFiles{Bundle: pb, Manifest: mb, Model: modelJSON, Keys: localKeys[circuit.Shape](keysDir, func(ctx context.Context) error {
		return fetchKeys(ctx, c, keysDir, pb)
	})}
	prior, err := stateIn(f.stateDir).Checkpoint(ctx, root.LogOrigin)
	if err != nil || prior == nil {
		return err
	}
	from, err1 := clientstate.Parse(root, prior)
	to, err2 := clientstate.Parse(root, v.bundle.Checkpoint)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("%w: checkpoint: %w", errCheckFailed, errors.Join(err1, err2))
	}
	// The proof comes from the log's public tiles, as any monitor would build it.
	logURL, err := url.Parse(f.reg.url + "/v1/log/")
	if err != nil {
		return err
	}
	tiles, err := tclient.NewHTTPFetcher(logURL, nil)
	if err != nil {
		return err
	}
	hashes, err := clientstate.Consistency(ctx, tiles.ReadTile, from, to)
	if err != nil {
		return err
	}
	v.policy = append(v.policy, verify.WithPriorCheckpoint(prior, hashes))
	return nil
}

// trustRootNote says, every run, which trust root the checks ran against and how it was chosen.
func trustRootNote(r *trustroot.Root, how string) string {
	return fmt.Sprintf("trust root version %d (sha256:%s), %s", r.Version, r.Fingerprint(), how)
}

// staleFor says why root cannot judge this bundle (a registry key, log key or circuit it does
// not name, or its expiry), or "" when it can.
func staleFor(r *trustroot.Root, b *bundle.Bundle, proofBundle []byte) string {
	if r.Check(time.Now()) != nil {
		return fmt.Sprintf("the pinned version %d has expired", r.Version)
	}
	known := false
	for _, s := range b.Envelope.Signatures {
		if _, ok := r.RegistryKey(s.KeyID); ok {
			known = true
		}
	}
	if !known {
		return "the attestation is signed by a registry key the pinned version does not name"
	}
	logKnown := false
	for _, k := range r.LogKeys {
		if _, _, _, err := f_log.ParseCheckpoint(b.Checkpoint, r.LogOrigin, k); err == nil {
			logKnown = true
		}
	}
	if !logKnown {
		return "the checkpoint is signed by a log key the pinned version does not name"
	}
	if pb, err := proof.ParseBundle(proofBundle); err == nil {
		for name, c := range pb.Circuits {
			if _, ok := r.Circuits[c.ID]; !ok {
				return fmt.Sprintf("the %s circuit %s is not pinned", name, c.ID)
			}
		}
	}
	return ""
}

// fetchKeys downloads the verifying keys of the circuits a proof bundle names into dir in
// prover/setup's layout; setup.Load then checks them against keys.json and the verifier
// against the trust root.
func fetchKeys(ctx context.Context, c *client.Client, dir string, bundleJSON []byte) error {
	b, err := proof.ParseBundle(bundleJSON)
	if err != nil {
		return err
	}
	return fetchCircuitKeys(ctx, c, dir, b.Shape, b.Circuits, circuit.FinalCircuit)
}

// fetchEvalKeys is fetchKeys for the evaluation circuits an evaluation bundle names.
func fetchEvalKeys(ctx context.Context, c *client.Client, dir string, bundleJSON []byte) error {
	b, err := proof.ParseEvalBundle(bundleJSON)
	if err != nil {
		return err
	}
	return fetchCircuitKeys(ctx, c, dir, b.Shape, b.Circuits, circuit.EvalFinalCircuit)
}

func fetchCircuitKeys(ctx context.Context, c *client.Client, dir string, shape circuit.Keyed, circuits map[string]proof.CircuitID, final circuit.Circuit) error {
	shapeDir := setup.Dir(dir, shape)
	if err := os.MkdirAll(shapeDir, 0o755); err != nil {
		return err
	}
	// keys.json is the final circuit's: it describes both circuits of the shape.
	files := map[string][2]string{"keys.json": {circuits[string(final)].ID, "keys.json"}}
	for name, id := range circuits {
		files[name+".vk"] = [2]string{id.ID, "vk"}
	}
	for name, f := range files {
		var buf bytes.Buffer
		if _, err := c.CircuitFile(ctx, f[0], f[1], &buf); err != nil {
			return fmt.Errorf("fetch %s: %w", name, err)
		}
		if err := atomicfile.WriteFile(filepath.Join(shapeDir, name), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
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
