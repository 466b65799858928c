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

// bindingBits is the width of each half of a binding digest: a SHA-256 digest does not fit
// one field element, so it travels as two 128-bit halves.
const bindingBits = 128

// Final opens the last chunk's accumulator Acc = H(TAG_ACC; Blind, S), proves that the
// gradient G = S + ΛW (no Λ term on the intercept) has |G_j| ≤ Tau for every j, and makes
// the training metrics S holds public: SSR = Σ e², SumY = Σ Y and SumY2 = Σ Y².
//
// Weights are the feature weights only: the intercept's weight enters the final statement
// through S alone, and the chunk proofs bind it. (A public input that no constraint uses
// binds nothing; TestPublicInputsBind checks there is none.)
//
// ModelHi/ModelLo and ProviderHi/ProviderLo are the halves of the model file's SHA-256 and of
// the provider's identity digest (Binding). They enter no arithmetic, but each is range-checked,
// so each is a wire of the constraint system: Groth16 verification then fails for any other
// value. A public input that no constraint uses would have the point at infinity as its
// verifying-key base and bind nothing.
type Final struct {
	Acc              frontend.Variable   `gnark:",public"`
	Weights          []frontend.Variable `gnark:",public"`
	Lambda           frontend.Variable   `gnark:",public"`
	Tau              frontend.Variable   `gnark:",public"`
	SSR, SumY, SumY2 frontend.Variable   `gnark:",public"`
	ModelHi, ModelLo frontend.Variable   `gnark:",public"`
	ProviderHi       frontend.Variable   `gnark:",public"`
	ProviderLo       frontend.Variable   `gnark:",public"`

	Sum   []frontend.Variable
	Blind frontend.Variable

	shape Shape
}

// NewFinal returns the final circuit of shape s with its slices sized, for compiling.
func NewFinal(s Shape) *Final {
	return &Final{
		Weights: make([]frontend.Variable, s.Features),
		Sum:     make([]frontend.Variable, s.SumLen()),
		shape:   s,
	}
}

// Define builds the constraints.
func (c *Final) Define(api frontend.API) error {
	s := c.shape
	cols := s.Columns()
	if len(c.Weights) != s.Features || len(c.Sum) != s.SumLen() {
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
	api.AssertIsEqual(c.Sum[cols], c.SSR)
	api.AssertIsEqual(c.Sum[cols+1], c.SumY)
	api.AssertIsEqual(c.Sum[cols+2], c.SumY2)
	rc := rangecheck.New(api)
	for j := range cols {
		g := c.Sum[j]
		if j < s.Features {
			g = api.Add(g, api.Mul(c.Lambda, c.Weights[j]))
		}
		rc.Check(api.Sub(c.Tau, g), GapBits)
		rc.Check(api.Add(c.Tau, g), GapBits)
	}
	for _, half := range []frontend.Variable{c.ModelHi, c.ModelLo, c.ProviderHi, c.ProviderLo} {
		rc.Check(half, bindingBits)
	}
	return nil
}

// Binding is what the final proof is bound to besides the statement: the model file's
// SHA-256 (the attestation subject) and the provider's identity digest.
type Binding struct {
	Model, Provider [32]byte
}

// Halves returns the four public inputs of b: each digest's big-endian high and low 128 bits.
func (b Binding) Halves() [4]fr.Element {
	var out [4]fr.Element
	for i, d := range [][32]byte{b.Model, b.Provider} {
		out[2*i].SetBytes(d[:16])
		out[2*i+1].SetBytes(d[16:])
	}
	return out
}

// FinalInput is what the final proof needs: the last accumulator and the public values.
type FinalInput struct {
	Acc Accumulator
	// Weights are all Columns() weights, the intercept's last (the circuit reads the
	// features').
	Weights []*big.Int
	Lambda  *big.Int
	Tau     *big.Int
	Binding Binding
}

// AssignFinal builds the final circuit's assignment.
func (s Shape) AssignFinal(in FinalInput) (*Final, error) {
	if len(in.Weights) != s.Columns() || len(in.Acc.Sum) != s.SumLen() {
		return nil, fmt.Errorf("%w: %d weights and %d sums, want %d and %d", ErrWitness, len(in.Weights), len(in.Acc.Sum), s.Columns(), s.SumLen())
	}
	a := NewFinal(s)
	a.Acc = in.Acc.Commitment()
	for j := range a.Weights {
		a.Weights[j] = new(big.Int).Set(in.Weights[j])
	}
	for j := range in.Acc.Sum {
		a.Sum[j] = in.Acc.Sum[j]
	}
	cols := s.Columns()
	a.SSR, a.SumY, a.SumY2 = in.Acc.Sum[cols], in.Acc.Sum[cols+1], in.Acc.Sum[cols+2]
	a.Lambda = new(big.Int).Set(in.Lambda)
	a.Tau = new(big.Int).Set(in.Tau)
	h := in.Binding.Halves()
	a.ModelHi, a.ModelLo, a.ProviderHi, a.ProviderLo = h[0], h[1], h[2], h[3]
	a.Blind = in.Acc.Blind
	return a, nil
}

// Gradient is G = S + ΛW (no Λ term on the intercept) as signed integers: what the final
// circuit bounds by tau. The prover uses it to refuse a tau the data cannot meet before
// spending any proving time.
func (s Shape) Gradient(sum []fr.Element, weights []*big.Int, lambda *big.Int) []*big.Int {
	out := make([]*big.Int, s.Columns())
	for j := range out {
		g := Signed(sum[j])
		if j < s.Features {
			g.Add(g, new(big.Int).Mul(lambda, weights[j]))
		}
		out[j] = g
	}
	return out
}

// Metrics are the training metrics an accumulator holds: SSR = Σ e² (units 2^-(4f)), SumY =
// Σ Y (units 2^-f) and SumY2 = Σ Y² (units 2^-(2f)), as signed integers.
func (s Shape) Metrics(sum []fr.Element) (ssr, sumY, sumY2 *big.Int) {
	cols := s.Columns()
	return Signed(sum[cols]), Signed(sum[cols+1]), Signed(sum[cols+2])
}

// Signed reads a field element as the integer in (−r/2, r/2] it stands for.
func Signed(e fr.Element) *big.Int {
	g := e.BigInt(new(big.Int))
	if g.Cmp(new(big.Int).Rsh(fr.Modulus(), 1)) > 0 {
		g.Sub(g, fr.Modulus())
	}
	return g
}
