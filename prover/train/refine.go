package train

import (
	"context"
	"fmt"
	"math"
)

// maxRefinements bounds the refinement loops. Each step gains about -log10(κ·2⁻⁵³) digits,
// so a problem that needs more than a handful is on the edge of what float64 QR can
// precondition; the bound only stops a loop that no longer contracts.
const maxRefinements = 40

// converged is the relative size of a correction below which it no longer changes the
// float64 solution.
const converged = 0x1p-60

// solve returns z = argmin ‖b − A z‖ for b = (y, 0 on ridge rows) by Björck's refinement of
// the augmented system [I A; Aᵀ 0][r; z] = [b; 0], with both residuals in double-double.
// It returns the number of refinement steps after the first solve.
func (s *system) solve(ctx context.Context, y []float64) (z []float64, steps int, err error) {
	m, p := s.m(), s.p
	z = make([]float64, p)
	r := make([]float64, m)
	f := make([]float64, m)
	g := make([]float64, p)
	copy(f, y) // first step from r = 0, z = 0: f = b, g = 0
	prev := math.Inf(1)
	for step := 0; ; step++ {
		if err := ctx.Err(); err != nil {
			return nil, step, err
		}
		dz, dr := s.correction(f, g)
		for j := range z {
			z[j] += dz[j]
		}
		for i := range r {
			r[i] += dr[i]
		}
		size, norm := maxAbs(dz), maxAbs(z)
		if size <= converged*norm {
			return z, step, nil
		}
		if step >= maxRefinements || (step > 1 && size > prev/2) {
			if size <= 0x1p-45*norm {
				return z, step, nil // stagnated at the float64 rounding level
			}
			return nil, step, fmt.Errorf("%w: refinement stalled at relative correction %.2g", ErrIllConditioned, size/norm)
		}
		prev = size
		s.residuals(y, r, z, f, g)
	}
}

// correction solves [I A; Aᵀ 0][δr; δz] = [f; g] with the float64 QR factors:
// h = R⁻ᵀg, d = Qᵀf, δz = R⁻¹(d₁ − h), δr = Q[h; d₂]. It overwrites f and g.
func (s *system) correction(f, g []float64) (dz, dr []float64) {
	p := s.p
	s.solveR(true, g)
	s.applyQ(true, f)
	dz = make([]float64, p)
	for j := range dz {
		dz[j] = f[j] - g[j]
	}
	s.solveR(false, dz)
	copy(f[:p], g)
	s.applyQ(false, f)
	return dz, f
}

// residuals sets f = b − r − A z and g = −Aᵀ r, each accumulated in double-double and then
// rounded; b is y on the data rows and 0 on the ridge rows.
func (s *system) residuals(y, r, z, f, g []float64) {
	p := s.p
	acc := make([]dd, p)
	for i := 0; i < s.n; i++ {
		e := dd{y[i], 0}.addFloat(-r[i])
		row := s.hi[i*p : (i+1)*p]
		if s.lo == nil {
			for j, a := range row {
				e = e.mulAdd(dd{-a, 0}, z[j])
				acc[j] = acc[j].mulAdd(dd{-a, 0}, r[i])
			}
		} else {
			tail := s.lo[i*p : (i+1)*p]
			for j, a := range row {
				e = e.mulAdd(dd{-a, -tail[j]}, z[j])
				acc[j] = acc[j].mulAdd(dd{-a, -tail[j]}, r[i])
			}
		}
		f[i] = e.float()
	}
	for j, c := range s.ridge {
		i := s.n + j
		neg := dd{-c.hi, -c.lo}
		f[i] = dd{-r[i], 0}.mulAdd(neg, z[j]).float()
		acc[j] = acc[j].mulAdd(neg, r[i])
	}
	for j := range g {
		g[j] = acc[j].float()
	}
}

// gram returns AᵀA (ridge rows included) in double-double, row-major p×p. Each product is
// exact before it is added, so the only errors are the 2⁻¹⁰⁶-relative additions.
func (s *system) gram() []dd {
	p := s.p
	h := make([]dd, p*p)
	for i := 0; i < s.n; i++ {
		row := s.hi[i*p : (i+1)*p]
		for j := range row {
			aj := s.at(i, j)
			for k := j; k < p; k++ {
				if s.lo == nil {
					h[j*p+k] = h[j*p+k].mulAdd(aj, row[k])
				} else {
					h[j*p+k] = h[j*p+k].add(aj.mul(s.at(i, k)))
				}
			}
		}
	}
	for j, c := range s.ridge {
		h[j*p+j] = h[j*p+j].add(c.mul(c))
	}
	for j := 0; j < p; j++ {
		for k := 0; k < j; k++ {
			h[j*p+k] = h[k*p+j]
		}
	}
	return h
}

// inverse returns (AᵀA)⁻¹ given AᵀA = h in double-double, by the corrected seminormal
// iteration C ← C + R⁻¹R⁻ᵀ(I − hC), starting from R⁻¹R⁻ᵀ. Its convergence factor is about
// κ(A)·2⁻⁵³ because R comes from the QR of A, not from a Cholesky factor of h.
func (s *system) inverse(ctx context.Context, h []dd) ([]float64, error) {
	p := s.p
	c := make([]float64, p*p) // column-major: column k at c[k*p:(k+1)*p]
	col := make([]float64, p)
	prev := math.Inf(1)
	for step := 0; ; step++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		size := 0.0
		for k := 0; k < p; k++ {
			ck := c[k*p : (k+1)*p]
			for j := 0; j < p; j++ {
				e := dd{}
				if j == k {
					e.hi = 1
				}
				for l := 0; l < p; l++ {
					e = e.mulAdd(dd{-h[j*p+l].hi, -h[j*p+l].lo}, ck[l])
				}
				col[j] = e.float()
			}
			s.solveR(true, col)
			s.solveR(false, col)
			for j := range col {
				ck[j] += col[j]
			}
			size = max(size, maxAbs(col)/maxAbs(ck))
		}
		if size <= converged {
			return c, nil
		}
		if step >= maxRefinements || (step > 1 && size > prev/2) {
			if size <= 0x1p-40 {
				return c, nil
			}
			return nil, fmt.Errorf("%w: covariance refinement stalled at relative correction %.2g", ErrIllConditioned, size)
		}
		prev = size
	}
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	return m
}
