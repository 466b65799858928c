package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/leaf"
	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/prover/model"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	f_log "github.com/transparency-dev/formats/log"
	f_note "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// clockSkew is how far in the future an issued_at may lie.
const clockSkew = 5 * time.Minute

var (
	// ErrFailed wraps the error Verify returns when a required check fails.
	ErrFailed = errors.New("verification failed")
	// ErrCheckpoint reports a checkpoint not signed by the trusted log key.
	ErrCheckpoint = errors.New("checkpoint not verified")
	// ErrSplitView is wrapped by *SplitView.
	ErrSplitView = errors.New("log presented inconsistent views")
)

// SplitView is evidence that the log showed two histories that cannot both
// be true. Both checkpoints carry the log's valid signature.
type SplitView struct {
	Smaller, Larger []byte   // raw signed checkpoints (Smaller.size <= Larger.size)
	Proof           [][]byte // consistency proof given, if any
	// Conclusive is true when the two checkpoints alone prove misbehaviour
	// (same size, different roots). Otherwise the proof failed, which proves
	// misbehaviour only if it is the proof the log itself served.
	Conclusive bool
	Reason     string
}

func (e *SplitView) Error() string { return fmt.Sprintf("%v: %s", ErrSplitView, e.Reason) }
func (e *SplitView) Unwrap() error { return ErrSplitView }

// AnchorReader is all the verifier asks of the chain: the root the anchor
// contract holds for a log origin at exactly size, or an error when it holds
// none or cannot be read. It is this narrow so that a client needs no account
// and no registry code: *chain/anchor.Client satisfies it (built without an
// account it cannot send). Point it at the contract and chain the trust root
// pins; the bundle's receipt only says where to look.
type AnchorReader interface {
	RootAt(ctx context.Context, origin string, size uint64) ([32]byte, error)
}

// Verifier checks bundles against one trust root.
type Verifier struct {
	root     *trustroot.Root
	registry []*keys.Verifier
	now      func() time.Time
	anchor   AnchorReader
	proofs   ProofChecker
	progress func(Line)
}

// Option configures a Verifier.
type Option func(*Verifier)

// WithClock sets the clock used to reject attestations issued in the future.
func WithClock(now func() time.Time) Option { return func(v *Verifier) { v.now = now } }

// WithAnchorReader checks anchor receipts against the roots r reads from the
// contract; without it the anchor check is reported as not checked.
func WithAnchorReader(r AnchorReader) Option { return func(v *Verifier) { v.anchor = r } }

// WithProofChecker verifies the zero-knowledge proof with c and ties what it proves to the
// signed statement; without it the proof is reported as not checked.
func WithProofChecker(c ProofChecker) Option { return func(v *Verifier) { v.proofs = c } }

// WithProgress calls f with each line as its check ends, so that a slow check (the proof)
// does not hide the ones before it.
func WithProgress(f func(Line)) Option { return func(v *Verifier) { v.progress = f } }

// NewVerifier returns a verifier that trusts exactly what root says.
func NewVerifier(root *trustroot.Root, opts ...Option) (*Verifier, error) {
	if root == nil {
		return nil, errors.New("new verifier: nil trust root")
	}
	v := &Verifier{root: root, registry: root.RegistryVerifiers(), now: time.Now}
	for _, o := range opts {
		o(v)
	}
	return v, nil
}

// Policy says what the caller expects of one attestation.
type Policy struct {
	modelSHA256      string
	noModel          bool
	provider         string
	revocations      []*dsse.Envelope
	revocationsGiven bool
	prior            []byte
	priorProof       [][]byte
	requireAnchor    bool
	singleParty      bool
}

// PolicyOption configures a Policy.
type PolicyOption func(*Policy)

// NewPolicy builds a policy. It must name the model (WithModelSHA256) unless
// WithoutModelUnsafe says not to.
func NewPolicy(opts ...PolicyOption) (Policy, error) {
	var p Policy
	for _, o := range opts {
		o(&p)
	}
	switch {
	case p.modelSHA256 == "" && !p.noModel:
		return Policy{}, errors.New("policy: no model digest; use WithModelSHA256 or WithoutModelUnsafe")
	case p.modelSHA256 != "" && p.noModel:
		return Policy{}, errors.New("policy: both a model digest and WithoutModelUnsafe")
	case p.modelSHA256 != "" && (len(p.modelSHA256) != 64 || !isLowerHex(p.modelSHA256)):
		return Policy{}, fmt.Errorf("policy: model digest %q is not 64 lower-case hex characters", p.modelSHA256)
	}
	return p, nil
}

