package train

import (
	"context"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/comet-attest/comet/internal/shareddata"
	"github.com/comet-attest/comet/prover/dataset"
	"github.com/comet-attest/comet/prover/fixedpoint"
)

// synthetic returns n rows of d features and a label y = x·w + b + noise, in format ft.
func synthetic(n, d int, ft fixedpoint.Format, seed uint64) FixedData {
	rng := rand.New(rand.NewPCG(seed, 1))
	w := make([]float64, d)
	for j := range w {
		w[j] = rng.NormFloat64() * 3
	}
	t := FixedData{N: n, D: d, Format: ft, Values: make([]int64, n*(d+1))}
	for i := 0; i < n; i++ {
		y := 0.75 + rng.NormFloat64()*0.1
		for j := 0; j < d; j++ {
			x := rng.NormFloat64() * float64(j+1)
			v, _ := ft.FromFloat(x)
			t.Values[i*(d+1)+j] = v
			y += ft.ToFloat(v) * w[j]
		}
		v, err := ft.FromFloat(y)
		if err != nil {
			panic(err)
		}
		t.Values[i*(d+1)+d] = v
	}
	return t
}

// naiveGradient computes G straight from the definition in docs/model.md, row by row in
// big.Int, independently of the int128 pass.
func naiveGradient(t FixedData, lam *big.Int, intercept bool, w []int64) []*big.Int {
	p := len(w)
	g := make([]*big.Int, p)
	for j := range g {
		g[j] = new(big.Int)
	}
	f := uint(t.Format.FractionBits)
	x := func(i, j int) *big.Int {
		if j == t.D {
			return new(big.Int).Lsh(big.NewInt(1), f)
		}
		return big.NewInt(t.Values[i*(t.D+1)+j])
	}
	for i := 0; i < t.N; i++ {
		r := new(big.Int).Lsh(big.NewInt(t.Values[i*(t.D+1)+t.D]), f)
		r.Neg(r)
		for k := 0; k < p; k++ {
			r.Add(r, new(big.Int).Mul(x(i, k), big.NewInt(w[k])))
		}
		for j := 0; j < p; j++ {
			g[j].Add(g[j], new(big.Int).Mul(x(i, j), r))
		}
	}
	for j := 0; j < t.D; j++ {
		g[j].Add(g[j], new(big.Int).Mul(lam, big.NewInt(w[j])))
	}
	return g
}

func TestFitFixed(t *testing.T) {
	tests := []struct {
		name string
		ft   fixedpoint.Format
		n, d int
		opts Options
	}{
		{"ols intercept f16", fixedpoint.Format{FractionBits: 16, ValueBits: 48}, 500, 4, Options{Kind: KindOLS, Intercept: true}},
		{"ols origin f8", fixedpoint.Format{FractionBits: 8, ValueBits: 32}, 300, 3, Options{Kind: KindOLS}},
		{"ridge intercept f16", fixedpoint.Format{FractionBits: 16, ValueBits: 48}, 400, 5, Options{Kind: KindRidge, Lambda: 2.5, Intercept: true}},
		{"ridge origin f0", fixedpoint.Format{FractionBits: 4, ValueBits: 16}, 200, 2, Options{Kind: KindRidge, Lambda: 0.3}},
		// b = 62 makes the int128 accumulators flush to big.Int every 16 rows.
		{"wide values", fixedpoint.Format{FractionBits: 40, ValueBits: 62}, 100, 3, Options{Kind: KindRidge, Lambda: 1e-3, Intercept: true}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := synthetic(tc.n, tc.d, tc.ft, uint64(i))
			res, err := FitFixed(context.Background(), data, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			w := append(append([]int64(nil), res.Weights...), res.Intercept)
			if !tc.opts.Intercept {
				w = w[:tc.d]
			}
			want := naiveGradient(data, res.LambdaFixed, tc.opts.Intercept, w)
			for j := range want {
				if want[j].Cmp(res.Gradient[j]) != 0 {
					t.Fatalf("G[%d] = %v, definition gives %v", j, res.Gradient[j], want[j])
				}
			}
			ssr, sumY, sumY2, err := Metrics(context.Background(), data, tc.opts.Intercept, w)
			if err != nil {
				t.Fatal(err)
			}
			if res.SSR.Cmp(ssr) != 0 || res.SumY.Cmp(sumY) != 0 || res.SumY2.Cmp(sumY2) != 0 {
				t.Fatalf("FitFixed gives SSR %v ΣY %v ΣY² %v, the rows give %v %v %v", res.SSR, res.SumY, res.SumY2, ssr, sumY, sumY2)
			}
			got, err := Gradient(context.Background(), data, res.LambdaFixed, tc.opts.Intercept, w)
			if err != nil {
				t.Fatal(err)
			}
			if maxAbsBig(got).Cmp(res.Residual) != 0 {
				t.Fatalf("Gradient gives residual %v, FitFixed reported %v", maxAbsBig(got), res.Residual)
			}
			if res.Residual.Cmp(res.Rounded) > 0 {
				t.Fatalf("residual %v worse than naive rounding %v", res.Residual, res.Rounded)
			}
			// No single ±1 move improves the residual.
			for j := range w {
				for _, s := range []int64{-1, 1} {
					w[j] += s
					if r := maxAbsBig(naiveGradient(data, res.LambdaFixed, tc.opts.Intercept, w)); r.Cmp(res.Residual) < 0 {
						t.Errorf("moving W[%d] by %d lowers the residual to %v from %v", j, s, r, res.Residual)
					}
					w[j] -= s
				}
			}
			// Minimising max|G| may move along directions where H is flat, but only by a few
			// units of 2^-f away from the float optimum.
			for j := range w {
				if diff := math.Abs(float64(w[j]) - math.Ldexp(res.Float.param(j), tc.ft.FractionBits)); diff > 16 {
					t.Errorf("W[%d] = %d is %.1f units from the float optimum", j, w[j], diff)
				}
			}
			wantBits := 0
			for _, v := range w {
				wantBits = max(wantBits, big.NewInt(v).BitLen()+1)
			}
			if res.WeightBits > wantBits || res.WeightBits < wantBits-1 {
				t.Errorf("WeightBits %d, magnitudes need %d", res.WeightBits, wantBits)
			}
			t.Logf("residual %v (naive rounding %v), %d weight bits, R² %.4f", res.Residual, res.Rounded, res.WeightBits, res.Float.R2)
		})
	}
}

