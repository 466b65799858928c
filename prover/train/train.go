package train

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Sentinel causes; callers test them with errors.Is.
var (
	// ErrOptions means the options are inconsistent (unknown kind, negative λ, λ with OLS).
	ErrOptions = errors.New("invalid training options")
	// ErrShape means the matrix and label do not agree in size.
	ErrShape = errors.New("design and label sizes differ")
	// ErrTooFewRows means n ≤ p: the residual variance is not estimable.
	ErrTooFewRows = errors.New("too few rows for the number of parameters")
	// ErrNotFinite means a value is NaN or infinite.
	ErrNotFinite = errors.New("value is NaN or infinite")
	// ErrRankDeficient means the design has (numerically) dependent columns.
	ErrRankDeficient = errors.New("design matrix is rank deficient")
	// ErrIllConditioned means the refinement did not converge: the design is too close to
	// rank deficient for float64 QR to precondition it.
	ErrIllConditioned = errors.New("design matrix is too ill-conditioned")
)

// Kind names the objective.
type Kind string

// The objectives Comet trains.
const (
	// KindOLS minimises ‖y − Xw − b‖².
	KindOLS Kind = "ols"
	// KindRidge minimises ‖y − Xw − b‖² + λ‖w‖²; the intercept b is not penalised.
	KindRidge Kind = "ridge"
)

// Options choose the objective.
type Options struct {
	Kind Kind
	// Lambda is the ridge penalty λ ≥ 0; it must be 0 for OLS.
	Lambda float64
	// Intercept adds an unpenalised constant term.
	Intercept bool
}

// Validate reports whether the options make sense together.
func (o Options) Validate() error {
	switch {
	case o.Kind != KindOLS && o.Kind != KindRidge:
		return fmt.Errorf("%w: kind %q is neither %q nor %q", ErrOptions, o.Kind, KindOLS, KindRidge)
	case math.IsNaN(o.Lambda) || math.IsInf(o.Lambda, 0) || o.Lambda < 0:
		return fmt.Errorf("%w: lambda %v must be finite and ≥ 0", ErrOptions, o.Lambda)
	case o.Kind == KindOLS && o.Lambda != 0:
		return fmt.Errorf("%w: lambda %v given for ols", ErrOptions, o.Lambda)
	}
	return nil
}

// Matrix is a rows×cols design matrix stored row-major. Tail, when not nil, holds the
// low-order parts of entries that float64 cannot hold exactly: the entry is Data[k]+Tail[k]
// (a double-double), as [Polynomial] builds for powers of x.
type Matrix struct {
	Rows, Cols int
	Data       []float64
	Tail       []float64
}

// NewMatrix copies rows, which must all have the same length, into a Matrix.
func NewMatrix(rows [][]float64) (Matrix, error) {
	m := Matrix{Rows: len(rows)}
	if len(rows) > 0 {
		m.Cols = len(rows[0])
	}
	m.Data = make([]float64, 0, m.Rows*m.Cols)
	for i, r := range rows {
		if len(r) != m.Cols {
			return Matrix{}, fmt.Errorf("%w: row %d has %d values, row 0 has %d", ErrShape, i, len(r), m.Cols)
		}
		m.Data = append(m.Data, r...)
	}
	return m, nil
}

// Polynomial returns the design with columns x, x², …, x^degree, each power computed in
// double-double so that the columns are the powers of x to about 32 digits. Rounding the
// powers to float64 would perturb an ill-conditioned fit (NIST's Filip) in its eighth digit.
func Polynomial(x []float64, degree int) Matrix {
	m := Matrix{Rows: len(x), Cols: degree, Data: make([]float64, len(x)*degree), Tail: make([]float64, len(x)*degree)}
	for i, v := range x {
		pow := dd{1, 0}
		for k := 0; k < degree; k++ {
			pow = pow.mul(dd{v, 0})
			m.Data[i*degree+k], m.Tail[i*degree+k] = pow.hi, pow.lo
		}
	}
	return m
}

