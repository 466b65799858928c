// Package fixedpoint converts between decimal or binary floating-point values and the signed
// fixed-point integers that Comet commits to and proves over.
//
// A [Format] has f fraction bits and b value bits: a real value x is represented by the
// integer v = round(x · 2^f), rounding half to even, and v must lie in the signed b-bit range
// [-2^(b-1), 2^(b-1)-1]. Values outside the range are an error ([ErrOverflow]), never clipped:
// a silently clipped value would make the committed dataset differ from the one the provider
// believes they committed.
//
// Decimal strings are converted exactly (no detour through float64), so "0.1" with f = 16
// always gives round(6553.6) = 6554 whatever the platform. b is at most 62 so that values and
// their offsets fit an int64, and an in-range value converts back to float64 exactly whenever
// b ≤ 53.
package fixedpoint
