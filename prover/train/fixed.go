package train

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"math/bits"

	"github.com/comet-attest/comet/prover/fixedpoint"
)

// FixedData is a fixed-point dataset: N rows of D features then the label, row-major
// (row i is Values[i*(D+1):(i+1)*(D+1)]), every value an integer v meaning v/2^f.
// dataset.Table has exactly these fields.
type FixedData struct {
	N, D   int
	Values []int64
	Format fixedpoint.Format
}

func (t FixedData) validate() error {
	if err := t.Format.Validate(); err != nil {
		return err
	}
	if t.N < 0 || t.D < 0 || len(t.Values) != t.N*(t.D+1) {
		return fmt.Errorf("%w: %d rows of %d features need %d values, have %d", ErrShape, t.N, t.D, t.N*(t.D+1), len(t.Values))
	}
	for k, v := range t.Values {
		if !t.Format.InRange(v) {
			return fmt.Errorf("%w: row %d, column %d: %d outside %s", fixedpoint.ErrOverflow, k/(t.D+1), k%(t.D+1), v, t.Format)
		}
	}
	return nil
}

// FixedResult is a model trained on fixed-point data, with the integer weights that the
// proof is about. docs/model.md defines the residual normatively.
type FixedResult struct {
	// Float is the float64 fit on the dequantized data with λ' = Λ/2^(2f).
	Float *Result
	// LambdaFixed is Λ = round_half_even(λ·2^(2f)); 0 for OLS.
	LambdaFixed *big.Int
	// Weights are the integer feature weights W_j (scale 2^f); Intercept is W_d, 0
	// without an intercept.
	Weights   []int64
	Intercept int64
	// Gradient is G at the chosen weights, in units of 2^-(3f): one entry per feature,
	// then the intercept's.
	Gradient []*big.Int
	// Residual is max_j |G_j|, the optimality residual of the chosen weights; Rounded is
	// the same for round(w*·2^f), the weights the search started from.
	Residual, Rounded *big.Int
	// WeightBits is the smallest b' such that every W (intercept included) lies in the
	// signed b'-bit range [-2^(b'-1), 2^(b'-1)-1].
	WeightBits int
	// SSR is Σ_i e_i² at the chosen weights, e_i = Σ_k X_ik·W_k − 2^f·Y_i (the intercept
	// column X_id = 2^f), in units of 2^-(4f); SumY is Σ_i Y_i (units 2^-f) and SumY2 is
	// Σ_i Y_i² (units 2^-(2f)). They are the exact integers the proven metrics derive from.
	SSR, SumY, SumY2 *big.Int
}

// LambdaFixed returns Λ = round_half_even(λ·2^(2f)), the integer penalty of the
// fixed-point statement.
func LambdaFixed(lambda float64, fractionBits int) (*big.Int, error) {
	if math.IsNaN(lambda) || math.IsInf(lambda, 0) || lambda < 0 {
		return nil, fmt.Errorf("%w: lambda %v must be finite and ≥ 0", ErrOptions, lambda)
	}
	// Scaling by a power of two is exact in big.Float; the one rounding is to an integer.
	x := new(big.Float).SetMantExp(new(big.Float).SetFloat64(lambda), 2*fractionBits)
	i, acc := x.Int(nil)
	if acc == big.Exact {
		return i, nil
	}
	frac := new(big.Float).Sub(x, new(big.Float).SetInt(i)) // in (0, 1): x ≥ 0 truncates down
	if c := frac.Cmp(big.NewFloat(0.5)); c > 0 || (c == 0 && i.Bit(0) == 1) {
		i.Add(i, big.NewInt(1))
	}
	return i, nil
}

// normal holds the exact integer normal equations: H = XᵀX (+ the constant column 2^f for
// the intercept), and XtY = XᵀY, over the integer rows, with ΣY and ΣY², which with H and
// XᵀY give the residual sum of squares of any W without another pass.
type normal struct {
	p           int
	h           []*big.Int // p×p row-major
	xty         []*big.Int
	sumY, sumY2 *big.Int
	lam         *big.Int
	feat        int // columns [0, feat) are penalised
}

