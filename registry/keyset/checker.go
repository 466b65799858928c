package keyset

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/comet-attest/comet/attest/verify"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/featurize"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/registry/service"
)

// Checker checks submissions against the published key set; it implements
// service.ProofChecker.
type Checker struct{ set *Set }

// NewChecker returns the checker of set.
func NewChecker(set *Set) *Checker { return &Checker{set: set} }

// parsed is a submission's three parts, decoded.
type parsed struct {
	model    *model.Model
	manifest *commitment.Manifest
	bundle   *proof.Bundle
}

// Precheck decodes the proof bundle and checks that the parts name each other, the
// submitting provider and a published circuit; problems are *service.InvalidError naming
// the part.
func (c *Checker) Precheck(sub service.Parts) (service.Claim, error) {
	p, err := c.parse(sub)
	if err != nil {
		return service.Claim{}, err
	}
	file, err := p.bundle.Marshal()
	if err != nil {
		return service.Claim{}, &service.InvalidError{Field: "proof", Err: err}
	}
	return service.Claim{DatasetCommitment: p.manifest.Commitment.String(), ProofFile: file}, nil
}

func (c *Checker) parse(sub service.Parts) (*parsed, error) {
	m, man := sub.Model, sub.Manifest
	b, err := proof.ParseBundle(sub.Proof)
	if err != nil {
		return nil, &service.InvalidError{Field: "proof", Err: err}
	}
	switch {
	case m.DatasetCommitment != man.Commitment.String():
		return nil, &service.InvalidError{Field: "model", Err: fmt.Errorf("model was trained on dataset %s, the manifest commits to %s", m.DatasetCommitment, man.Commitment)}
	case b.ModelSHA256 != m.SHA256:
		return nil, &service.InvalidError{Field: "proof", Err: fmt.Errorf("proof is for model %s, not this model (%s)", b.ModelSHA256, m.SHA256)}
	case b.Provider != sub.ProviderID:
		return nil, &service.InvalidError{Field: "proof", Err: fmt.Errorf("proof was made for provider %q, not for %q: prove again with --provider %s", b.Provider, sub.ProviderID, sub.ProviderID)}
	case b.DatasetCommitment != man.Commitment:
		return nil, &service.InvalidError{Field: "proof", Err: fmt.Errorf("proof is for dataset %s, the manifest commits to %s", b.DatasetCommitment, man.Commitment)}
	}
	if err := checkFeaturizer(man); err != nil {
		return nil, &service.InvalidError{Field: "manifest", Err: err}
	}
	if err := c.published(b.Circuits, b.Shape); err != nil {
		return nil, &service.InvalidError{Field: "proof", Err: err}
	}
	return &parsed{model: m, manifest: man, bundle: b}, nil
}

// published requires every circuit a bundle names to be one this registry publishes, for
// the bundle's shape, with the published verifying key.
func (c *Checker) published(circuits map[string]proof.CircuitID, shape circuit.Keyed) error {
	for name, id := range circuits {
		pub, ok := c.set.circuit(id.ID)
		if !ok || pub.Circuit != name || pub.shape != shape {
			return fmt.Errorf("%s circuit %s (shape %s) is not published by this registry", name, id.ID, shape)
		}
		if pub.VKSHA256 != id.VKSHA256 {
			return fmt.Errorf("%s circuit %s: verifying key %s is not the published %s", name, id.ID, id.VKSHA256, pub.VKSHA256)
		}
	}
	return nil
}

// checkFeaturizer checks a manifest's featurizer record before the registry signs it: its spec
// digest must be the digest of its name, version and parameters, and when this build
// implements that featurizer, the committed features must be the ones it makes.
func checkFeaturizer(man *commitment.Manifest) error {
	fz := man.Featurizer
	if fz == nil {
		return nil
	}
	spec := featurize.Spec{Name: fz.Name, Version: fz.Version, Params: fz.Params}
	id, err := spec.ID()
	if err != nil {
		return fmt.Errorf("featurizer: %w", err)
	}
	if id != fz.SpecSHA256 {
		return fmt.Errorf("featurizer: spec_sha256 %s is not the digest of %s %s and its parameters (%s)", fz.SpecSHA256, fz.Name, fz.Version, id)
	}
	f, err := featurize.FromSpec(spec)
	if err != nil {
		return nil // a featurizer this build does not implement: its spec digest is all it can check
	}
	if names := f.Names(); !slices.Equal(names, man.Features) {
		return fmt.Errorf("featurizer: %s %s makes the features %v, the manifest commits to %v", fz.Name, fz.Version, names, man.Features)
	}
	return nil
}

// checkFailure turns a failed verification into a *service.CheckError naming the failed
// check, with its reason once (the verifier's error repeats the check's name after its own
// sentinel); a cancelled context stays an error of the registry, retried.
func checkFailure(ctx context.Context, rep *proof.Report, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	if c := rep.Failure(); c != nil {
		return &service.CheckError{Check: c.Name, Err: errors.New(c.Detail)}
	}
	return &service.CheckError{Check: "proof", Err: err}
}

