package train

import "math"

// dd is a double-double number hi+lo with |lo| ≤ ulp(hi)/2, about 106 bits of precision.
// The residuals of the refinement are computed in it; everything else stays in float64.
type dd struct{ hi, lo float64 }

// twoSum returns s = fl(a+b) and the exact error e, a+b = s+e (Knuth).
func twoSum(a, b float64) (s, e float64) {
	s = a + b
	bb := s - a
	e = (a - (s - bb)) + (b - bb)
	return s, e
}

// twoProd returns p = fl(a·b) and the exact error e, a·b = p+e, using one FMA.
func twoProd(a, b float64) (p, e float64) {
	p = a * b
	e = math.FMA(a, b, -p)
	return p, e
}

// add returns x + y.
func (x dd) add(y dd) dd {
	s, e := twoSum(x.hi, y.hi)
	t, f := twoSum(x.lo, y.lo)
	e += t
	s, e = fastTwoSum(s, e)
	e += f
	s, e = fastTwoSum(s, e)
	return dd{s, e}
}

// addFloat returns x + y.
func (x dd) addFloat(y float64) dd {
	s, e := twoSum(x.hi, y)
	e += x.lo
	s, e = fastTwoSum(s, e)
	return dd{s, e}
}

// mulAdd returns x + a·b for a double-double a and a float64 b. The product's a.lo·b term
// and the rounding of the last additions are the only errors, all of order 2⁻¹⁰⁶.
func (x dd) mulAdd(a dd, b float64) dd {
	p, e := twoProd(a.hi, b)
	e = math.FMA(a.lo, b, e)
	return x.add(dd{p, e})
}

// mul returns x·y.
func (x dd) mul(y dd) dd {
	p, e := twoProd(x.hi, y.hi)
	e += x.hi*y.lo + x.lo*y.hi
	p, e = fastTwoSum(p, e)
	return dd{p, e}
}

// float returns x rounded to float64.
func (x dd) float() float64 { return x.hi + x.lo }

// fastTwoSum is twoSum for |a| ≥ |b| (or a = 0).
func fastTwoSum(a, b float64) (s, e float64) {
	s = a + b
	e = b - (s - a)
	return s, e
}

// ddSqrt returns √a in double-double: one Newton step from the float64 root.
func ddSqrt(a float64) dd {
	if a <= 0 {
		return dd{}
	}
	s := math.Sqrt(a)
	p, e := twoProd(s, s)
	// √a ≈ s + (a − s²)/(2s), with a − s² computed exactly.
	corr := ((a - p) - e) / (2 * s)
	hi, lo := fastTwoSum(s, corr)
	return dd{hi, lo}
}

// divFloat returns x / y.
func (x dd) divFloat(y float64) dd {
	q := x.hi / y
	p, e := twoProd(q, y)
	r := ((x.hi - p) - e + x.lo) / y
	q, r = fastTwoSum(q, r)
	return dd{q, r}
}