// hlam returns H + Λ on the feature diagonal at (j, k).
func (ne *normal) hlam(j, k int, dst *big.Int) *big.Int {
	dst.Set(ne.h[j*ne.p+k])
	if j == k && j < ne.feat {
		dst.Add(dst, ne.lam)
	}
	return dst
}

// int128 is a two's-complement 128-bit accumulator.
type int128 struct{ hi, lo uint64 }

// addMul adds a·b to x; the caller bounds the sum so that it cannot wrap.
func (x *int128) addMul(a, b int64) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if a < 0 {
		hi -= uint64(b)
	}
	if b < 0 {
		hi -= uint64(a)
	}
	var c uint64
	x.lo, c = bits.Add64(x.lo, lo, 0)
	x.hi += hi + c
}

// flush adds x to dst and clears x.
func (x *int128) flush(dst *big.Int) {
	if *x == (int128{}) {
		return
	}
	neg := int64(x.hi) < 0
	hi, lo := x.hi, x.lo
	if neg {
		var b uint64
		lo, b = bits.Sub64(0, lo, 0)
		hi, _ = bits.Sub64(0, hi, b)
	}
	v := new(big.Int).SetUint64(hi)
	v.Lsh(v, 64).Or(v, new(big.Int).SetUint64(lo))
	if neg {
		v.Neg(v)
	}
	dst.Add(dst, v)
	*x = int128{}
}

// ctxRows is how many rows pass between context checks in the long loops.
const ctxRows = 1 << 16

// normalEquations computes H, XᵀY, ΣY and ΣY² exactly in one pass. Products of two b-bit
// values have at most 2b−2 magnitude bits, so int128 accumulators take 2^(126−(2b−2)) rows
// before they could wrap; they are flushed into big.Int at that interval.
func normalEquations(ctx context.Context, t FixedData, intercept bool) (*normal, error) {
	d, p := t.D, t.D
	if intercept {
		p++
	}
	one := t.Format.One()
	chunk := 1 << 40
	if room := 126 - (2*t.Format.ValueBits - 2); room < 40 {
		chunk = 1 << max(room, 0)
	}
	accH := make([]int128, p*p)
	accB := make([]int128, p)
	var accY, accY2 int128
	row := make([]int64, p)
	ne := &normal{p: p, h: make([]*big.Int, p*p), xty: make([]*big.Int, p), sumY: new(big.Int), sumY2: new(big.Int), feat: d}
	for k := range ne.h {
		ne.h[k] = new(big.Int)
	}
	for k := range ne.xty {
		ne.xty[k] = new(big.Int)
	}
	flush := func() {
		for k := range accH {
			accH[k].flush(ne.h[k])
		}
		for k := range accB {
			accB[k].flush(ne.xty[k])
		}
		accY.flush(ne.sumY)
		accY2.flush(ne.sumY2)
	}
	for i := 0; i < t.N; i++ {
		if i%ctxRows == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("after row %d: %w", i, err)
			}
		}
		if i%chunk == 0 && i > 0 {
			flush()
		}
		copy(row, t.Values[i*(d+1):i*(d+1)+d])
		if intercept {
			row[d] = one
		}
		y := t.Values[i*(d+1)+d]
		for j, a := range row {
			hrow := accH[j*p : (j+1)*p]
			for k := j; k < p; k++ {
				hrow[k].addMul(a, row[k])
			}
			accB[j].addMul(a, y)
		}
		accY.addMul(y, 1)
		accY2.addMul(y, y)
	}
	flush()
	for j := 0; j < p; j++ {
		for k := 0; k < j; k++ {
			ne.h[j*p+k].Set(ne.h[k*p+j])
		}
	}
	return ne, nil
}

