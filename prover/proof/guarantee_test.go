package proof

import (
	"context"
	"math"
	"math/big"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/comet-attest/comet/prover/dataset"
	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/train"
)

// exactOptimum solves the ridge normal equations of the committed rows exactly (big.Rat):
// (XᵀX + λ·diag(1…1, 0)) θ = Xᵀy with λ = Λ/2^(2f), the intercept last and unpenalised. It
// returns θ* and the objective J(θ) = ‖Xθ − y‖² + λ‖w‖² as a function.
func exactOptimum(t *testing.T, p *pipeline, lambda *big.Rat) ([]*big.Rat, func([]*big.Rat) *big.Rat) {
	t.Helper()
	raw, err := os.ReadFile(p.csv)
	if err != nil {
		t.Fatal(err)
	}
	table, err := dataset.ReadAll(context.Background(), strings.NewReader(string(raw)),
		dataset.Options{Label: p.manifest.Label, Features: p.manifest.Features, Format: p.manifest.Format()})
	if err != nil {
		t.Fatal(err)
	}
	d, intercept := table.D, p.model.FitIntercept
	cols := d
	if intercept {
		cols++
	}
	scale := new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), uint(p.manifest.FractionBits)))
	rows := make([][]*big.Rat, table.N)
	ys := make([]*big.Rat, table.N)
	for i := range table.N {
		row := table.Row(i)
		rows[i] = make([]*big.Rat, cols)
		for j := range d {
			rows[i][j] = new(big.Rat).Quo(new(big.Rat).SetInt64(row[j]), scale)
		}
		if intercept {
			rows[i][d] = big.NewRat(1, 1)
		}
		ys[i] = new(big.Rat).Quo(new(big.Rat).SetInt64(row[d]), scale)
	}
	// Augmented system [A | b], solved by Gaussian elimination over the rationals.
	a := make([][]*big.Rat, cols)
	for j := range cols {
		a[j] = make([]*big.Rat, cols+1)
		for k := range cols + 1 {
			a[j][k] = new(big.Rat)
		}
		for i := range table.N {
			for k := range cols {
				a[j][k].Add(a[j][k], new(big.Rat).Mul(rows[i][j], rows[i][k]))
			}
			a[j][cols].Add(a[j][cols], new(big.Rat).Mul(rows[i][j], ys[i]))
		}
		if j < d {
			a[j][j].Add(a[j][j], lambda)
		}
	}
	for c := range cols {
		piv := c
		for a[piv][c].Sign() == 0 {
			piv++
		}
		a[c], a[piv] = a[piv], a[c]
		for r := range cols {
			if r == c || a[r][c].Sign() == 0 {
				continue
			}
			f := new(big.Rat).Quo(a[r][c], a[c][c])
			for k := c; k <= cols; k++ {
				a[r][k].Sub(a[r][k], new(big.Rat).Mul(f, a[c][k]))
			}
		}
	}
	opt := make([]*big.Rat, cols)
	for j := range cols {
		opt[j] = new(big.Rat).Quo(a[j][cols], a[j][j])
	}
	objective := func(theta []*big.Rat) *big.Rat {
		j := new(big.Rat)
		for i := range table.N {
			e := new(big.Rat).Neg(ys[i])
			for k := range cols {
				e.Add(e, new(big.Rat).Mul(rows[i][k], theta[k]))
			}
			j.Add(j, new(big.Rat).Mul(e, e))
		}
		for k := range d {
			j.Add(j, new(big.Rat).Mul(lambda, new(big.Rat).Mul(theta[k], theta[k])))
		}
		return j
	}
	return opt, objective
}

// modelTheta is the model's proven weights W/2^f, the intercept last.
func modelTheta(t *testing.T, m *model.Model) []*big.Rat {
	t.Helper()
	w, b, err := m.FixedWeights()
	if err != nil {
		t.Fatal(err)
	}
	if b != nil {
		w = append(w, b)
	}
	scale := new(big.Int).Lsh(big.NewInt(1), uint(m.FractionBits))
	out := make([]*big.Rat, len(w))
	for j := range w {
		out[j] = new(big.Rat).SetFrac(w[j], scale)
	}
	return out
}