// Verify checks the proof bundle with prover/proof against the published verifying keys of
// the shape it names, bound to the submitting provider, and returns the predicate the proof
// states. A failed check is a *service.CheckError naming it.
func (c *Checker) Verify(ctx context.Context, sub service.Parts) (service.Claim, error) {
	p, err := c.parse(sub)
	if err != nil {
		var inv *service.InvalidError
		if errors.As(err, &inv) {
			return service.Claim{}, &service.CheckError{Check: inv.Field, Err: inv.Err}
		}
		return service.Claim{}, err
	}
	keys, err := c.set.verifyingKeys(ctx, p.bundle.Shape)
	if errors.Is(err, setup.ErrNotFound) || errors.Is(err, setup.ErrMismatch) {
		return service.Claim{}, &service.CheckError{Check: "circuit published", Err: err}
	}
	if err != nil {
		return service.Claim{}, err
	}
	rep, err := proof.Verify(ctx, p.bundle, proof.Inputs{Model: p.model, Manifest: p.manifest, Provider: sub.ProviderID}, keys)
	if err := checkFailure(ctx, rep, err); err != nil {
		return service.Claim{}, err
	}
	pc := rep.Claim()
	return service.Claim{
		Training:          verify.TrainingClaim(pc, p.manifest),
		RelativeGradient:  pc.Guarantee.RelativeGradient,
		DatasetCommitment: p.manifest.Commitment.String(),
	}, nil
}

// PrecheckEvaluation decodes the evaluation bundle and checks that it names the model, the
// test manifest, the submitting account and published evaluation circuits; problems are
// *service.InvalidError naming the part. It implements service.EvaluationChecker.
func (c *Checker) PrecheckEvaluation(p service.EvalParts) (service.EvalClaim, error) {
	b, err := c.parseEvaluation(p)
	if err != nil {
		return service.EvalClaim{}, err
	}
	file, err := b.Marshal()
	if err != nil {
		return service.EvalClaim{}, &service.InvalidError{Field: "proof", Err: err}
	}
	return service.EvalClaim{BundleFile: file}, nil
}

func (c *Checker) parseEvaluation(p service.EvalParts) (*proof.EvalBundle, error) {
	b, err := proof.ParseEvalBundle(p.Bundle)
	if err != nil {
		return nil, &service.InvalidError{Field: "proof", Err: err}
	}
	switch {
	case b.ModelSHA256 != p.Model.SHA256:
		return nil, &service.InvalidError{Field: "proof", Err: fmt.Errorf("evaluation is of model %s, not of model %s", b.ModelSHA256, p.Model.SHA256)}
	case b.Evaluator != p.EvaluatorID:
		return nil, &service.InvalidError{Field: "proof", Err: fmt.Errorf("evaluation was made for %q, not for %q: evaluate again with --evaluator %s", b.Evaluator, p.EvaluatorID, p.EvaluatorID)}
	case b.DatasetCommitment != p.Manifest.Commitment:
		return nil, &service.InvalidError{Field: "proof", Err: fmt.Errorf("evaluation is on test set %s, the manifest commits to %s", b.DatasetCommitment, p.Manifest.Commitment)}
	}
	if err := checkFeaturizer(p.Manifest); err != nil {
		return nil, &service.InvalidError{Field: "manifest", Err: err}
	}
	if err := c.published(b.Circuits, b.Shape); err != nil {
		return nil, &service.InvalidError{Field: "proof", Err: err}
	}
	return b, nil
}

// VerifyEvaluation checks the evaluation bundle with prover/proof against the published
// verifying keys of the evaluation shape it names, bound to the model, the test manifest
// and the submitting account, and returns the predicate it states. A failed check is a
// *service.CheckError naming it.
func (c *Checker) VerifyEvaluation(ctx context.Context, p service.EvalParts) (service.EvalClaim, error) {
	b, err := c.parseEvaluation(p)
	if err != nil {
		var inv *service.InvalidError
		if errors.As(err, &inv) {
			return service.EvalClaim{}, &service.CheckError{Check: inv.Field, Err: inv.Err}
		}
		return service.EvalClaim{}, err
	}
	keys, err := c.set.verifyingKeys(ctx, b.Shape)
	if errors.Is(err, setup.ErrNotFound) || errors.Is(err, setup.ErrMismatch) {
		return service.EvalClaim{}, &service.CheckError{Check: "circuit published", Err: err}
	}
	if err != nil {
		return service.EvalClaim{}, err
	}
	rep, err := proof.VerifyEvaluation(ctx, b, proof.EvalInputs{Model: p.Model, Manifest: p.Manifest, Evaluator: p.EvaluatorID}, keys)
	if err := checkFailure(ctx, rep, err); err != nil {
		return service.EvalClaim{}, err
	}
	return service.EvalClaim{Evaluation: verify.EvaluationClaim(b, p.Manifest)}, nil
}