// gradient sets g to G(W) = H·W − 2^f·XᵀY + Λ·W (Λ on the features only).
func (ne *normal) gradient(w []int64, f int, g []*big.Int) {
	var t, hw big.Int
	for j := 0; j < ne.p; j++ {
		g[j].Lsh(ne.xty[j], uint(f))
		g[j].Neg(g[j])
		for k := 0; k < ne.p; k++ {
			hw.Mul(ne.hlam(j, k, &t), hw.SetInt64(w[k]))
			g[j].Add(g[j], &hw)
		}
	}
}

// Gradient returns G(W) for the fixed-point statement of docs/model.md: one entry per
// feature and, with an intercept, a last one for the intercept weight W_d. w holds the D
// feature weights followed by the intercept weight when intercept is true.
func Gradient(ctx context.Context, t FixedData, lambdaFixed *big.Int, intercept bool, w []int64) ([]*big.Int, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	if want := t.D + boolToInt(intercept); len(w) != want {
		return nil, fmt.Errorf("%w: %d weights for %d parameters", ErrShape, len(w), want)
	}
	if lambdaFixed == nil || lambdaFixed.Sign() < 0 {
		return nil, fmt.Errorf("%w: lambda_fixed must be ≥ 0", ErrOptions)
	}
	ne, err := normalEquations(ctx, t, intercept)
	if err != nil {
		return nil, err
	}
	ne.lam = lambdaFixed
	return ne.newGradient(w, t.Format.FractionBits), nil
}

// ssr returns Σ_i e_i² = WᵀHW − 2^(f+1)·Wᵀ(XᵀY) + 2^(2f)·ΣY², the expansion of
// Σ_i (X_i·W − 2^f·Y_i)²; H here has no Λ, the penalty is not part of the residuals.
func (ne *normal) ssr(w []int64, f int) *big.Int {
	var quad, lin, t, wk big.Int
	for j := 0; j < ne.p; j++ {
		var row big.Int
		for k := 0; k < ne.p; k++ {
			row.Add(&row, t.Mul(ne.h[j*ne.p+k], wk.SetInt64(w[k])))
		}
		quad.Add(&quad, t.Mul(&row, wk.SetInt64(w[j])))
		lin.Add(&lin, t.Mul(ne.xty[j], wk.SetInt64(w[j])))
	}
	out := new(big.Int).Lsh(ne.sumY2, uint(2*f))
	out.Add(out, &quad)
	return out.Sub(out, lin.Lsh(&lin, uint(f+1)))
}

func (ne *normal) newGradient(w []int64, f int) []*big.Int {
	g := make([]*big.Int, ne.p)
	for j := range g {
		g[j] = new(big.Int)
	}
	ne.gradient(w, f, g)
	return g
}

// Metrics returns SSR = Σ_i e_i², e_i = Σ_k X_ik·W_k − 2^f·Y_i (with the intercept column
// X_id = 2^f when intercept is true), ΣY and ΣY² straight from the rows, one big-integer
// residual per row. It is the reference for [FitFixed]'s SSR, SumY and SumY2, which come
// from the normal equations instead; w holds the D feature weights and then the intercept
// weight when intercept is true.
func Metrics(ctx context.Context, t FixedData, intercept bool, w []int64) (ssr, sumY, sumY2 *big.Int, err error) {
	if err := t.validate(); err != nil {
		return nil, nil, nil, err
	}
	if want := t.D + boolToInt(intercept); len(w) != want {
		return nil, nil, nil, fmt.Errorf("%w: %d weights for %d parameters", ErrShape, len(w), want)
	}
	f := uint(t.Format.FractionBits)
	ssr, sumY, sumY2 = new(big.Int), new(big.Int), new(big.Int)
	var e, y, x, wk, prod big.Int
	for i := 0; i < t.N; i++ {
		if i%ctxRows == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, nil, fmt.Errorf("after row %d: %w", i, err)
			}
		}
		row := t.Values[i*(t.D+1) : (i+1)*(t.D+1)]
		y.SetInt64(row[t.D])
		sumY.Add(sumY, &y)
		sumY2.Add(sumY2, prod.Mul(&y, &y))
		e.Neg(e.Lsh(&y, f))
		for k := 0; k < t.D; k++ {
			e.Add(&e, prod.Mul(x.SetInt64(row[k]), wk.SetInt64(w[k])))
		}
		if intercept {
			e.Add(&e, prod.Lsh(wk.SetInt64(w[t.D]), f))
		}
		ssr.Add(ssr, prod.Mul(&e, &e))
	}
	return ssr, sumY, sumY2, nil
}

