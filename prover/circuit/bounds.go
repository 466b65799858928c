package circuit

import (
	"errors"
	"fmt"
	"math/big"
)

// ErrBounds means the integer statement could wrap around the field, or a public value is out
// of the range the circuits assume; such parameters are refused before proving and when
// verifying.
var ErrBounds = errors.New("parameters exceed the circuit's bit bounds")

// Statement is the public part of a proof that the bound argument depends on.
type Statement struct {
	Shape
	N       int
	Weights []*big.Int // Columns() fixed-point weights, the intercept last
	Lambda  *big.Int   // Λ = round_half_even(λ · 2^(2f)), ≥ 0
	Tau     *big.Int   // in units of 2^(−3f), ≥ 0
}

// CheckBounds is the single place that decides whether a statement can be proven without
// wrap-around (docs/proof.md, "Why the arithmetic cannot wrap"). With every value |X|, |Y| ≤
// 2^(b−1) (the intercept column is 2^f ≤ 2^(b−1)) and |W_j| ≤ Wmax:
//
//	|e_r| ≤ c·2^(b−1)·Wmax + 2^f·2^(b−1)        (c = Columns())
//	|G_j| ≤ n·2^(b−1)·max|e_r| + Λ·Wmax
//	SSR = Σ e_r² ≤ n·max|e_r|²
//
// and it requires these bounds and tau to be below 2^(GapBits−1) = 2^251, far below
// r/2 ≈ 2^252.6, so that every sum the circuits make public or compare is the integer it
// stands for (Σ Y and Σ Y² are smaller than the SSR bound). It returns the larger bound's bit
// length.
func CheckBounds(st Statement) (int, error) {
	if err := st.Shape.Validate(); err != nil {
		return 0, err
	}
	if st.N < 1 {
		return 0, fmt.Errorf("%w: n = %d", ErrBounds, st.N)
	}
	if len(st.Weights) != st.Columns() {
		return 0, fmt.Errorf("%w: %d weights for %d columns", ErrBounds, len(st.Weights), st.Columns())
	}
	if st.Lambda == nil || st.Lambda.Sign() < 0 {
		return 0, fmt.Errorf("%w: lambda_fixed must be a non-negative integer", ErrBounds)
	}
	if st.Tau == nil || st.Tau.Sign() < 0 {
		return 0, fmt.Errorf("%w: tau must be a non-negative integer", ErrBounds)
	}
	wmax := new(big.Int)
	for j, w := range st.Weights {
		if w == nil {
			return 0, fmt.Errorf("%w: weight %d missing", ErrBounds, j)
		}
		if a := new(big.Int).Abs(w); a.Cmp(wmax) > 0 {
			wmax = a
		}
	}
	half := new(big.Int).Lsh(big.NewInt(1), uint(st.ValueBits-1))
	e := new(big.Int).Mul(big.NewInt(int64(st.Columns())), half)
	e.Mul(e, wmax)
	e.Add(e, new(big.Int).Lsh(half, uint(st.FractionBits)))
	g := new(big.Int).Mul(big.NewInt(int64(st.N)), half)
	g.Mul(g, e)
	g.Add(g, new(big.Int).Mul(st.Lambda, wmax))
	ssr := new(big.Int).Mul(e, e)
	ssr.Mul(ssr, big.NewInt(int64(st.N)))
	limit := new(big.Int).Lsh(big.NewInt(1), GapBits-1)
	switch {
	case g.Cmp(limit) >= 0:
		return 0, fmt.Errorf("%w: |G| could reach 2^%d with n = %d, d = %d, b = %d, f = %d, max |w| = 2^%d, Λ = 2^%d; the limit is 2^%d",
			ErrBounds, g.BitLen(), st.N, st.Features, st.ValueBits, st.FractionBits, wmax.BitLen(), st.Lambda.BitLen(), GapBits-1)
	case ssr.Cmp(limit) >= 0:
		return 0, fmt.Errorf("%w: the sum of squared residuals could reach 2^%d with n = %d, d = %d, b = %d, f = %d, max |w| = 2^%d; the limit is 2^%d",
			ErrBounds, ssr.BitLen(), st.N, st.Features, st.ValueBits, st.FractionBits, wmax.BitLen(), GapBits-1)
	case st.Tau.Cmp(limit) >= 0:
		return 0, fmt.Errorf("%w: tau has %d bits, the limit is %d", ErrBounds, st.Tau.BitLen(), GapBits-1)
	}
	return max(g.BitLen(), ssr.BitLen()), nil
}
