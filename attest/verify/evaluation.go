package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/leaf"
	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/setup"
)

// ErrEvaluation reports an evaluation attestation that does not verify.
var ErrEvaluation = errors.New("evaluation does not verify")

// EvaluationFiles is an evaluation attestation as a client holds it: the envelope the
// registry signed, the evaluation bundle, the test set's manifest and the evaluated model
// file. Keys loads an evaluation shape's verifying keys from wherever the caller keeps them;
// they are used only when their hashes are the ones the trust root pins.
type EvaluationFiles struct {
	Envelope                *dsse.Envelope
	Bundle, Manifest, Model []byte
	Keys                    func(ctx context.Context, shape circuit.Keyed) (*setup.Keys, error)
	// Logged, when set, is the evaluation attestation's client bundle (the registry serves it
	// at /v1/attestations/{id}/bundle): the envelope must be in the log its checkpoint
	// signs, with the witnesses the trust root requires. Without it nothing says that the
	// registry logged what it signed.
	Logged *bundle.Bundle
}

// VerifyEvaluation checks an evaluation attestation of the model modelSHA256 as Verify
// checks a training attestation's statement and proof: the envelope is signed by a registry
// key the trust root holds, valid when the statement was issued; the statement's subject is
// the model; the evaluation proof verifies against verifying keys the trust root pins, bound
// to the model, the test manifest and the evaluator the statement names; and what it proves
// is exactly what was signed; with f.Logged, the envelope is in the log (its leaf, the
// checkpoint's signature and witnesses, the inclusion proof). It returns the signed
// statement, or an error wrapping ErrEvaluation that names the first check that failed.
func (v *Verifier) VerifyEvaluation(ctx context.Context, f EvaluationFiles, modelSHA256 string) (*statement.Evaluation, error) {
	fail := func(check string, err error) (*statement.Evaluation, error) {
		return nil, fmt.Errorf("%w: %s: %w", ErrEvaluation, check, err)
	}
	signers, payload, err := envelope.Verify(ctx, f.Envelope, v.registry...)
	if err != nil {
		return fail(CheckEnvelopeSignature, err)
	}
	subj, ev, err := statement.ParseEvaluation(payload)
	if err != nil {
		return fail(CheckStatement, err)
	}
	k, ok := v.root.RegistryKey(signers[0].KeyID())
	switch {
	case !ok:
		return fail(CheckKeyValidity, fmt.Errorf("key %s not in trust root", signers[0].KeyID()))
	case ev.IssuedAt.Before(k.NotBefore) || (!k.NotAfter.IsZero() && !ev.IssuedAt.Before(k.NotAfter)):
		return fail(CheckKeyValidity, fmt.Errorf("issued %s, outside key %s's validity", ts(ev.IssuedAt), k.Key.KeyID()))
	case !k.RevokedAt.IsZero():
		return fail(CheckKeyValidity, fmt.Errorf("key %s was revoked at %s", k.Key.KeyID(), ts(k.RevokedAt)))
	case subj.SHA256 != modelSHA256:
		return fail(CheckSubject, fmt.Errorf("the evaluation is of model %s, not %s", subj.SHA256, modelSHA256))
	}
	b, err := proof.ParseEvalBundle(f.Bundle)
	if err != nil {
		return fail(CheckProof, err)
	}
	man, err := commitment.ParseManifest(f.Manifest)
	if err != nil {
		return fail(CheckProof, err)
	}
	m, err := model.Unmarshal(f.Model)
	if err != nil {
		return fail(CheckProof, err)
	}
	pins := v.root.VKPins()
	for _, c := range b.Shape.Circuits() {
		if err := pinned(pins, string(c), b.Circuits[string(c)].ID, b.Circuits[string(c)].VKSHA256); err != nil {
			return fail(CheckVerifyingKey, err)
		}
	}
	keys, err := f.Keys(ctx, b.Shape)
	if err != nil {
		return fail(CheckProof, fmt.Errorf("verifying keys: %w", err))
	}
	for _, k := range []*setup.Circuit{&keys.Chunk, &keys.Final} {
		if err := pinned(pins, "loaded", k.ID, k.VKSHA256); err != nil {
			return fail(CheckVerifyingKey, err)
		}
	}
	if _, err := proof.VerifyEvaluation(ctx, b, proof.EvalInputs{Model: m, Manifest: man, Evaluator: ev.Evaluator}, keys); err != nil {
		return fail(CheckProof, errors.New(oneLine(err.Error())))
	}
	want := EvaluationClaim(b, man)
	got := *ev
	got.IssuedAt = want.IssuedAt
	if err := sameEvaluation(&got, &want); err != nil {
		return fail(CheckProofClaim, err)
	}
	if f.Logged != nil {
		if check, err := v.checkLogged(f.Logged, f.Envelope, subj, ev, signers[0]); err != nil {
			return fail(check, err)
		}
	}
	return ev, nil
}

// checkLogged checks that b logs env, an evaluation envelope that signer signed, and returns
// the name of the first check that failed.
func (v *Verifier) checkLogged(b *bundle.Bundle, env *dsse.Envelope, subj statement.Subject, ev *statement.Evaluation, signer *keys.Verifier) (string, error) {
	digest, err := envelope.Digest(env)
	if err != nil {
		return CheckLeaf, err
	}
	if bd, err := envelope.Digest(b.Envelope); err != nil || bd != digest {
		return CheckLeaf, errors.New("the log bundle is of another envelope")
	}
	want, err := leaf.Evaluation(digest, subj, ev, signer)
	if err != nil {
		return CheckLeaf, err
	}
	if !bytes.Equal(want.Marshal(), b.Leaf) {
		return CheckLeaf, errors.New("the bundle's leaf is not the leaf of its envelope")
	}
	cc, err := v.VerifyCheckpoint(b.Checkpoint)
	if err != nil {
		return CheckCheckpoint, err
	}
	x := &run{r: &Report{}}
	v.checkWitnesses(x, cc)
	checkInclusion(x, b, &cc.Checkpoint)
	for _, l := range x.r.Lines {
		if l.Status == Failed {
			return l.Name, errors.New(l.Detail)
		}
	}
	return "", nil
}

// sameEvaluation names the first part of the signed evaluation that the proof does not state.
func sameEvaluation(got, want *statement.Evaluation) error {
	differ := func(what string, a, b any) error {
		return fmt.Errorf("%s: the attestation says %v, the proof %v", what, a, b)
	}
	switch {
	case got.BundleSHA256 != want.BundleSHA256:
		return differ("bundle sha256", got.BundleSHA256, want.BundleSHA256)
	case got.Circuit != want.Circuit:
		return differ("circuits", got.Circuit, want.Circuit)
	case got.Evaluator != want.Evaluator:
		return differ("evaluator", got.Evaluator, want.Evaluator)
	case got.TestSet != want.TestSet:
		return differ("test set", got.TestSet, want.TestSet)
	case got.Task != want.Task:
		return differ("task", got.Task, want.Task)
	case got.Metrics != want.Metrics:
		return differ("metrics", got.Metrics, want.Metrics)
	case !sameFeaturizer(got.Featurizer, want.Featurizer):
		return differ("featurizer", got.Featurizer, want.Featurizer)
	}
	return nil
}