// WithModelSHA256 expects the attestation's subject to be the model file
// with this SHA-256 (lower-case hex; see ModelSHA256).
func WithModelSHA256(hexDigest string) PolicyOption {
	return func(p *Policy) { p.modelSHA256 = hexDigest }
}

// WithoutModelUnsafe skips the subject check: the report then says nothing
// about which model the claim is for.
func WithoutModelUnsafe() PolicyOption { return func(p *Policy) { p.noModel = true } }

// WithProvider expects the attestation to name this provider.
func WithProvider(id string) PolicyOption { return func(p *Policy) { p.provider = id } }

// WithRevocations gives the signed revocations the caller knows of (possibly
// none); without this option the revocation check is not performed.
func WithRevocations(envs ...*dsse.Envelope) PolicyOption {
	return func(p *Policy) { p.revocations, p.revocationsGiven = envs, true }
}

// WithPriorCheckpoint gives a checkpoint of the same log the caller already
// trusts and the consistency proof between it and the bundle's checkpoint.
func WithPriorCheckpoint(checkpoint []byte, consistency [][]byte) PolicyOption {
	return func(p *Policy) { p.prior, p.priorProof = checkpoint, consistency }
}

// AllowSingleParty accepts circuits whose keys came from a single-party setup, whose maker
// (the registry) could forge proofs: the ceremony check is then reported as not checked
// instead of failed.
func AllowSingleParty() PolicyOption { return func(p *Policy) { p.singleParty = true } }

// RequireAnchor makes a missing or unverified anchor a failure.
func RequireAnchor() PolicyOption { return func(p *Policy) { p.requireAnchor = true } }

// maxModelFile bounds the model file ModelSHA256 reads: real ones are a few kilobytes.
const maxModelFile = 16 << 20

// ModelSHA256 reads a model file (prover/model's format) and returns the digest an
// attestation names as its subject, for WithModelSHA256: the SHA-256 of the model's
// canonical encoding. A model that travelled re-spaced inside another document has the same
// digest as its file; anything that is not a valid model is an error, never a digest.
func ModelSHA256(r io.Reader) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxModelFile+1))
	if err != nil {
		return "", fmt.Errorf("read model: %w", err)
	}
	if len(data) > maxModelFile {
		return "", fmt.Errorf("read model: over %d bytes", maxModelFile)
	}
	m, _, err := model.Canonicalize(data)
	if err != nil {
		return "", fmt.Errorf("model: %w", err)
	}
	return m.SHA256, nil
}

// run collects report lines and the errors of failed checks.
type run struct {
	r        *Report
	errs     []error
	progress func(Line)
}

func (x *run) add(name string, s Status, detail string) {
	x.r.add(name, s, detail)
	if x.progress != nil {
		x.progress(x.r.Lines[len(x.r.Lines)-1])
	}
}

func (x *run) pass(name, detail string) { x.add(name, Passed, detail) }
func (x *run) skip(name, detail string) { x.add(name, NotChecked, detail) }
func (x *run) fail(name string, err error) {
	x.add(name, Failed, err.Error())
	x.errs = append(x.errs, fmt.Errorf("%s: %w", name, err))
}

