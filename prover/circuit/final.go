package circuit

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/rangecheck"

	"github.com/comet-attest/comet/prover/circuit/sponge"
)

// GapBits is the width of the two range checks in the final circuit: tau − G_j and tau + G_j
// must both lie in [0, 2^GapBits). CheckBounds keeps tau and every |G_j| below 2^(GapBits−1),
// and 2^GapBits is far below r/2, so the checks hold exactly when |G_j| ≤ tau (docs/proof.md).
const GapBits = 252

// Final opens the last chunk's accumulator Acc = H(TAG_ACC; Blind, S) and proves that the
// gradient G = S + ΛW (no Λ term on the intercept) has |G_j| ≤ Tau for every j.
type Final struct {
	Acc     frontend.Variable   `gnark:",public"`
	Weights []frontend.Variable `gnark:",public"`
	Lambda  frontend.Variable   `gnark:",public"`
	Tau     frontend.Variable   `gnark:",public"`

	Sum         []frontend.Variable
	Blind       frontend.Variable
	CommitBlind frontend.Variable

	shape Shape
}

// NewFinal returns the final circuit of shape s with its slices sized, for compiling.
func NewFinal(s Shape) *Final {
	return &Final{
		Weights: make([]frontend.Variable, s.Columns()),
		Sum:     make([]frontend.Variable, s.Columns()),
		shape:   s,
	}
}

// Define builds the constraints.
func (c *Final) Define(api frontend.API) error {
	s := c.shape
	if len(c.Weights) != s.Columns() || len(c.Sum) != s.Columns() {
		return fmt.Errorf("%w: final witness does not match shape %s", ErrShape, s)
	}
	hash, err := sponge.New(api)
	if err != nil {
		return err
	}
	acc, err := accumulate(api, hash, c.Blind, c.Sum)
	if err != nil {
		return err
	}
	api.AssertIsEqual(acc, c.Acc)
	// rangecheck commits in a deferred call; creating it first orders that call before the
	// shared commitment is taken.
	rc := rangecheck.New(api)
	hideCommitment(api, c.CommitBlind)
	for j := range s.Columns() {
		g := c.Sum[j]
		if j < s.Features {
			g = api.Add(g, api.Mul(c.Lambda, c.Weights[j]))
		}
		rc.Check(api.Sub(c.Tau, g), GapBits)
		rc.Check(api.Add(c.Tau, g), GapBits)
	}
	return nil
}

// FinalInput is what the final proof needs: the last accumulator and the public values.
type FinalInput struct {
	Acc     Accumulator
	Weights []*big.Int
	Lambda  *big.Int
	Tau     *big.Int
}

// AssignFinal builds the final circuit's assignment.
func (s Shape) AssignFinal(in FinalInput) (_ *Final, err error) {
	if len(in.Weights) != s.Columns() || len(in.Acc.Sum) != s.Columns() {
		return nil, fmt.Errorf("%w: %d weights and %d sums, want %d", ErrWitness, len(in.Weights), len(in.Acc.Sum), s.Columns())
	}
	a := NewFinal(s)
	a.Acc = in.Acc.Commitment()
	for j := range in.Weights {
		a.Weights[j] = new(big.Int).Set(in.Weights[j])
		a.Sum[j] = in.Acc.Sum[j]
	}
	a.Lambda = new(big.Int).Set(in.Lambda)
	a.Tau = new(big.Int).Set(in.Tau)
	a.Blind = in.Acc.Blind
	if a.CommitBlind, err = NewBlinding(); err != nil {
		return nil, err
	}
	return a, nil
}

// Gradient is G = S + ΛW (no Λ term on the intercept) as signed integers: what the final
// circuit bounds by tau. The prover uses it to refuse a tau the data cannot meet before
// spending any proving time.
func (s Shape) Gradient(sum []fr.Element, weights []*big.Int, lambda *big.Int) []*big.Int {
	out := make([]*big.Int, len(sum))
	half := new(big.Int).Rsh(fr.Modulus(), 1)
	for j := range sum {
		g := sum[j].BigInt(new(big.Int))
		if g.Cmp(half) > 0 {
			g.Sub(g, fr.Modulus())
		}
		if j < s.Features {
			g.Add(g, new(big.Int).Mul(lambda, weights[j]))
		}
		out[j] = g
	}
	return out
}
