package proof

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
)

// ErrStatement means the manifest, the model and the requested tau do not make a statement
// that can be proven: they disagree with each other, or the bounds could wrap.
var ErrStatement = errors.New("cannot state the claim")

// statement is the public claim: the shape, the dataset, the model's integers and tau.
type statement struct {
	shape   circuit.Shape
	header  commitment.Header
	chunks  []fr.Element
	weights []*big.Int
	lambda  *big.Int
	tau     *big.Int
	// boundBits is the bit length of CheckBounds' bound on |G|.
	boundBits int
}

// newStatement derives the claim from a manifest and a model and runs the bound check, the
// one place where parameters that could wrap are refused. tau nil means the model's own
// optimality_residual.
func newStatement(man *commitment.Manifest, m *model.Model, tau *big.Int) (*statement, error) {
	if err := man.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	if err := m.Verify(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	switch {
	case m.DatasetCommitment != man.Commitment.String():
		return nil, fmt.Errorf("%w: the model was trained on dataset %s, the manifest commits to %s", ErrStatement, m.DatasetCommitment, man.Commitment)
	case m.FractionBits != man.FractionBits || m.ValueBits != man.ValueBits:
		return nil, fmt.Errorf("%w: model format f=%d b=%d, manifest f=%d b=%d", ErrStatement, m.FractionBits, m.ValueBits, man.FractionBits, man.ValueBits)
	case len(m.Features) != man.D:
		return nil, fmt.Errorf("%w: model has %d features, the dataset %d", ErrStatement, len(m.Features), man.D)
	}
	for j := range m.Features {
		if m.Features[j] != man.Features[j] {
			return nil, fmt.Errorf("%w: feature %d is %q in the model and %q in the manifest", ErrStatement, j, m.Features[j], man.Features[j])
		}
	}
	if m.Label != man.Label {
		return nil, fmt.Errorf("%w: label %q in the model, %q in the manifest", ErrStatement, m.Label, man.Label)
	}
	w, intercept, err := m.FixedWeights()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	if intercept != nil {
		w = append(w, intercept)
	}
	lambda, ok := new(big.Int).SetString(m.LambdaFixed, 10)
	if !ok {
		return nil, fmt.Errorf("%w: lambda_fixed %q", ErrStatement, m.LambdaFixed)
	}
	if tau == nil {
		if tau, ok = new(big.Int).SetString(m.OptimalityResidual, 10); !ok {
			return nil, fmt.Errorf("%w: optimality_residual %q", ErrStatement, m.OptimalityResidual)
		}
	}
	st := &statement{shape: circuit.ShapeOf(man.Header, m.FitIntercept), header: man.Header, weights: w, lambda: lambda, tau: tau}
	for i, d := range man.ChunkCommitments {
		e, err := d.Element()
		if err != nil {
			return nil, fmt.Errorf("%w: chunk %d: %w", ErrStatement, i, err)
		}
		st.chunks = append(st.chunks, e)
	}
	st.boundBits, err = circuit.CheckBounds(circuit.Statement{Shape: st.shape, N: man.N, Weights: w, Lambda: lambda, Tau: tau})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	return st, nil
}

// chunkPublic is chunk i's public input vector, in the circuit's field order.
func (st *statement) chunkPublic(i int, accIn, accOut fr.Element) []fr.Element {
	out := []fr.Element{st.chunks[i], fr.NewElement(uint64(i)), fr.NewElement(uint64(st.header.ChunkLen(i)))}
	out = append(out, st.weightElements()...)
	return append(out, accIn, accOut)
}

// finalPublic is the final circuit's public input vector.
func (st *statement) finalPublic(acc fr.Element) []fr.Element {
	out := append([]fr.Element{acc}, st.weightElements()...)
	var l, t fr.Element
	l.SetBigInt(st.lambda)
	t.SetBigInt(st.tau)
	return append(out, l, t)
}

func (st *statement) weightElements() []fr.Element {
	out := make([]fr.Element, len(st.weights))
	for j, w := range st.weights {
		out[j].SetBigInt(w)
	}
	return out
}