// Verify checks a bundle. The report is always returned; the error is
// non-nil, wrapping ErrFailed and each failure, when any check failed.
func (v *Verifier) Verify(ctx context.Context, b *bundle.Bundle, p Policy) (*Report, error) {
	x := &run{r: &Report{Index: b.Index}, progress: v.progress}
	v.checkTrustRoot(x)
	const needSig = "needs a verified envelope signature"

	// DSSE: the signature covers PAE(payloadType, payload); only a payload
	// under a trusted signature is parsed further.
	var signer *keys.Verifier
	var payload []byte
	if signers, pl, err := envelope.Verify(ctx, b.Envelope, v.registry...); err != nil {
		x.fail(CheckEnvelopeSignature, err)
	} else {
		signer, payload = signers[0], pl
		x.r.SignedBy = signer.KeyID()
		x.pass(CheckEnvelopeSignature, "signed by registry key "+signer.KeyID())
	}
	if d, err := envelope.Digest(b.Envelope); err == nil {
		x.r.EnvelopeDigest = d
	}

	var subj statement.Subject
	var tr *statement.Training
	if signer == nil {
		x.skip(CheckStatement, needSig)
	} else if s, t, err := statement.ParseTraining(payload); err != nil {
		x.fail(CheckStatement, err)
	} else {
		subj, tr = s, t
		x.r.Subject, x.r.Training = s, t
		x.pass(CheckStatement, fmt.Sprintf("%s for %s, issued %s", statement.TrainingPredicateType, s.Name, t.IssuedAt.Format(time.RFC3339)))
	}

	// The checkpoint is checked before key validity because witness
	// cosignature times date the attestation independently of the signer.
	cc, cpErr := v.VerifyCheckpoint(b.Checkpoint)
	if cpErr == nil {
		x.r.Checkpoint = &cc.Checkpoint
		if cc.QuorumMet {
			x.r.WitnessedAt = cc.WitnessedAt
		}
	}

	const needStmt = "needs a valid statement"
	if tr == nil {
		for _, n := range []string{CheckKeyValidity, CheckSubject, CheckProvider, CheckVerifyingKey, CheckCeremony, CheckProof, CheckProofClaim, CheckGuarantee, CheckRevocation, CheckLeaf} {
			x.skip(n, needStmt)
		}
	} else {
		v.checkKey(x, signer, tr.IssuedAt, cc, cpErr == nil && cc.QuorumMet)
		checkSubject(x, p, subj)
		checkProvider(x, p, tr)
		v.checkCircuit(x, tr)
		v.checkCeremony(x, p, tr)
		v.checkProof(ctx, x, subj, tr)
		v.checkRevoked(ctx, x, p)
		checkLeaf(x, b.Leaf, subj, tr, signer)
	}

	if cpErr != nil {
		x.fail(CheckCheckpoint, cpErr)
		x.skip(CheckWitnesses, "needs a verified checkpoint")
		x.skip(CheckInclusion, "needs a verified checkpoint")
	} else {
		x.pass(CheckCheckpoint, fmt.Sprintf("log %s, size %d", cc.Checkpoint.Origin, cc.Checkpoint.Size))
		v.checkWitnesses(x, cc)
		checkInclusion(x, b, &cc.Checkpoint)
	}

	v.checkConsistency(x, CheckConsistency, b.Checkpoint, b.Consistency, cpErr)
	if p.prior == nil {
		x.skip(CheckPrior, "no prior checkpoint given")
	} else {
		v.checkConsistency(x, CheckPrior, b.Checkpoint, &bundle.Consistency{Checkpoint: p.prior, Hashes: p.priorProof}, cpErr)
	}
	v.checkAnchor(ctx, x, b, p, x.r.Checkpoint)

	if len(x.errs) > 0 {
		return x.r, fmt.Errorf("%w: %w", ErrFailed, errors.Join(x.errs...))
	}
	return x.r, nil
}

