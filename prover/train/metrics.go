package train

import "math"

// metrics fills the residual sum of squares, σ̂, RMSE and R² of res from the scaled
// solution z, with residuals and sums in double-double so that an exact fit gives an exact 0.
func (s *system) metrics(res *Result, y, z []float64) {
	p := s.p
	var ssr, sum dd
	for i := 0; i < s.n; i++ {
		e := dd{y[i], 0}
		for j := 0; j < p; j++ {
			a := s.at(i, j)
			e = e.mulAdd(dd{-a.hi, -a.lo}, z[j])
		}
		ssr = ssr.add(e.mul(e))
		sum = sum.addFloat(y[i])
	}
	var mean dd
	if res.Options.Intercept {
		mean = sum.divFloat(float64(s.n))
	}
	var sst dd
	for _, v := range y {
		e := dd{v, 0}.add(dd{-mean.hi, -mean.lo})
		sst = sst.add(e.mul(e))
	}
	res.SSR = ssr.float()
	res.ResidualSD = math.Sqrt(res.SSR / float64(s.n-p))
	res.RMSE = math.Sqrt(res.SSR / float64(s.n))
	if sst.hi > 0 {
		// 1 − SSR/SST = (SST − SSR)/SST, with the subtraction in double-double.
		res.R2 = sst.add(dd{-ssr.hi, -ssr.lo}).float() / sst.float()
	}
}

// stdErrors returns the standard errors of w = S·z from c = (AᵀA)⁻¹ (column-major, scaled
// coordinates) and σ̂. For ridge, AᵀA = XᵀX + λ·I, and the variance of the estimate is
// σ̂²·(C − C·Λ·C) in scaled coordinates, Λ holding λ·s_j² on the feature diagonal.
func (s *system) stdErrors(c []float64, sigma float64) []float64 {
	p := s.p
	se := make([]float64, p)
	for j := 0; j < p; j++ {
		v := c[j*p+j]
		for k, r := range s.ridge {
			l := r.mul(r).float()
			v -= l * c[j*p+k] * c[j*p+k]
		}
		se[j] = sigma * math.Sqrt(max(v, 0)) * s.scale[j]
	}
	return se
}