// TestSSRIdentity checks WᵀHW − 2^(f+1)·Wᵀ(XᵀY) + 2^(2f)·ΣY² from the one-pass normal
// equations against Σ e_i² row by row, on random values of either sign over the whole
// b-bit range and random weights.
func TestSSRIdentity(t *testing.T) {
	tests := []struct {
		name      string
		ft        fixedpoint.Format
		n, d      int
		intercept bool
		wBits     int // weights uniform in ±2^wBits
	}{
		{"intercept f8", fixedpoint.Format{FractionBits: 8, ValueBits: 16}, 37, 3, true, 20},
		{"origin f8", fixedpoint.Format{FractionBits: 8, ValueBits: 16}, 37, 3, false, 20},
		{"intercept f0", fixedpoint.Format{FractionBits: 0, ValueBits: 8}, 5, 1, true, 6},
		{"no features", fixedpoint.Format{FractionBits: 4, ValueBits: 12}, 9, 0, true, 30},
		// b = 62 flushes the int128 accumulators, ΣY² among them, every 16 rows.
		{"wide intercept", fixedpoint.Format{FractionBits: 40, ValueBits: 62}, 70, 2, true, 62},
		{"wide origin", fixedpoint.Format{FractionBits: 61, ValueBits: 62}, 70, 4, false, 62},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			ft := tc.ft
			data := FixedData{N: tc.n, D: tc.d, Format: ft, Values: make([]int64, tc.n*(tc.d+1))}
			for k := range data.Values {
				switch rng.IntN(8) {
				case 0:
					data.Values[k] = ft.Min()
				case 1:
					data.Values[k] = ft.Max()
				default:
					data.Values[k] = ft.Min() + rng.Int64N(ft.Max()-ft.Min())
				}
			}
			w := make([]int64, tc.d+boolToInt(tc.intercept))
			for trial := 0; trial < 4; trial++ {
				for k := range w {
					if tc.wBits >= 62 {
						w[k] = int64(rng.Uint64()) >> 1 // both signs, 63 bits
					} else {
						w[k] = rng.Int64N(1<<(tc.wBits+1)) - 1<<tc.wBits
					}
				}
				ne, err := normalEquations(context.Background(), data, tc.intercept)
				if err != nil {
					t.Fatal(err)
				}
				ssr, sumY, sumY2, err := Metrics(context.Background(), data, tc.intercept, w)
				if err != nil {
					t.Fatal(err)
				}
				if got := ne.ssr(w, ft.FractionBits); got.Cmp(ssr) != 0 {
					t.Fatalf("W = %v: identity gives SSR %v, Σ e_i² is %v", w, got, ssr)
				}
				if ne.sumY.Cmp(sumY) != 0 || ne.sumY2.Cmp(sumY2) != 0 {
					t.Fatalf("accumulated ΣY %v ΣY² %v, rows give %v %v", ne.sumY, ne.sumY2, sumY, sumY2)
				}
			}
		})
	}
}

