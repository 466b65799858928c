package circuit

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"

	"github.com/comet-attest/comet/prover/commitment"
)

// ErrWitness means the private inputs do not fit the shape.
var ErrWitness = errors.New("invalid witness")

// ChunkInput is what proving one chunk needs: its public position, its rows, the salt, the
// weights, and the accumulator it continues.
type ChunkInput struct {
	Index  int
	Values []int64 // m rows of d+1 values (features, then label), row-major, 1 ≤ m ≤ R
	Salt   commitment.Salt
	// Weights are the fixed-point weights W (Columns() of them, the intercept last).
	Weights []*big.Int
	In      Accumulator
	// Blind blinds the accumulator this chunk hands on.
	Blind fr.Element
}

// rows is m, the chunk's real rows, after checking the values fill whole rows.
func (s Shape) rows(values []int64) (int, error) {
	w := s.RowWidth()
	if len(values) == 0 || len(values)%w != 0 || len(values)/w > s.ChunkRows {
		return 0, fmt.Errorf("%w: %d values is not 1 to %d rows of %d", ErrWitness, len(values), s.ChunkRows, w)
	}
	return len(values) / w, nil
}

// Contribution is this chunk's share of an accumulator (SumLen() entries) over the rows of
// values, in the field (exact for parameters that pass CheckBounds): first the gradient
// g = X^T(XW − 2^f Y), one entry per weight (with an intercept, X has the column 2^f last),
// then the training metrics Σ e², Σ Y and Σ Y² with e = XW − 2^f Y the residual.
func (s Shape) Contribution(values []int64, weights []*big.Int) ([]fr.Element, error) {
	m, err := s.rows(values)
	if err != nil {
		return nil, err
	}
	if len(weights) != s.Columns() {
		return nil, fmt.Errorf("%w: %d weights, want %d", ErrWitness, len(weights), s.Columns())
	}
	w := make([]fr.Element, len(weights))
	for j := range weights {
		w[j].SetBigInt(weights[j])
	}
	var scale fr.Element
	scale.SetBigInt(new(big.Int).Lsh(big.NewInt(1), uint(s.FractionBits)))
	width, cols := s.RowWidth(), s.Columns()
	g := make([]fr.Element, s.SumLen())
	ssr, sumY, sumY2 := &g[cols], &g[cols+1], &g[cols+2]
	x := make([]fr.Element, cols)
	for r := range m {
		row := values[r*width : (r+1)*width]
		for j := range s.Features {
			x[j].SetInt64(row[j])
		}
		if s.Intercept {
			x[s.Features] = scale
		}
		var e, t, y fr.Element
		for j := range cols {
			t.Mul(&x[j], &w[j])
			e.Add(&e, &t)
		}
		y.SetInt64(row[s.Features])
		t.Mul(&y, &scale)
		e.Sub(&e, &t)
		for j := range cols {
			t.Mul(&x[j], &e)
			g[j].Add(&g[j], &t)
		}
		t.Square(&e)
		ssr.Add(ssr, &t)
		sumY.Add(sumY, &y)
		t.Square(&y)
		sumY2.Add(sumY2, &t)
	}
	return g, nil
}

// Assign builds the chunk circuit's full assignment and the accumulator it hands on.
func (s Shape) Assign(in ChunkInput) (*Chunk, Accumulator, error) {
	m, err := s.rows(in.Values)
	if err != nil {
		return nil, Accumulator{}, err
	}
	if len(in.In.Sum) != s.SumLen() {
		return nil, Accumulator{}, fmt.Errorf("%w: accumulator of %d sums, want %d", ErrWitness, len(in.In.Sum), s.SumLen())
	}
	h := s.header()
	c, err := commitment.ChunkCommitment(h, in.Salt, in.Index, in.Values)
	if err != nil {
		return nil, Accumulator{}, err
	}
	g, err := s.Contribution(in.Values, in.Weights)
	if err != nil {
		return nil, Accumulator{}, err
	}
	out := in.In.Add(g, in.Blind)

	a := NewChunk(s)
	a.Commitment = c
	a.Index = in.Index
	a.Rows = m
	for j, wj := range in.Weights {
		a.Weights[j] = new(big.Int).Set(wj)
	}
	a.AccIn = in.In.Commitment()
	a.AccOut = out.Commitment()
	hi, lo := in.Salt.Elements()
	a.SaltHi, a.SaltLo = hi, lo
	s.assignRows(in.Values, m, a.Limbs, a.Padding)
	for j := range a.SumIn {
		a.SumIn[j] = in.In.Sum[j]
	}
	a.BlindIn, a.BlindOut = in.In.Blind, in.Blind
	return a, out, nil
}

// assignRows fills the limbs and the padding step of a chunk's m real rows of values, for
// readRows; the values must be in range (ChunkCommitment checks them).
func (s Shape) assignRows(values []int64, m int, limbVars, padding []frontend.Variable) {
	layout := s.Layout()
	n := layout.Count()
	offset := uint64(1) << (s.ValueBits - 1)
	split := make([]uint64, n)
	for p := range s.ChunkRows * s.RowWidth() {
		u := offset // zero rows: v = 0
		if p < len(values) {
			u = uint64(values[p]) + offset
		}
		layout.Split(u, split)
		for t := range split {
			limbVars[p*n+t] = split[t]
		}
	}
	for r := range padding {
		padding[r] = boolInt(r >= m)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
