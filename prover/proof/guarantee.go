package proof

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/train"
)

// Guarantee is what a verified proof guarantees about the model, derived from public values
// only (docs/proof.md, "What the proof guarantees") and stated in the model's own units: real
// values, not fixed-point integers. Every bound is rounded up, so it stays a true bound.
type Guarantee struct {
	// Lambda is the proven penalty Λ / 2^(2f): the one the statement is about, whatever the
	// provider asked for. Zero makes the statement one of ordinary least squares.
	Lambda *big.Rat
	// Tau is the proven gradient bound tau / 2^(3f): |X^T(Xw − y) + λw|_j ≤ Tau for every
	// weight j (the intercept's without λ).
	Tau *big.Rat
	// RelativeGradient is Tau over the largest gradient the zero model can have on data of
	// this size and value range, sqrt(n)·x_max·‖y‖₂ with x_max = 2^(b−1−f) (Cauchy–Schwarz):
	// near 1 the proof says nearly nothing. Zero when Tau is; +Inf when ‖y‖ = 0 < Tau.
	RelativeGradient float64
	// Distance bounds ‖(w, b) − (w*, b*)‖₂, the distance to the exact optimum on the
	// committed rows, and LossGap the training objective's excess over its minimum,
	// ‖Xw + b − y‖² + λ‖w‖² − min. Both are "" for OLS: without a penalty the gradient bound
	// says nothing about the distance (XᵀX may be singular).
	Distance, LossGap string
}

// Ridge reports whether the proven statement has a penalty, and so a distance bound.
func (g Guarantee) Ridge() bool { return g.Lambda.Sign() > 0 }

// precision is the working precision of the bounds: far more than their printed digits.
const precision = 256

// arith is big.Float arithmetic at one precision and one rounding direction. Every bound is
// computed rounding up (and a divisor rounding down), so that each printed bound is an upper
// bound of the exact value, not merely close to it.
type arith big.RoundingMode

var up, down = arith(big.ToPositiveInf), arith(big.ToNegativeInf)

func (a arith) float() *big.Float {
	return new(big.Float).SetPrec(precision).SetMode(big.RoundingMode(a))
}
func (a arith) int(v int64) *big.Float         { return a.float().SetInt64(v) }
func (a arith) rat(r *big.Rat) *big.Float      { return a.float().SetRat(r) }
func (a arith) mul(x, y *big.Float) *big.Float { return a.float().Mul(x, y) }
func (a arith) quo(x, y *big.Float) *big.Float { return a.float().Quo(x, y) }
func (a arith) add(x, y *big.Float) *big.Float { return a.float().Add(x, y) }
func (a arith) sqrt(x *big.Float) *big.Float   { return a.float().Sqrt(x) }

// Guarantees is what a proof of model m on the dataset of man will guarantee, once verified:
// the statement's public values determine it, so a provider can see it before proving (and a
// registry's tolerance policy with it).
func Guarantees(man *commitment.Manifest, m *model.Model) (Guarantee, error) {
	st, err := newStatement(man, m)
	if err != nil {
		return Guarantee{}, err
	}
	return guarantee(st), nil
}

