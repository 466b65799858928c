package fixedpoint

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
)

// Sentinel causes; callers test them with errors.Is.
var (
	// ErrOverflow means the value does not fit the format's signed b-bit range.
	ErrOverflow = errors.New("value out of fixed-point range")
	// ErrNotFinite means the value is NaN or infinite.
	ErrNotFinite = errors.New("value is NaN or infinite")
	// ErrSyntax means the text is not a decimal number.
	ErrSyntax = errors.New("not a decimal number")
	// ErrFormat means the format itself is invalid.
	ErrFormat = errors.New("invalid fixed-point format")
)

// Bounds of a valid Format.
const (
	MinValueBits = 2
	MaxValueBits = 62
)

// Format is a signed fixed-point format: FractionBits (f) bits after the binary point and
// ValueBits (b) bits in all, sign included.
type Format struct {
	FractionBits int `json:"fraction_bits"`
	ValueBits    int `json:"value_bits"`
}

// Default is the format `comet dataset commit` uses when no flags are given.
var Default = Format{FractionBits: 16, ValueBits: 48}

// Validate reports whether the format can be used: 2 ≤ b ≤ 62 and 0 ≤ f < b.
func (f Format) Validate() error {
	switch {
	case f.ValueBits < MinValueBits || f.ValueBits > MaxValueBits:
		return fmt.Errorf("%w: value bits %d not in [%d, %d]", ErrFormat, f.ValueBits, MinValueBits, MaxValueBits)
	case f.FractionBits < 0 || f.FractionBits >= f.ValueBits:
		return fmt.Errorf("%w: fraction bits %d not in [0, %d)", ErrFormat, f.FractionBits, f.ValueBits)
	}
	return nil
}

// String is the format as Q-notation with the total width, e.g. "Q31.16/48".
func (f Format) String() string {
	return fmt.Sprintf("Q%d.%d/%d", f.ValueBits-f.FractionBits-1, f.FractionBits, f.ValueBits)
}

// Min is the smallest representable integer, -2^(b-1).
func (f Format) Min() int64 { return -(int64(1) << (f.ValueBits - 1)) }

// Max is the largest representable integer, 2^(b-1)-1.
func (f Format) Max() int64 { return int64(1)<<(f.ValueBits-1) - 1 }

// One is the integer that represents 1.0.
func (f Format) One() int64 { return int64(1) << f.FractionBits }

// InRange reports whether v lies in the signed b-bit range.
func (f Format) InRange(v int64) bool { return v >= f.Min() && v <= f.Max() }

// ToFloat returns v / 2^f, exact when |v| < 2^53.
func (f Format) ToFloat(v int64) float64 { return math.Ldexp(float64(v), -f.FractionBits) }

// FromFloat returns round(x · 2^f), rounding half to even. Multiplying by a power of two is
// exact in binary floating point, so the only rounding is the final one.
func (f Format) FromFloat(x float64) (int64, error) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, ErrNotFinite
	}
	scaled := math.RoundToEven(math.Ldexp(x, f.FractionBits))
	if scaled < -0x1p62 || scaled > 0x1p62 {
		return 0, fmt.Errorf("%w: %g does not fit %s", ErrOverflow, x, f)
	}
	v := int64(scaled)
	if !f.InRange(v) {
		return 0, fmt.Errorf("%w: %g does not fit %s", ErrOverflow, x, f)
	}
	return v, nil
}

// Parse converts a decimal string ("-12.5", "3e-4", "+7") to fixed point exactly, rounding
// half to even. Hexadecimal floats, NaN and Inf are refused: a dataset cell is a decimal number.
func (f Format) Parse(s string) (int64, error) {
	if v, ok, err := f.parseFast(s); ok {
		return v, err
	}
	return f.parseExact(s)
}

