package keyset

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
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

// Precheck decodes the parts and checks that they name each other and a published circuit;
// problems are *service.InvalidError naming the part.
func (c *Checker) Precheck(sub service.Submission) (service.Claim, error) {
	p, err := c.parse(sub)
	if err != nil {
		return service.Claim{}, err
	}
	return c.claim(p)
}

func (c *Checker) parse(sub service.Submission) (*parsed, error) {
	m, err := model.Unmarshal(sub.Model)
	if err != nil {
		return nil, &service.InvalidError{Field: "model", Err: err}
	}
	man, err := commitment.ParseManifest(sub.Manifest)
	if err != nil {
		return nil, &service.InvalidError{Field: "manifest", Err: err}
	}
	b, err := proof.ParseBundle(sub.Proof)
	if err != nil {
		return nil, &service.InvalidError{Field: "proof", Err: err}
	}
	switch {
	case m.DatasetCommitment != man.Commitment.String():
		return nil, &service.InvalidError{Field: "model", Err: fmt.Errorf("model was trained on dataset %s, the manifest commits to %s", m.DatasetCommitment, man.Commitment)}
	case b.ModelSHA256 != m.SHA256:
		return nil, &service.InvalidError{Field: "proof", Err: fmt.Errorf("proof is for model %s, not this model (%s)", b.ModelSHA256, m.SHA256)}
	case b.DatasetCommitment != man.Commitment:
		return nil, &service.InvalidError{Field: "proof", Err: fmt.Errorf("proof is for dataset %s, the manifest commits to %s", b.DatasetCommitment, man.Commitment)}
	}
	for name, id := range b.Circuits {
		pub, ok := c.set.byID[id.ID]
		if !ok || pub.Circuit != name || pub.shape != b.Shape {
			return nil, &service.InvalidError{Field: "proof", Err: fmt.Errorf("%s circuit %s (shape %s) is not published by this registry", name, id.ID, b.Shape)}
		}
		if pub.VKSHA256 != id.VKSHA256 {
			return nil, &service.InvalidError{Field: "proof", Err: fmt.Errorf("%s circuit %s: verifying key %s is not the published %s", name, id.ID, id.VKSHA256, pub.VKSHA256)}
		}
	}
	return &parsed{model: m, manifest: man, bundle: b}, nil
}

func (c *Checker) claim(p *parsed) (service.Claim, error) {
	final, ok := p.bundle.Circuits[string(circuit.FinalCircuit)]
	if !ok {
		return service.Claim{}, &service.InvalidError{Field: "proof", Err: errors.New("no final circuit")}
	}
	tau, err := fixedDecimal(p.bundle.Tau.Int, 3*p.bundle.Shape.FractionBits)
	if err != nil {
		return service.Claim{}, &service.InvalidError{Field: "proof", Err: err}
	}
	return service.Claim{
		Model: statement.Model{
			Kind:      p.model.Kind,
			Lambda:    strconv.FormatFloat(p.model.Lambda, 'f', -1, 64),
			Intercept: p.model.FitIntercept,
			Tau:       tau,
		},
		// The final circuit is the one that states the optimality claim; the trust root pins
		// every published circuit, chunk circuits included.
		Proof:             statement.Proof{CircuitID: final.ID, VerifyingKeySHA256: final.VKSHA256},
		DatasetCommitment: p.manifest.Commitment.String(),
	}, nil
}

// fixedDecimal writes v·2^-bits as an exact decimal (every dyadic fraction has one).
func fixedDecimal(v *big.Int, bits int) (string, error) {
	if v == nil || v.Sign() < 0 {
		return "", errors.New("tau must be a non-negative integer")
	}
	r := new(big.Rat).SetFrac(v, new(big.Int).Lsh(big.NewInt(1), uint(bits)))
	s := r.FloatString(bits)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s, nil
}

// Verify checks the proof bundle with prover/proof against the published verifying keys of
// the shape it names. A failed check is a *service.CheckError naming it.
func (c *Checker) Verify(ctx context.Context, sub service.Submission) (service.Claim, error) {
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
	rep, err := proof.Verify(ctx, p.bundle, p.model, p.manifest, keys)
	if err != nil {
		if ctx.Err() != nil {
			return service.Claim{}, err
		}
		check := "proof"
		if failed := rep.Failed(); len(failed) > 0 {
			check = failed[0]
		}
		return service.Claim{}, &service.CheckError{Check: check, Err: err}
	}
	return c.claim(p)
}
