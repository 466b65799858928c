package model

import (
	"fmt"
	"math/big"

	"github.com/comet-attest/comet/prover/fixedpoint"
)

// metricsPrec is the big.Float precision of rmse and residual_sd before their one rounding
// to float64. It is part of the definition: every verifier must derive the same bits.
const metricsPrec = 256

// DeriveMetrics returns the float metrics of docs/model.md from the proven integers of a
// model with n rows, p parameters (features, plus one with an intercept) and f fraction
// bits: ssr = Σ e_i² in units of 2^-(4f), sumY = Σ Y_i in units of 2^-f and sumY2 = Σ Y_i²
// in units of 2^-(2f).
//
// r2 = 1 − SSR/SST as an exact rational rounded to the nearest float64, with SST =
// ΣY²/2^(2f) − (ΣY/2^f)²/n with an intercept and ΣY²/2^(2f) without (uncentered, as NIST
// certifies models through the origin), and 0 when SST = 0. rmse = √(SSR/n) and
// residualSD = √(SSR/(n−p)) (0 when n ≤ p) are computed in big.Float at 256 bits (the
// quotient, then its square root) and rounded to the nearest float64. The function is
// deterministic so that a file's floats can be required to equal it bit for bit.
func DeriveMetrics(n int64, p int, intercept bool, fractionBits int, ssr, sumY, sumY2 *big.Int) (r2, rmse, residualSD float64, err error) {
	switch {
	case ssr == nil || sumY == nil || sumY2 == nil:
		return 0, 0, 0, fmt.Errorf("%w: metrics: ssr, sum_y and sum_y2 are all required", ErrInvalid)
	case n <= 0:
		return 0, 0, 0, fmt.Errorf("%w: metrics.n is %d, must be > 0", ErrInvalid, n)
	case p < 0:
		return 0, 0, 0, fmt.Errorf("%w: metrics: %d parameters", ErrInvalid, p)
	case fractionBits < 0 || fractionBits >= fixedpoint.MaxValueBits:
		return 0, 0, 0, fmt.Errorf("%w: metrics: fraction bits %d not in [0, %d)", ErrInvalid, fractionBits, fixedpoint.MaxValueBits)
	case ssr.Sign() < 0:
		return 0, 0, 0, fmt.Errorf("%w: metrics.ssr %v is negative", ErrInvalid, ssr)
	case sumY2.Sign() < 0:
		return 0, 0, 0, fmt.Errorf("%w: metrics.sum_y2 %v is negative", ErrInvalid, sumY2)
	}
	nb := big.NewInt(n)
	// n·ΣY² − (ΣY)² is n·Σ(Y_i − Ȳ)², never negative for real rows (Cauchy–Schwarz).
	centred := new(big.Int).Mul(nb, sumY2)
	centred.Sub(centred, new(big.Int).Mul(sumY, sumY))
	if centred.Sign() < 0 {
		return 0, 0, 0, fmt.Errorf("%w: metrics: sum_y² exceeds n·sum_y2, no %d rows have these sums", ErrInvalid, n)
	}
	f := uint(fractionBits)

	// sst is SST·2^(2f); SSR/SST = ssr / (sst·2^(2f)).
	sst := new(big.Rat).SetInt(sumY2)
	if intercept {
		sst.SetFrac(centred, nb)
	}
	if sst.Sign() != 0 {
		q := new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), 2*f))
		q.Mul(q, sst)
		q.Quo(new(big.Rat).SetInt(ssr), q)
		r2, _ = q.Sub(big.NewRat(1, 1), q).Float64()
	}

	s := new(big.Float).SetPrec(metricsPrec).SetInt(ssr)
	s.SetMantExp(s, -4*fractionBits)
	rmse = sqrtQuo(s, n)
	if n > int64(p) {
		residualSD = sqrtQuo(s, n-int64(p))
	}
	return r2, rmse, residualSD, nil
}

// sqrtQuo returns √(s/k) with the quotient and the root each rounded to metricsPrec bits,
// then rounded to the nearest float64.
func sqrtQuo(s *big.Float, k int64) float64 {
	q := new(big.Float).SetPrec(metricsPrec).Quo(s, new(big.Float).SetPrec(metricsPrec).SetInt64(k))
	v, _ := new(big.Float).SetPrec(metricsPrec).Sqrt(q).Float64()
	return v
}