func (m Matrix) validate() error {
	switch {
	case m.Rows < 0 || m.Cols < 0 || len(m.Data) != m.Rows*m.Cols:
		return fmt.Errorf("%w: %d×%d matrix with %d values", ErrShape, m.Rows, m.Cols, len(m.Data))
	case m.Tail != nil && len(m.Tail) != len(m.Data):
		return fmt.Errorf("%w: tail has %d values, data %d", ErrShape, len(m.Tail), len(m.Data))
	}
	for k, v := range m.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) || (m.Tail != nil && (math.IsNaN(m.Tail[k]) || math.IsInf(m.Tail[k], 0))) {
			return fmt.Errorf("%w: row %d, column %d", ErrNotFinite, k/max(m.Cols, 1), k%max(m.Cols, 1))
		}
	}
	return nil
}

// Result is a fitted linear model with its diagnostics.
type Result struct {
	Options Options
	// N is the number of rows, P the number of parameters (features plus intercept).
	N, P int
	// Coef are the feature weights, in column order; Intercept is 0 without one.
	Coef      []float64
	Intercept float64
	// CoefSE and InterceptSE are the standard errors: σ̂·√diag((XᵀX)⁻¹) for OLS, and for
	// ridge the sandwich form σ̂·√diag(H⁻¹XᵀXH⁻¹) with H = XᵀX + λ·I on the features.
	CoefSE      []float64
	InterceptSE float64
	// SSR is the residual sum of squares Σ(yᵢ − ŷᵢ)².
	SSR float64
	// ResidualSD is σ̂ = √(SSR/(N−P)); RMSE is √(SSR/N).
	ResidualSD, RMSE float64
	// R2 is 1 − SSR/SST with SST = Σ(yᵢ − ȳ)² with an intercept and Σyᵢ² without (the
	// uncentered R² that NIST certifies for models through the origin); 0 when SST is 0.
	R2 float64
	// Cond is an estimate of the 1-norm condition number of the column-scaled design.
	Cond float64
	// Refinements is the number of refinement steps taken for the coefficients.
	Refinements int
}

// Fit fits the model y ≈ X·w (+ intercept) under opts. X's rows are observations.
func Fit(ctx context.Context, x Matrix, y []float64, opts Options) (*Result, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := x.validate(); err != nil {
		return nil, err
	}
	if len(y) != x.Rows {
		return nil, fmt.Errorf("%w: %d rows, %d labels", ErrShape, x.Rows, len(y))
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: label of row %d", ErrNotFinite, i)
		}
	}
	res, _, err := fit(ctx, x, y, opts, nil)
	return res, err
}

// fitState is what the fixed-point path reuses from a float fit.
type fitState struct {
	s *system
	c []float64 // (AᵀA)⁻¹ in scaled coordinates, column-major
}

// fit trains on validated input. gram, when not nil, is the exact XᵀX + λ·I of the scaled
// system supplied by the caller (the fixed-point path has it from its integer pass).
func fit(ctx context.Context, x Matrix, y []float64, opts Options, gram func(*system) []dd) (*Result, *fitState, error) {
	p := x.Cols
	if opts.Intercept {
		p++
	}
	if p == 0 {
		return nil, nil, fmt.Errorf("%w: no features and no intercept", ErrShape)
	}
	if x.Rows <= p {
		return nil, nil, fmt.Errorf("%w: %d rows, %d parameters", ErrTooFewRows, x.Rows, p)
	}
	lambda := 0.0
	if opts.Kind == KindRidge {
		lambda = opts.Lambda
	}
	s, err := newSystem(x, opts.Intercept, lambda)
	if err != nil {
		return nil, nil, err
	}
	rcond, err := s.factor()
	if err != nil {
		return nil, nil, err
	}
	z, steps, err := s.solve(ctx, y)
	if err != nil {
		return nil, nil, fmt.Errorf("coefficients: %w", err)
	}
	var h []dd
	if gram != nil {
		h = gram(s)
	} else {
		h = s.gram()
	}
	c, err := s.inverse(ctx, h)
	if err != nil {
		return nil, nil, fmt.Errorf("standard errors: %w", err)
	}
	res := &Result{Options: opts, N: x.Rows, P: p, Cond: 1 / rcond, Refinements: steps}
	w := make([]float64, p)
	for j := range w {
		w[j] = z[j] * s.scale[j]
	}
	res.Coef = w[:x.Cols:x.Cols]
	if opts.Intercept {
		res.Intercept = w[x.Cols]
	}
	s.metrics(res, y, z)
	se := s.stdErrors(c, res.ResidualSD)
	res.CoefSE = se[:x.Cols:x.Cols]
	if opts.Intercept {
		res.InterceptSE = se[x.Cols]
	}
	return res, &fitState{s: s, c: c}, nil
}