// parseFast handles plain decimals of at most 18 significant digits and small exponents with
// 128-bit integer arithmetic; ok is false when the slow exact path must decide.
func (f Format) parseFast(s string) (v int64, ok bool, err error) {
	neg := false
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var mant uint64
	digits, fracDigits := 0, 0
	sawDot, sawDigit := false, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			sawDigit = true
			if mant == 0 && c == '0' {
				if sawDot {
					fracDigits++
				}
				continue
			}
			if digits == 18 {
				return 0, false, nil
			}
			mant = mant*10 + uint64(c-'0')
			digits++
			if sawDot {
				fracDigits++
			}
		case c == '.' && !sawDot:
			sawDot = true
		default:
			return 0, false, nil // exponent, junk or anything unusual: exact path decides
		}
	}
	if !sawDigit || fracDigits > 19 {
		return 0, false, nil
	}
	// value = mant / 10^fracDigits; scaled = mant · 2^f / 10^fracDigits, f ≤ 61.
	hi, lo := bits.Mul64(mant, 1<<uint(f.FractionBits))
	den := pow10[fracDigits]
	if hi >= den {
		return 0, true, fmt.Errorf("%w: %s does not fit %s", ErrOverflow, s, f)
	}
	q, r := bits.Div64(hi, lo, den)
	// round half to even: compare 2r with den without overflow.
	if r > den-r || (r == den-r && q&1 == 1) {
		q++
	}
	limit := uint64(1) << uint(f.ValueBits-1)
	if (!neg && q >= limit) || (neg && q > limit) {
		return 0, true, fmt.Errorf("%w: %s does not fit %s", ErrOverflow, s, f)
	}
	if neg {
		return -int64(q), true, nil
	}
	return int64(q), true, nil
}

var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// maxExponent bounds the decimal exponent the exact path accepts, so that "1e999999999" is a
// quick overflow error rather than a huge big.Int computation.
const maxExponent = 400

func (f Format) parseExact(s string) (int64, error) {
	t := strings.TrimLeft(s, "+-")
	if t == "" || strings.ContainsAny(t, "xXpP_/ ") || strings.EqualFold(t, "nan") || strings.HasPrefix(strings.ToLower(t), "inf") {
		if x, err := strconv.ParseFloat(s, 64); err == nil && (math.IsNaN(x) || math.IsInf(x, 0)) {
			return 0, ErrNotFinite
		}
		return 0, fmt.Errorf("%w: %q", ErrSyntax, s)
	}
	if e := strings.IndexAny(t, "eE"); e >= 0 {
		exp, err := strconv.Atoi(t[e+1:])
		if err != nil {
			return 0, fmt.Errorf("%w: %q", ErrSyntax, s)
		}
		if exp > maxExponent {
			if strings.Trim(t[:e], "0.") == "" {
				return 0, nil
			}
			return 0, fmt.Errorf("%w: %s does not fit %s", ErrOverflow, s, f)
		}
		if exp < -maxExponent {
			return 0, nil // far below 2^-62: rounds to zero
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrSyntax, s)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), uint(f.FractionBits))))
	q := roundHalfEven(r)
	if !q.IsInt64() || !f.InRange(q.Int64()) {
		return 0, fmt.Errorf("%w: %s does not fit %s", ErrOverflow, s, f)
	}
	return q.Int64(), nil
}

// roundHalfEven rounds a rational to the nearest integer, ties to even.
func roundHalfEven(r *big.Rat) *big.Int {
	num, den := r.Num(), r.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if m.Sign() == 0 {
		return q
	}
	// QuoRem truncates toward zero; |m| < den and m has num's sign.
	twice := new(big.Int).Abs(m)
	twice.Lsh(twice, 1)
	c := twice.Cmp(den)
	if c > 0 || (c == 0 && q.Bit(0) == 1) {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

// FormatValue renders v as a decimal string of the exact value v / 2^f, without trailing
// zeros.
func (f Format) FormatValue(v int64) string { return Decimal(big.NewInt(v), f.FractionBits) }

// Decimal renders v / 2^bits exactly (a binary fraction always has a finite decimal
// expansion), without trailing zeros: for values wider than int64 and scales other than
// 2^f, such as the products of fixed-point values a proof makes public.
func Decimal(v *big.Int, bits int) string {
	s := new(big.Rat).SetFrac(v, new(big.Int).Lsh(big.NewInt(1), uint(bits))).FloatString(bits)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
