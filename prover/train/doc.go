// Package train fits linear least-squares models — ordinary least squares and ridge, with or
// without an intercept — to certified accuracy, and chooses the fixed-point weights that
// Comet publishes and proves.
//
// [Fit] works on float64 data. It never forms the normal equations in floating point: it
// factors the column-scaled design with Householder QR (LAPACK's dgeqrf through gonum) and
// then refines the solution of the augmented system
//
//	[ I  A ] [r]   [b]
//	[ Aᵀ 0 ] [z] = [c]
//
// (Björck's method), computing both residuals in double-double arithmetic (TwoSum and an
// FMA-based TwoProduct) until the corrections stop mattering. The covariance (AᵀA)⁻¹ for the
// standard errors is refined the same way, C ← C + R⁻¹R⁻ᵀ(I − AᵀA·C), with AᵀA accumulated
// from exact products in double-double (or given exactly by the fixed-point path); because R
// comes from the QR of A, each step contracts by about κ(A)·2⁻⁵³, not κ². This reaches the
// NIST StRD certified values on every linear-regression dataset, Filip included, where plain
// float64 QR gets about seven digits. Polynomial designs should come from [Polynomial], whose
// powers are exact to double-double: rounding x¹⁰ to float64 alone costs Filip six digits.
// Ridge appends √λ·I rows (√λ in double-double) for the feature columns only; the intercept
// is never penalised.
//
// [FitFixed] works on a fixed-point table: it trains on the exactly dequantized values and
// then searches integer weights that minimise the integer optimality residual that the
// proof checks, and returns the exact residual sum of squares, ΣY and ΣY² of those integer
// weights, from which the model file's proven metrics derive ([Metrics] computes the same
// row by row). docs/model.md defines both normatively.
//
// The package does not read files, commit to data or prove anything.
package train