// TestGuaranteeHolds checks the printed ridge bounds against the exact optimum of the
// committed rows, with and without an intercept: the distance and the objective gap the
// guarantee states must bound the true ones.
func TestGuaranteeHolds(t *testing.T) {
	dir := t.TempDir()
	for _, intercept := range []bool{true, false} {
		for _, lambda := range []float64{0.5, 20} {
			spec := small
			spec.train = train.Options{Kind: train.KindRidge, Lambda: lambda, Intercept: intercept}
			p := commitAndTrain(t, synthetic(t, dir, 40, 9), spec)
			st, err := newStatement(p.manifest, p.model)
			if err != nil {
				t.Fatal(err)
			}
			g := guarantee(st)
			if !g.Ridge() || g.Distance == "" || g.LossGap == "" {
				t.Fatalf("ridge λ = %v: guarantee %+v has no bounds", lambda, g)
			}
			opt, objective := exactOptimum(t, p, g.Lambda)
			theta := modelTheta(t, p.model)
			var dist2 big.Rat
			for j := range theta {
				d := new(big.Rat).Sub(theta[j], opt[j])
				dist2.Add(&dist2, new(big.Rat).Mul(d, d))
			}
			distance := math.Sqrt(ratF(&dist2))
			gap := ratF(new(big.Rat).Sub(objective(theta), objective(opt)))
			bound, _ := strconv.ParseFloat(g.Distance, 64)
			gapBound, _ := strconv.ParseFloat(g.LossGap, 64)
			t.Logf("intercept %v, λ %v: ‖θ − θ*‖ = %.3g ≤ %s, gap %.3g ≤ %s, relative gradient %g", intercept, lambda, distance, g.Distance, gap, g.LossGap, g.RelativeGradient)
			if distance > bound || gap > gapBound || gap < 0 {
				t.Fatalf("the guarantee is false: distance %g > %s or gap %g > %s", distance, g.Distance, gap, g.LossGap)
			}
		}
	}
}

func ratF(r *big.Rat) float64 {
	f, _ := r.Float64()
	return f
}

// TestGuaranteeProvenLambda is finding 4: with λ = 1e-9 at f = 8, Λ = round(λ·2^16) = 0,
// the proof is one of OLS, and the guarantee must say so rather than print a ridge bound
// computed with the λ asked for.
func TestGuaranteeProvenLambda(t *testing.T) {
	spec := small
	spec.format = fixedpoint.Format{FractionBits: 8, ValueBits: 24}
	spec.train = train.Options{Kind: train.KindRidge, Lambda: 1e-9, Intercept: true}
	p := commitAndTrain(t, synthetic(t, t.TempDir(), 20, 4), spec)
	if p.model.LambdaFixed != "0" {
		t.Fatalf("lambda_fixed %s, want 0", p.model.LambdaFixed)
	}
	st, err := newStatement(p.manifest, p.model)
	if err != nil {
		t.Fatal(err)
	}
	g := guarantee(st)
	if g.Ridge() || g.Distance != "" || g.LossGap != "" || g.Lambda.Sign() != 0 {
		t.Fatalf("guarantee %+v: Λ = 0 gives no distance bound", g)
	}
	if s := g.Summary(p.model.Kind); !strings.Contains(s, "Λ = 0") || !strings.Contains(s, "no distance bound") {
		t.Fatalf("summary %q does not say that the proof is of OLS", s)
	}
}

// TestRelativeGradient is finding 3: an untrained model (all weights zero) whose residual is
// honestly 2^200-sized relative to its data has a relative gradient far above any sensible
// policy, while every model comet train makes has one far below.
func TestRelativeGradient(t *testing.T) {
	p := commitAndTrain(t, synthetic(t, t.TempDir(), 40, 5), small)
	st, err := newStatement(p.manifest, p.model)
	if err != nil {
		t.Fatal(err)
	}
	if g := guarantee(st); g.RelativeGradient > 1e-6 {
		t.Fatalf("trained model: relative gradient %g", g.RelativeGradient)
	}
	st.tau = new(big.Int).Lsh(big.NewInt(1), 200)
	if g := guarantee(st); g.RelativeGradient < 1e6 {
		t.Fatalf("tau = 2^200: relative gradient %g", g.RelativeGradient)
	}
	st.tau = big.NewInt(0)
	if g := guarantee(st); g.RelativeGradient != 0 {
		t.Fatalf("tau = 0: relative gradient %g", g.RelativeGradient)
	}
	st.tau, st.sumY2 = big.NewInt(1), big.NewInt(0)
	if g := guarantee(st); !math.IsInf(g.RelativeGradient, 1) {
		t.Fatalf("Σ y² = 0 < tau: relative gradient %g, want +Inf", g.RelativeGradient)
	}
}

func TestCeilDigits(t *testing.T) {
	for _, c := range []struct {
		x    float64
		want string
	}{
		{1, "1e+00"}, {123456, "1.23456e+05"}, {1234561, "1.23457e+06"}, {0x1p-13, "1.22071e-04"}, {0.5, "5e-01"},
		{999999.1, "1e+06"}, {2.5e-300, "2.5e-300"}, {0, "0"},
	} {
		if got := ceilDigits(up.float().SetFloat64(c.x), 6); got != c.want {
			t.Errorf("ceilDigits(%g) = %q, want %q", c.x, got, c.want)
		}
	}
}
