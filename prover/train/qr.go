package train

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// minRCond is the reciprocal condition number of the scaled R below which the design is
// treated as rank deficient: at κ ≈ 1/minRCond the float64 correction solves no longer
// contract (the refinement's convergence factor is about κ·2⁻⁵³).
const minRCond = 0x1p-50

// system is the column-scaled design A = [X | 1]·S, with √λ·S rows below it for ridge, where
// S is a diagonal of powers of two so that scaling is exact. Rows are stored row-major;
// data row i is hi[i*p:(i+1)*p] (+ lo, the double-double tails, when not nil). Ridge row
// n+j holds ridge[j] in column feat[j]; its float64 head is also in hi for the QR.
type system struct {
	n, p  int
	hi    []float64
	lo    []float64
	scale []float64 // S: A = X·S, so w = S·z
	ridge []dd      // √λ·s_j for feature column j; nil without ridge
	d     int       // feature columns; the intercept column, if any, is column d

	qr   []float64 // Householder factors of hi, m×p
	tau  []float64
	work []float64
}

// m returns the number of rows of the (augmented) design.
func (s *system) m() int { return s.n + len(s.ridge) }

// newSystem scales x, appends the intercept column and the ridge rows. lambda is λ ≥ 0.
func newSystem(x Matrix, intercept bool, lambda float64) (*system, error) {
	n, d := x.Rows, x.Cols
	p := d
	if intercept {
		p++
	}
	s := &system{n: n, p: p, d: d, scale: make([]float64, p)}
	var sqrtLambda dd
	if lambda > 0 {
		sqrtLambda = ddSqrt(lambda)
		s.ridge = make([]dd, d)
	}
	// Column norms, in float64 (an estimate is enough: S only needs to balance columns).
	norms := make([]float64, p)
	for i := 0; i < n; i++ {
		row := x.Data[i*d : (i+1)*d]
		for j, v := range row {
			norms[j] = math.Hypot(norms[j], v)
		}
	}
	if intercept {
		norms[d] = math.Sqrt(float64(n))
	}
	for j := range norms {
		if j < d && lambda > 0 {
			norms[j] = math.Hypot(norms[j], sqrtLambda.hi)
		}
		if norms[j] == 0 || math.IsInf(norms[j], 0) {
			if norms[j] == 0 {
				return nil, fmt.Errorf("%w: column %d is all zero", ErrRankDeficient, j)
			}
			return nil, fmt.Errorf("%w: column %d overflows", ErrNotFinite, j)
		}
		_, e := math.Frexp(norms[j])
		s.scale[j] = math.Ldexp(1, -e)
	}
	m := s.m()
	s.hi = make([]float64, m*p)
	if x.Tail != nil {
		s.lo = make([]float64, n*p)
	}
	for i := 0; i < n; i++ {
		row := s.hi[i*p : (i+1)*p]
		for j := 0; j < d; j++ {
			row[j] = x.Data[i*d+j] * s.scale[j]
			if s.lo != nil {
				s.lo[i*p+j] = x.Tail[i*d+j] * s.scale[j]
			}
		}
		if intercept {
			row[d] = s.scale[d]
		}
	}
	for j := range s.ridge {
		s.ridge[j] = dd{sqrtLambda.hi * s.scale[j], sqrtLambda.lo * s.scale[j]}
		s.hi[(n+j)*p+j] = s.ridge[j].hi
	}
	return s, nil
}

// at returns A[i][j] in double-double.
func (s *system) at(i, j int) dd {
	if i >= s.n {
		if j == i-s.n {
			return s.ridge[j]
		}
		return dd{}
	}
	if s.lo == nil {
		return dd{s.hi[i*s.p+j], 0}
	}
	return dd{s.hi[i*s.p+j], s.lo[i*s.p+j]}
}

// factor computes the Householder QR of the float64 heads and returns the reciprocal
// 1-norm condition number of R.
func (s *system) factor() (float64, error) {
	m, p := s.m(), s.p
	s.qr = make([]float64, len(s.hi))
	copy(s.qr, s.hi)
	a := blas64.General{Rows: m, Cols: p, Stride: p, Data: s.qr}
	s.tau = make([]float64, p)
	query := make([]float64, 1)
	lapack64.Geqrf(a, s.tau, query, -1)
	lapack64.Ormqr(blas.Left, blas.Trans, a, s.tau, blas64.General{Rows: m, Cols: 1, Stride: 1, Data: make([]float64, m)}, query[:1:1], -1)
	lwork := max(int(query[0]), p, 1)
	s.work = make([]float64, max(lwork, 64*p))
	lapack64.Geqrf(a, s.tau, s.work, len(s.work))
	for j := 0; j < p; j++ {
		if s.qr[j*p+j] == 0 || math.IsNaN(s.qr[j*p+j]) {
			return 0, fmt.Errorf("%w: column %d is a combination of the others", ErrRankDeficient, j)
		}
	}
	rcond := lapack64.Trcon(lapack.MaxColumnSum, s.r(), make([]float64, 3*p), make([]int, p))
	if rcond < minRCond {
		return rcond, fmt.Errorf("%w: estimated condition number %.3g of the scaled design", ErrRankDeficient, 1/rcond)
	}
	return rcond, nil
}

// r is the upper-triangular factor.
func (s *system) r() blas64.Triangular {
	return blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: s.p, Stride: s.p, Data: s.qr}
}

// applyQ overwrites v (length m) with Q·v, or Qᵀ·v when trans.
func (s *system) applyQ(trans bool, v []float64) {
	t := blas.NoTrans
	if trans {
		t = blas.Trans
	}
	a := blas64.General{Rows: s.m(), Cols: s.p, Stride: s.p, Data: s.qr}
	lapack64.Ormqr(blas.Left, t, a, s.tau, blas64.General{Rows: s.m(), Cols: 1, Stride: 1, Data: v}, s.work, len(s.work))
}

// solveR overwrites v (length p) with R⁻¹v, or R⁻ᵀv when trans.
func (s *system) solveR(trans bool, v []float64) {
	t := blas.NoTrans
	if trans {
		t = blas.Trans
	}
	blas64.Trsv(t, s.r(), blas64.Vector{N: s.p, Inc: 1, Data: v})
}