// checkKey applies the trust root's validity window and revocation to the
// key that signed. A revoked key is presumed compromised, so its own
// issued_at is not enough: a witness quorum must have seen the checkpoint
// before the revocation date.
func (v *Verifier) checkKey(x *run, signer *keys.Verifier, issued time.Time, cc *CheckedCheckpoint, witnessed bool) {
	k, ok := v.root.RegistryKey(signer.KeyID())
	if !ok {
		x.fail(CheckKeyValidity, fmt.Errorf("key %s not in trust root", signer.KeyID()))
		return
	}
	switch {
	case issued.Before(k.NotBefore):
		x.fail(CheckKeyValidity, fmt.Errorf("issued %s, before key %s became valid at %s", ts(issued), k.Key.KeyID(), ts(k.NotBefore)))
	case !k.NotAfter.IsZero() && !issued.Before(k.NotAfter):
		x.fail(CheckKeyValidity, fmt.Errorf("issued %s, after key %s expired at %s", ts(issued), k.Key.KeyID(), ts(k.NotAfter)))
	case issued.After(v.now().Add(clockSkew)):
		x.fail(CheckKeyValidity, fmt.Errorf("issued %s, in the future", ts(issued)))
	case witnessed && issued.After(cc.WitnessedAt.Add(clockSkew)):
		x.fail(CheckKeyValidity, fmt.Errorf("issued %s, after its checkpoint was witnessed at %s", ts(issued), ts(cc.WitnessedAt)))
	case !k.RevokedAt.IsZero() && !issued.Before(k.RevokedAt):
		x.fail(CheckKeyValidity, fmt.Errorf("issued %s, after key %s was revoked at %s (%s)", ts(issued), k.Key.KeyID(), ts(k.RevokedAt), k.RevocationReason))
	case !k.RevokedAt.IsZero() && !witnessed:
		x.fail(CheckKeyValidity, fmt.Errorf("key %s was revoked at %s and no witness quorum dates this attestation before that", k.Key.KeyID(), ts(k.RevokedAt)))
	case !k.RevokedAt.IsZero() && !cc.WitnessedAt.Before(k.RevokedAt):
		x.fail(CheckKeyValidity, fmt.Errorf("key %s was revoked at %s; checkpoint first witnessed at %s", k.Key.KeyID(), ts(k.RevokedAt), ts(cc.WitnessedAt)))
	default:
		x.pass(CheckKeyValidity, fmt.Sprintf("issued %s within key %s validity", ts(issued), k.Key.KeyID()))
	}
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func checkSubject(x *run, p Policy, subj statement.Subject) {
	switch {
	case p.noModel:
		x.skip(CheckSubject, "skipped by WithoutModelUnsafe")
	case subj.SHA256 != p.modelSHA256:
		x.fail(CheckSubject, fmt.Errorf("attestation is for sha256:%s, model is sha256:%s", subj.SHA256, p.modelSHA256))
	default:
		x.pass(CheckSubject, "sha256:"+subj.SHA256)
	}
}

func checkProvider(x *run, p Policy, tr *statement.Training) {
	switch {
	case p.provider == "":
		x.skip(CheckProvider, "no provider required by the policy; attestation names "+tr.Provider)
	case tr.Provider != p.provider:
		x.fail(CheckProvider, fmt.Errorf("attestation names %q, expected %q", tr.Provider, p.provider))
	default:
		x.pass(CheckProvider, tr.Provider)
	}
}

func (v *Verifier) checkCircuit(x *run, tr *statement.Training) {
	if len(v.root.Circuits) == 0 {
		x.skip(CheckVerifyingKey, "trust root pins no circuits")
		return
	}
	for _, name := range []string{"chunk", "final"} {
		c := tr.Proof.Circuits()[name]
		if err := pinned(v.root.VKPins(), name, c.ID, c.VerifyingKeySHA256); err != nil {
			x.fail(CheckVerifyingKey, err)
			return
		}
	}
	x.pass(CheckVerifyingKey, fmt.Sprintf("chunk %s, final %s", tr.Proof.Chunk.ID, tr.Proof.Final.ID))
}

func (v *Verifier) checkTrustRoot(x *run) {
	r := v.root
	if err := r.Check(v.now()); err != nil {
		x.fail(CheckTrustRoot, err)
		return
	}
	x.pass(CheckTrustRoot, fmt.Sprintf("version %d, expires %s, sha256:%s", r.Version, r.Expires.UTC().Format(time.RFC3339), r.Fingerprint()))
}

// checkCeremony reports where the pinned keys of the attestation's circuits came from: a
// multi-party ceremony (sound if one contributor of each phase was honest), or a single
// party who could forge proofs.
func (v *Verifier) checkCeremony(x *run, p Policy, tr *statement.Training) {
	var parts []string
	seen := map[string]bool{}
	for _, name := range []string{"chunk", "final"} {
		id := tr.Proof.Circuits()[name].ID
		pin, ok := v.root.Circuits[id]
		switch {
		case !ok:
			x.skip(CheckCeremony, fmt.Sprintf("%s circuit %s is not pinned", name, id))
			return
		case pin.Ceremony == nil && p.singleParty:
			x.skip(CheckCeremony, "single-party setup: the registry could forge this proof (accepted by policy)")
			return
		case pin.Ceremony == nil:
			x.fail(CheckCeremony, fmt.Errorf("single-party setup: the registry could forge this proof (%s circuit)", name))
			return
		}
		c := pin.Ceremony
		if seen[c.TranscriptSHA256] { // both circuits of a shape share one transcript
			continue
		}
		seen[c.TranscriptSHA256] = true
		parts = append(parts, fmt.Sprintf("%d contributions (phase 1 %s; phase 2 %s), transcript sha256:%s", c.Contributions(),
			strings.Join(c.Phase1Contributors, ", "), strings.Join(c.Phase2Contributors, ", "), c.TranscriptSHA256))
	}
	x.pass(CheckCeremony, strings.Join(parts, "; "))
}

// checkRevoked looks for a revocation of this envelope among those given.
// A revocation counts only when a registry key signed it and that key had
// not itself been revoked before the revocation's date.
func (v *Verifier) checkRevoked(ctx context.Context, x *run, p Policy) {
	if !p.revocationsGiven {
		x.skip(CheckRevocation, "no revocation list given")
		return
	}
	if rev, ignored := v.revokedBy(ctx, x.r.EnvelopeDigest, p.revocations); rev != nil {
		x.fail(CheckRevocation, fmt.Errorf("revoked at %s: %s", ts(rev.RevokedAt), rev.Reason))
	} else {
		x.pass(CheckRevocation, fmt.Sprintf("%d revocations checked, %d without a valid registry signature ignored", len(p.revocations)-ignored, ignored))
	}
}

// revokedBy returns the first of revocations that validly revokes the envelope of digest:
// signed by a registry key of the trust root that was not revoked before it; ignored counts
// those that are not valid revocations at all.
func (v *Verifier) revokedBy(ctx context.Context, digest [32]byte, revocations []*dsse.Envelope) (rev *statement.Revocation, ignored int) {
	for _, env := range revocations {
		signers, payload, err := envelope.Verify(ctx, env, v.registry...)
		if err != nil {
			ignored++
			continue
		}
		target, r, err := statement.ParseRevocation(payload)
		if err != nil {
			ignored++
			continue
		}
		k, _ := v.root.RegistryKey(signers[0].KeyID())
		if !k.RevokedAt.IsZero() && !r.RevokedAt.Before(k.RevokedAt) {
			ignored++
			continue
		}
		if target == digest {
			return r, ignored
		}
	}
	return nil, ignored
}

// ErrNotRevocation reports a revocation that does not revoke the attestation it is given for.
var ErrNotRevocation = errors.New("not a valid revocation of this attestation")

// Revocation checks that revocation validly revokes the attestation env (an evaluation's,
// say, whose revocation the registry serves beside it) and returns what it says.
func (v *Verifier) Revocation(ctx context.Context, env, revocation *dsse.Envelope) (*statement.Revocation, error) {
	digest, err := envelope.Digest(env)
	if err != nil {
		return nil, err
	}
	if rev, _ := v.revokedBy(ctx, digest, []*dsse.Envelope{revocation}); rev != nil {
		return rev, nil
	}
	return nil, ErrNotRevocation
}

func checkLeaf(x *run, got []byte, subj statement.Subject, tr *statement.Training, signer *keys.Verifier) {
	want, err := leaf.Training(x.r.EnvelopeDigest, subj, tr, signer)
	switch {
	case err != nil:
		x.fail(CheckLeaf, err)
	case !bytes.Equal(want.Marshal(), got):
		x.fail(CheckLeaf, errors.New("the bundle's leaf is not the leaf of its envelope"))
	default:
		x.pass(CheckLeaf, "recomputed from envelope")
	}
}

func (v *Verifier) checkWitnesses(x *run, cc *CheckedCheckpoint) {
	q := v.root.WitnessQuorum
	switch {
	case q == 0:
		x.skip(CheckWitnesses, "trust root requires no witnesses")
	case !cc.QuorumMet:
		x.fail(CheckWitnesses, fmt.Errorf("%d of %d required witness cosignatures", len(cc.Cosigners), q))
	default:
		x.pass(CheckWitnesses, fmt.Sprintf("%d of %d required (%v), witnessed by %s", len(cc.Cosigners), q, cc.Cosigners, ts(cc.WitnessedAt)))
	}
}

func checkInclusion(x *run, b *bundle.Bundle, cp *f_log.Checkpoint) {
	if b.Inclusion.TreeSize != cp.Size {
		x.fail(CheckInclusion, fmt.Errorf("proof is for tree size %d, checkpoint has %d", b.Inclusion.TreeSize, cp.Size))
		return
	}
	err := proof.VerifyInclusion(rfc6962.DefaultHasher, b.Index, cp.Size, rfc6962.DefaultHasher.HashLeaf(b.Leaf), b.Inclusion.Hashes, cp.Hash)
	if err != nil {
		x.fail(CheckInclusion, fmt.Errorf("index %d at size %d: %w", b.Index, cp.Size, err))
		return
	}
	x.pass(CheckInclusion, fmt.Sprintf("index %d in tree of size %d", b.Index, cp.Size))
}

func (v *Verifier) checkConsistency(x *run, name string, cp []byte, c *bundle.Consistency, cpErr error) {
	switch {
	case c == nil:
		x.skip(name, "no consistency proof in bundle")
	case cpErr != nil:
		x.skip(name, "needs a verified checkpoint")
	default:
		err := v.VerifyConsistency(cp, c.Checkpoint, c.Hashes)
		var sv *SplitView
		if errors.As(err, &sv) {
			x.r.Evidence = append(x.r.Evidence, sv)
		}
		if err != nil {
			x.fail(name, err)
			return
		}
		x.pass(name, "checkpoints are consistent")
	}
}

// CheckedCheckpoint is a checkpoint whose log signature verified, with the
// witnesses that cosigned it.
type CheckedCheckpoint struct {
	Checkpoint f_log.Checkpoint
	Cosigners  []string // names of trusted witnesses with a valid cosignature
	QuorumMet  bool
	// WitnessedAt is the time by which a quorum had cosigned: the
	// quorum-th earliest cosignature timestamp. Zero unless QuorumMet.
	WitnessedAt time.Time
}

// VerifyCheckpoint checks the log's signature and origin on a raw
// checkpoint and counts valid witness cosignatures. A missing quorum is not
// an error here; see CheckedCheckpoint.QuorumMet.
func (v *Verifier) VerifyCheckpoint(raw []byte) (*CheckedCheckpoint, error) {
	// The log's current key first; a key it used before still vouches for the checkpoints
	// it signed then.
	var cp *f_log.Checkpoint
	var err error
	for _, k := range v.root.LogKeys {
		if cp, _, _, err = f_log.ParseCheckpoint(raw, v.root.LogOrigin, k); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	cc := &CheckedCheckpoint{Checkpoint: *cp}
	var times []time.Time
	// One witness at a time: note.Open rejects the whole note when any
	// signature by a known key is bad, and one bad cosignature must not hide
	// the good ones.
	for _, w := range v.root.Witnesses {
		n, err := note.Open(raw, note.VerifierList(w.Verifier))
		if err != nil {
			continue
		}
		t, err := f_note.CoSigV1Timestamp(n.Sigs[0])
		if err != nil {
			continue
		}
		cc.Cosigners = append(cc.Cosigners, w.Verifier.Name())
		times = append(times, t)
	}
	if q := v.root.WitnessQuorum; q > 0 && len(times) >= q {
		slices.SortFunc(times, time.Time.Compare)
		cc.QuorumMet, cc.WitnessedAt = true, times[q-1]
	}
	return cc, nil
}

// VerifyConsistency checks that two checkpoints of the trusted log describe
// one history, given the consistency proof from the smaller to the larger
// (in either argument order). When both are validly signed but disagree it
// returns a *SplitView holding them as evidence.
func (v *Verifier) VerifyConsistency(a, b []byte, consistency [][]byte) error {
	ca, err := v.VerifyCheckpoint(a)
	if err != nil {
		return err
	}
	cb, err := v.VerifyCheckpoint(b)
	if err != nil {
		return err
	}
	if ca.Checkpoint.Size > cb.Checkpoint.Size {
		a, b, ca, cb = b, a, cb, ca
	}
	s1, s2 := ca.Checkpoint.Size, cb.Checkpoint.Size
	if s1 == s2 {
		if !bytes.Equal(ca.Checkpoint.Hash, cb.Checkpoint.Hash) {
			return &SplitView{Smaller: a, Larger: b, Proof: consistency, Conclusive: true,
				Reason: fmt.Sprintf("two checkpoints of size %d with different roots", s1)}
		}
		return nil
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, s1, s2, consistency, ca.Checkpoint.Hash, cb.Checkpoint.Hash); err != nil {
		return &SplitView{Smaller: a, Larger: b, Proof: consistency,
			Reason: fmt.Sprintf("consistency proof from size %d to %d does not hold: %v", s1, s2, err)}
	}
	return nil
}

func isLowerHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