func TestMetricsByHand(t *testing.T) {
	// Two rows (x, y) = (1, 2), (−3, 1) at f = 1, stored as 2·value; W = (1, −1) means
	// w = 0.5 and b = −0.5: residuals 0.5·1 − 0.5 − 2 = −2 and 0.5·(−3) − 0.5 − 1 = −3,
	// SSR 13 (units 2^-4: 208), ΣY 3 (units 2^-1: 6), ΣY² 5 (units 2^-2: 20).
	data := FixedData{N: 2, D: 1, Format: fixedpoint.Format{FractionBits: 1, ValueBits: 8}, Values: []int64{2, 4, -6, 2}}
	tests := []struct {
		name             string
		intercept        bool
		w                []int64
		ssr, sumY, sumY2 int64
		err              error
	}{
		{"intercept", true, []int64{1, -1}, 208, 6, 20, nil},
		// Without the intercept: residuals 0.5 − 2 and −1.5 − 1, SSR 8.5 = 136·2^-4.
		{"origin", false, []int64{1}, 136, 6, 20, nil},
		{"weight count", false, []int64{1, -1}, 0, 0, 0, ErrShape},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ssr, sumY, sumY2, err := Metrics(context.Background(), data, tc.intercept, tc.w)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if ssr.Int64() != tc.ssr || sumY.Int64() != tc.sumY || sumY2.Int64() != tc.sumY2 {
				t.Errorf("SSR %v ΣY %v ΣY² %v, want %d %d %d", ssr, sumY, sumY2, tc.ssr, tc.sumY, tc.sumY2)
			}
		})
	}
}

func TestLambdaFixed(t *testing.T) {
	tests := []struct {
		lambda float64
		f      int
		want   string
	}{
		{0, 16, "0"},
		{1, 16, "4294967296"},
		{0.5, 0, "0"}, // tie to even
		{1.5, 0, "2"},
		{2.5, 0, "2"},
		{2.5000001, 0, "3"},
		{0.1, 2, "2"}, // 1.6
		{1e-3, 16, "4294967"},
		{3, 61, "15950735949418990474845684723364134912"}, // 3·2^122
	}
	for _, tc := range tests {
		got, err := LambdaFixed(tc.lambda, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != tc.want {
			t.Errorf("LambdaFixed(%v, %d) = %v, want %s", tc.lambda, tc.f, got, tc.want)
		}
	}
	if _, err := LambdaFixed(-1, 4); !errors.Is(err, ErrOptions) {
		t.Errorf("negative lambda: %v", err)
	}
}

func TestFJCConfirmationDays(t *testing.T) {
	path := shareddata.Path(t, "data", "legal", "fjc_confirmation_days.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ft := fixedpoint.Format{FractionBits: 16, ValueBits: 48}
	table, err := dataset.ReadAll(context.Background(), f, dataset.Options{
		Label: "days_nomination_to_confirmation", Exclude: []string{"nid", "sequence"}, Format: ft,
	})
	if err != nil {
		t.Fatal(err)
	}
	if table.N != 4548 || table.D != 13 {
		t.Fatalf("%d rows × %d features, want 4548 × 13", table.N, table.D)
	}
	data := FixedData{N: table.N, D: table.D, Values: table.Values, Format: table.Format}
	for _, opts := range []Options{{Kind: KindOLS, Intercept: true}, {Kind: KindRidge, Lambda: 10, Intercept: true}} {
		res, err := FitFixed(context.Background(), data, opts)
		if err != nil {
			t.Fatalf("%s: %v", opts.Kind, err)
		}
		m := res.Float
		if !(m.R2 > 0 && m.R2 < 1) || math.IsNaN(m.ResidualSD) || !(m.RMSE > 0) || m.RMSE > m.ResidualSD {
			t.Errorf("%s: implausible metrics R² %v, σ̂ %v, RMSE %v", opts.Kind, m.R2, m.ResidualSD, m.RMSE)
		}
		if res.Residual.Cmp(res.Rounded) > 0 {
			t.Errorf("%s: residual %v worse than naive rounding %v", opts.Kind, res.Residual, res.Rounded)
		}
		for j, se := range m.CoefSE {
			if !(se > 0) || math.IsInf(se, 0) {
				t.Errorf("%s: SE of %s is %v", opts.Kind, table.Features[j], se)
			}
		}
		t.Logf("%s: R² %.4f, σ̂ %.2f days, RMSE %.2f, cond %.3g, residual %v (naive %v), %d weight bits",
			opts.Kind, m.R2, m.ResidualSD, m.RMSE, m.Cond, res.Residual, res.Rounded, res.WeightBits)
	}
}
