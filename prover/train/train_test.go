package train

import (
	"context"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/comet-attest/comet/prover/fixedpoint"
)

func TestFitErrors(t *testing.T) {
	ctx := context.Background()
	good := Matrix{Rows: 4, Cols: 1, Data: []float64{1, 2, 3, 5}}
	y := []float64{1, 2, 2, 4}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		x    Matrix
		y    []float64
		opts Options
		want error
	}{
		{"unknown kind", ctx, good, y, Options{Kind: "lasso"}, ErrOptions},
		{"lambda with ols", ctx, good, y, Options{Kind: KindOLS, Lambda: 1}, ErrOptions},
		{"negative lambda", ctx, good, y, Options{Kind: KindRidge, Lambda: -1}, ErrOptions},
		{"NaN lambda", ctx, good, y, Options{Kind: KindRidge, Lambda: math.NaN()}, ErrOptions},
		{"label count", ctx, good, y[:3], Options{Kind: KindOLS}, ErrShape},
		{"data length", ctx, Matrix{Rows: 4, Cols: 2, Data: good.Data}, y, Options{Kind: KindOLS}, ErrShape},
		{"NaN feature", ctx, Matrix{Rows: 4, Cols: 1, Data: []float64{1, math.NaN(), 3, 4}}, y, Options{Kind: KindOLS}, ErrNotFinite},
		{"Inf label", ctx, good, []float64{1, math.Inf(1), 2, 3}, Options{Kind: KindOLS}, ErrNotFinite},
		{"n = p", ctx, Matrix{Rows: 2, Cols: 1, Data: []float64{1, 2}}, y[:2], Options{Kind: KindOLS, Intercept: true}, ErrTooFewRows},
		{"no parameters", ctx, Matrix{Rows: 4}, y, Options{Kind: KindOLS}, ErrShape},
		{"zero column", ctx, Matrix{Rows: 4, Cols: 1, Data: make([]float64, 4)}, y, Options{Kind: KindOLS, Intercept: true}, ErrRankDeficient},
		{"duplicate column", ctx, Matrix{Rows: 4, Cols: 2, Data: []float64{1, 1, 2, 2, 3, 3, 5, 5}}, y, Options{Kind: KindOLS}, ErrRankDeficient},
		{"constant column and intercept", ctx, Matrix{Rows: 4, Cols: 1, Data: []float64{3, 3, 3, 3}}, y, Options{Kind: KindOLS, Intercept: true}, ErrRankDeficient},
		{"cancelled", cancelled, good, y, Options{Kind: KindOLS}, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Fit(tc.ctx, tc.x, tc.y, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

// exactRidge solves (XᵀX + λ·P)w = Xᵀy in rationals, P the identity on the features, with
// the intercept column (if any) last.
func exactRidge(x Matrix, y []float64, lambda float64, intercept bool) []*big.Rat {
	p := x.Cols + boolToInt(intercept)
	at := func(i, j int) *big.Rat {
		if j == x.Cols {
			return big.NewRat(1, 1)
		}
		return new(big.Rat).SetFloat64(x.Data[i*x.Cols+j])
	}
	m := make([][]*big.Rat, p)
	for j := range m {
		m[j] = make([]*big.Rat, p+1)
		for k := range m[j] {
			m[j][k] = new(big.Rat)
		}
		for i := 0; i < x.Rows; i++ {
			for k := 0; k < p; k++ {
				m[j][k].Add(m[j][k], new(big.Rat).Mul(at(i, j), at(i, k)))
			}
			m[j][p].Add(m[j][p], new(big.Rat).Mul(at(i, j), new(big.Rat).SetFloat64(y[i])))
		}
		if j < x.Cols {
			m[j][j].Add(m[j][j], new(big.Rat).SetFloat64(lambda))
		}
	}
	for c := 0; c < p; c++ {
		for r := 0; r < p; r++ {
			if r == c {
				continue
			}
			f := new(big.Rat).Quo(m[r][c], m[c][c])
			for k := c; k <= p; k++ {
				m[r][k].Sub(m[r][k], new(big.Rat).Mul(f, m[c][k]))
			}
		}
	}
	w := make([]*big.Rat, p)
	for j := range w {
		w[j] = new(big.Rat).Quo(m[j][p], m[j][j])
	}
	return w
}

func TestFitMatchesExactSolution(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	n, d := 40, 3
	x := Matrix{Rows: n, Cols: d, Data: make([]float64, n*d)}
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		base := rng.NormFloat64()
		for j := 0; j < d; j++ {
			// Nearly collinear columns of different scales make the float solve lose digits.
			x.Data[i*d+j] = (base + 1e-4*rng.NormFloat64()) * math.Pow(10, float64(2*j))
		}
		y[i] = 3*base + rng.NormFloat64()
	}
	for _, opts := range []Options{
		{Kind: KindOLS},
		{Kind: KindOLS, Intercept: true},
		{Kind: KindRidge, Lambda: 0.25},
		{Kind: KindRidge, Lambda: 1e6, Intercept: true},
	} {
		res, err := Fit(context.Background(), x, y, opts)
		if err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		want := exactRidge(x, y, opts.Lambda, opts.Intercept)
		for j, wj := range want {
			exact, _ := wj.Float64()
			if rel := math.Abs(res.param(j)-exact) / math.Abs(exact); rel > 1e-14 {
				t.Errorf("%+v: w[%d] = %.17g, exact %.17g (relative error %.2g)", opts, j, res.param(j), exact, rel)
			}
		}
		t.Logf("%+v: cond %.3g, %d refinements", opts, res.Cond, res.Refinements)
	}
}

func TestRidgeStdErrorsTendToOLS(t *testing.T) {
	data := synthetic(200, 3, fixedpoint.Format{FractionBits: 20, ValueBits: 48}, 9)
	x := Matrix{Rows: data.N, Cols: data.D, Data: make([]float64, data.N*data.D)}
	y := make([]float64, data.N)
	for i := 0; i < data.N; i++ {
		for j := 0; j < data.D; j++ {
			x.Data[i*data.D+j] = data.Format.ToFloat(data.Values[i*(data.D+1)+j])
		}
		y[i] = data.Format.ToFloat(data.Values[i*(data.D+1)+data.D])
	}
	ols, err := Fit(context.Background(), x, y, Options{Kind: KindOLS, Intercept: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, lambda := range []float64{1e-9, 10, 1e4} {
		ridge, err := Fit(context.Background(), x, y, Options{Kind: KindRidge, Lambda: lambda, Intercept: true})
		if err != nil {
			t.Fatal(err)
		}
		for j := range ols.CoefSE {
			// Compare SE/σ̂: σ̂ grows with the bias that λ adds, the variance factor shrinks.
			rel := (ridge.CoefSE[j]/ridge.ResidualSD - ols.CoefSE[j]/ols.ResidualSD) / (ols.CoefSE[j] / ols.ResidualSD)
			switch {
			case lambda < 1e-6 && math.Abs(rel) > 1e-6:
				t.Errorf("λ=%g: SE[%d] %g differs from OLS %g", lambda, j, ridge.CoefSE[j], ols.CoefSE[j])
			case lambda >= 1e-6 && rel >= 0:
				// H⁻¹XᵀXH⁻¹ ≼ (XᵀX)⁻¹: shrinkage lowers every penalised weight's variance factor.
				t.Errorf("λ=%g: SE[%d] %g not below OLS %g relative to σ̂", lambda, j, ridge.CoefSE[j], ols.CoefSE[j])
			}
		}
	}
}

func TestPolynomialPowersAreDoubleDouble(t *testing.T) {
	x := []float64{0.1, -3, 1e3}
	m := Polynomial(x, 7)
	for i, v := range x {
		want := new(big.Float).SetPrec(600).SetFloat64(v)
		pow := new(big.Float).SetPrec(600).SetFloat64(1)
		for k := 0; k < 7; k++ {
			pow.Mul(pow, want)
			got := new(big.Float).SetPrec(600).SetFloat64(m.Data[i*7+k])
			got.Add(got, new(big.Float).SetFloat64(m.Tail[i*7+k]))
			diff := new(big.Float).Sub(got, pow)
			rel, _ := diff.Quo(diff, pow).Float64()
			if math.Abs(rel) > 0x1p-100 {
				t.Errorf("x=%g: x^%d relative error %.3g", v, k+1, rel)
			}
		}
	}
}

func BenchmarkFitFixed1Mx8(b *testing.B) {
	data := synthetic(1_000_000, 8, fixedpoint.Format{FractionBits: 16, ValueBits: 48}, 1)
	b.ResetTimer()
	for b.Loop() {
		if _, err := FitFixed(context.Background(), data, Options{Kind: KindRidge, Lambda: 0.5, Intercept: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFit1Mx8(b *testing.B) {
	data := synthetic(1_000_000, 8, fixedpoint.Format{FractionBits: 16, ValueBits: 48}, 1)
	x := Matrix{Rows: data.N, Cols: data.D, Data: make([]float64, data.N*data.D)}
	y := make([]float64, data.N)
	for i := 0; i < data.N; i++ {
		for j := 0; j < data.D; j++ {
			x.Data[i*data.D+j] = data.Format.ToFloat(data.Values[i*(data.D+1)+j])
		}
		y[i] = data.Format.ToFloat(data.Values[i*(data.D+1)+data.D])
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Fit(context.Background(), x, y, Options{Kind: KindOLS, Intercept: true}); err != nil {
			b.Fatal(err)
		}
	}
}