// FitFixed trains on t and chooses integer weights W that minimise the optimality residual
// max_j |G_j(W)| of docs/model.md, starting from round(w*·2^f) and improving it by rounded
// Newton steps and then coordinate moves of ±1.
func FitFixed(ctx context.Context, t FixedData, opts Options) (*FixedResult, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := t.validate(); err != nil {
		return nil, err
	}
	f := t.Format.FractionBits
	lam := new(big.Int)
	if opts.Kind == KindRidge {
		var err error
		if lam, err = LambdaFixed(opts.Lambda, f); err != nil {
			return nil, err
		}
	}
	ne, err := normalEquations(ctx, t, opts.Intercept)
	if err != nil {
		return nil, err
	}
	ne.lam = lam

	// Train on the dequantized values with λ' = Λ/2^(2f), so that the float optimum is the
	// optimum of the integer statement.
	x := Matrix{Rows: t.N, Cols: t.D, Data: make([]float64, t.N*t.D)}
	y := make([]float64, t.N)
	for i := 0; i < t.N; i++ {
		for j := 0; j < t.D; j++ {
			x.Data[i*t.D+j] = t.Format.ToFloat(t.Values[i*(t.D+1)+j])
		}
		y[i] = t.Format.ToFloat(t.Values[i*(t.D+1)+t.D])
	}
	lf, _ := new(big.Float).SetMantExp(new(big.Float).SetInt(lam), -2*f).Float64()
	fopts := opts
	fopts.Lambda = lf
	if lf == 0 {
		fopts.Kind = KindOLS
	}
	res, st, err := fit(ctx, x, y, fopts, func(s *system) []dd { return ne.scaledGram(s, f) })
	if err != nil {
		return nil, err
	}
	res.Options = opts

	w := make([]int64, ne.p)
	for j := range w {
		v := math.RoundToEven(math.Ldexp(res.param(j), f))
		if math.Abs(v) >= 0x1p62 {
			return nil, fmt.Errorf("%w: weight %d is %g, too large for fixed point with %d fraction bits", fixedpoint.ErrOverflow, j, res.param(j), f)
		}
		w[j] = int64(v)
	}
	g := ne.newGradient(w, f)
	out := &FixedResult{Float: res, LambdaFixed: lam, Rounded: maxAbsBig(g)}
	if err := ne.newtonRounds(ctx, st, w, g, f); err != nil {
		return nil, err
	}
	if err := ne.coordinateDescent(ctx, w, g); err != nil {
		return nil, err
	}
	out.Weights = w[:t.D:t.D]
	if opts.Intercept {
		out.Intercept = w[t.D]
	}
	out.Gradient = g
	out.Residual = maxAbsBig(g)
	out.SSR = ne.ssr(w, f)
	out.SumY, out.SumY2 = ne.sumY, ne.sumY2
	for _, v := range w {
		out.WeightBits = max(out.WeightBits, SignedBits(v))
	}
	return out, nil
}

// param returns parameter j in design order: the features, then the intercept.
func (r *Result) param(j int) float64 {
	if j < len(r.Coef) {
		return r.Coef[j]
	}
	return r.Intercept
}

// SignedBits is the smallest b such that v lies in [-2^(b-1), 2^(b-1)-1].
func SignedBits(v int64) int {
	if v < 0 {
		v = ^v
	}
	return bits.Len64(uint64(v)) + 1
}