// guarantee derives the guarantee of a statement from its public values.
func guarantee(st *statement) Guarantee {
	s := st.shape
	f := s.FractionBits
	g := Guarantee{
		Lambda: new(big.Rat).SetFrac(st.lambda, pow2(2*f)),
		Tau:    new(big.Rat).SetFrac(st.tau, pow2(3*f)),
	}
	// tau, λ, n, d and x_max are dyadic or integers: exact at this precision.
	tau, lambda := up.rat(g.Tau), up.rat(g.Lambda)
	n, d := up.int(int64(st.header.N)), up.int(int64(s.Features))
	xmax := up.float().SetMantExp(big.NewFloat(1), s.ValueBits-1-f)
	scale := down.mul(down.mul(down.sqrt(n), xmax), down.sqrt(down.rat(new(big.Rat).SetFrac(st.sumY2, pow2(2*f)))))
	switch {
	case st.tau.Sign() == 0:
		g.RelativeGradient = 0
	case scale.Sign() == 0:
		g.RelativeGradient = math.Inf(1)
	default:
		g.RelativeGradient, _ = strconv.ParseFloat(ceilDigits(up.quo(tau, scale), 3), 64)
	}
	if !g.Ridge() {
		return g
	}
	// ‖∇P/2‖₂ for the objective P with the intercept profiled out: the feature gradient
	// minus the column means times the intercept's gradient, |x̄_j| ≤ x_max.
	grad := up.mul(up.sqrt(d), tau)
	if s.Intercept {
		grad = up.mul(grad, up.add(up.int(1), xmax))
	}
	dw := up.quo(grad, lambda)
	gap := up.quo(up.mul(grad, grad), lambda)
	dist := dw
	if s.Intercept {
		// |b − b*| ≤ |G_b|/n + ‖x̄‖₂·‖w − w*‖₂, and the intercept's own term of the gap.
		db := up.add(up.quo(tau, n), up.mul(up.mul(up.sqrt(d), xmax), dw))
		dist = up.sqrt(up.add(up.mul(dw, dw), up.mul(db, db)))
		gap = up.add(gap, up.quo(up.mul(tau, tau), n))
	}
	g.Distance, g.LossGap = ceilDigits(dist, 6), ceilDigits(gap, 6)
	return g
}

// Summary says in one line what the guarantee means.
func (g Guarantee) Summary(kind string) string {
	tau := up.rat(g.Tau)
	if !g.Ridge() {
		what := "ordinary least squares"
		if kind == string(train.KindRidge) {
			what = "ordinary least squares (the requested λ rounds to Λ = 0 at this fraction bits)"
		}
		return fmt.Sprintf("%s: |gradient|_inf <= %s (relative %s); OLS gives no distance bound", what, ceilDigits(tau, 6), formatRelative(g.RelativeGradient))
	}
	lambda, _ := g.Lambda.Float64()
	return fmt.Sprintf("ridge λ = %s: |gradient|_inf <= %s (relative %s), ‖w − w*‖₂ <= %s, objective within %s of its minimum",
		strconv.FormatFloat(lambda, 'g', 6, 64), ceilDigits(tau, 6), formatRelative(g.RelativeGradient), g.Distance, g.LossGap)
}

func formatRelative(r float64) string {
	if math.IsInf(r, 1) {
		return "unbounded: Σ y² = 0"
	}
	return strconv.FormatFloat(r, 'g', -1, 64)
}

func pow2(k int) *big.Int { return new(big.Int).Lsh(big.NewInt(1), uint(k)) }

// ceilDigits writes x ≥ 0 rounded up to `digits` significant digits in the 'e' notation
// ("1.23457e+06"): never below x.
func ceilDigits(x *big.Float, digits int) string {
	if x.Sign() == 0 {
		return "0"
	}
	// x = m·10^e with 10^(digits−1) ≤ m < 10^digits, m rounded up to an integer.
	exp := x.MantExp(nil) // 2^(exp−1) ≤ x < 2^exp
	e := int(math.Floor(float64(exp-1)*math.Log10(2))) - digits + 1
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil)
	for {
		mi, acc := scaleTen(x, -e).Int(nil)
		if acc == big.Below {
			mi.Add(mi, big.NewInt(1))
		}
		switch {
		case mi.Cmp(limit) > 0 || (mi.Cmp(limit) == 0 && acc == big.Exact):
			e++
			continue
		case mi.Cmp(limit) == 0:
			mi.Div(mi, big.NewInt(10)) // m rounded up to 10^digits: one digit more than wanted
			e++
		case mi.Cmp(new(big.Int).Div(limit, big.NewInt(10))) < 0:
			e--
			continue
		}
		ds := mi.String()
		mant := strings.TrimRight(ds[1:], "0")
		if mant != "" {
			mant = "." + mant
		}
		return fmt.Sprintf("%c%se%+03d", ds[0], mant, e+digits-1)
	}
}

// scaleTen is x·10^k, rounded up; exact for k ≥ 0 at this precision in practice, and for
// k < 0 a quotient rounded up, so the ceiling above stays an upper bound.
func scaleTen(x *big.Float, k int) *big.Float {
	p := up.float().SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(k))), nil))
	if k < 0 {
		return up.quo(x, p)
	}
	return up.mul(x, p)
}

func abs(k int) int {
	if k < 0 {
		return -k
	}
	return k
}