// scaledGram converts H + Λ to the scaled float system: A = X·S with X = X_int/2^f, so
// AᵀA = S·(H + Λ)·S / 2^(2f), every factor a power of two.
func (ne *normal) scaledGram(s *system, f int) []dd {
	p := ne.p
	h := make([]dd, p*p)
	var t big.Int
	for j := 0; j < p; j++ {
		for k := 0; k < p; k++ {
			v := bigToDD(ne.hlam(j, k, &t))
			e := -2 * f
			h[j*p+k] = dd{math.Ldexp(v.hi, e) * s.scale[j] * s.scale[k], math.Ldexp(v.lo, e) * s.scale[j] * s.scale[k]}
		}
	}
	return h
}

// bigToDD rounds v to double-double.
func bigToDD(v *big.Int) dd {
	x := new(big.Float).SetPrec(uint(max(v.BitLen(), 64))).SetInt(v)
	hi, _ := x.Float64()
	x.Sub(x, big.NewFloat(hi))
	lo, _ := x.Float64()
	return dd{hi, lo}
}

// newtonRounds applies δ = round(−(H+Λ)⁻¹·G) while it lowers max|G|, with the refined
// inverse of the float fit ((H+Λ)⁻¹ = 2^(-2f)·S·C·S).
func (ne *normal) newtonRounds(ctx context.Context, st *fitState, w []int64, g []*big.Int, f int) error {
	p := ne.p
	best := maxAbsBig(g)
	trial := make([]int64, p)
	tg := ne.newGradient(w, f)
	gf := make([]float64, p)
	for round := 0; round < 8; round++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		for k := range gf {
			gf[k], _ = new(big.Float).SetInt(g[k]).Float64()
		}
		moved := false
		for j := 0; j < p; j++ {
			var sum float64
			for k := 0; k < p; k++ {
				sum += st.c[j*p+k] * st.s.scale[k] * gf[k] // C symmetric: row j = column j
			}
			delta := math.RoundToEven(-math.Ldexp(sum*st.s.scale[j], -2*f))
			if math.Abs(delta) > 0x1p52 || math.Abs(float64(w[j])+delta) >= 0x1p62 {
				return nil
			}
			trial[j] = w[j] + int64(delta)
			moved = moved || delta != 0
		}
		if !moved {
			return nil
		}
		ne.gradient(trial, f, tg)
		if maxAbsBig(tg).Cmp(best) >= 0 {
			return nil
		}
		copy(w, trial)
		for j := range g {
			g[j].Set(tg[j])
		}
		best = maxAbsBig(g)
	}
	return nil
}

// maxMoves bounds the coordinate search; each accepted move strictly lowers max|G|, so it
// ends anyway, and in practice after a few moves from the Newton point.
const maxMoves = 10000

// coordinateDescent moves one weight by ±1 at a time, taking the move that lowers max|G|
// most, until none does.
func (ne *normal) coordinateDescent(ctx context.Context, w []int64, g []*big.Int) error {
	p := ne.p
	col := make([]*big.Int, p)
	for j := range col {
		col[j] = new(big.Int)
	}
	var t, cand, worst big.Int
	for move := 0; move < maxMoves; move++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		best := maxAbsBig(g)
		bestJ, bestS := -1, int64(0)
		for j := 0; j < p; j++ {
			for _, sign := range []int64{-1, 1} {
				worst.SetInt64(0)
				for k := 0; k < p; k++ {
					ne.hlam(k, j, &t)
					if sign < 0 {
						cand.Sub(g[k], &t)
					} else {
						cand.Add(g[k], &t)
					}
					if cand.CmpAbs(&worst) > 0 {
						worst.Abs(&cand)
					}
				}
				if worst.Cmp(best) < 0 {
					best = new(big.Int).Set(&worst)
					bestJ, bestS = j, sign
				}
			}
		}
		if bestJ < 0 {
			return nil
		}
		w[bestJ] += bestS
		for k := 0; k < p; k++ {
			ne.hlam(k, bestJ, &t)
			if bestS < 0 {
				g[k].Sub(g[k], &t)
			} else {
				g[k].Add(g[k], &t)
			}
		}
	}
	return nil
}

func maxAbsBig(g []*big.Int) *big.Int {
	m := new(big.Int)
	for _, v := range g {
		if v.CmpAbs(m) > 0 {
			m.Abs(v)
		}
	}
	return m
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
