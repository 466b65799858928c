package fixedpoint

import (
	"errors"
	"math"
	"math/big"
	"testing"
)

func TestParse(t *testing.T) {
	f16 := Format{FractionBits: 16, ValueBits: 48}
	f0 := Format{FractionBits: 0, ValueBits: 8}
	f2 := Format{FractionBits: 2, ValueBits: 8}
	tests := []struct {
		f    Format
		in   string
		want int64
		err  error
	}{
		{f16, "0", 0, nil},
		{f16, "-0", 0, nil},
		{f16, "1", 65536, nil},
		{f16, "+1.5", 98304, nil},
		{f16, "-2.25", -147456, nil},
		{f16, "0.1", 6554, nil}, // 6553.6 rounds up
		{f16, "1e2", 6553600, nil},
		{f16, "1E-1", 6554, nil},
		{f16, "00012.50", 819200, nil},
		{f16, ".5", 32768, nil},
		{f16, "5.", 327680, nil},
		// Ties go to even, on both sides of zero.
		{f0, "2.5", 2, nil},
		{f0, "3.5", 4, nil},
		{f0, "-2.5", -2, nil},
		{f0, "-3.5", -4, nil},
		{f2, "0.125", 0, nil}, // 0.5 units → 0
		{f2, "0.375", 2, nil}, // 1.5 units → 2
		{f2, "-0.375", -2, nil},
		{f0, "2.5000000000000000000000001", 3, nil}, // beyond 18 digits: exact path
		// Range edges of an 8-bit value.
		{f0, "127", 127, nil},
		{f0, "-128", -128, nil},
		{f0, "127.4", 127, nil},
		{f0, "127.5", 0, ErrOverflow}, // rounds to 128
		{f0, "128", 0, ErrOverflow},
		{f0, "-128.5", -128, nil}, // tie to even: -128
		{f0, "-129", 0, ErrOverflow},
		{f16, "1e400", 0, ErrOverflow},
		{f16, "1e999999999", 0, ErrOverflow},
		{f16, "0e999999999", 0, nil},
		{f16, "1e-999999", 0, nil},
		{f16, "99999999999999999999999", 0, ErrOverflow},
		// Not numbers.
		{f16, "NaN", 0, ErrNotFinite},
		{f16, "-Inf", 0, ErrNotFinite},
		{f16, "infinity", 0, ErrNotFinite},
		{f16, "", 0, ErrSyntax},
		{f16, "-", 0, ErrSyntax},
		{f16, ".", 0, ErrSyntax},
		{f16, "abc", 0, ErrSyntax},
		{f16, "1/3", 0, ErrSyntax},
		{f16, "0x1p3", 0, ErrSyntax},
		{f16, "1_000", 0, ErrSyntax},
		{f16, "1.2.3", 0, ErrSyntax},
		{f16, "1e", 0, ErrSyntax},
		{f16, " 1", 0, ErrSyntax},
	}
	for _, tt := range tests {
		got, err := tt.f.Parse(tt.in)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%s.Parse(%q) error = %v, want %v", tt.f, tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s.Parse(%q) = %d, %v; want %d", tt.f, tt.in, got, err, tt.want)
		}
	}
}

func TestFromFloat(t *testing.T) {
	f := Format{FractionBits: 1, ValueBits: 8}
	tests := []struct {
		in   float64
		want int64
		err  error
	}{
		{0.25, 0, nil}, // 0.5 units → even 0
		{0.75, 2, nil}, // 1.5 units → 2
		{-0.75, -2, nil},
		{63.5, 127, nil},
		{63.75, 0, ErrOverflow},
		{-64, -128, nil},
		{math.NaN(), 0, ErrNotFinite},
		{math.Inf(-1), 0, ErrNotFinite},
		{1e300, 0, ErrOverflow},
	}
	for _, tt := range tests {
		got, err := f.FromFloat(tt.in)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("FromFloat(%g) error = %v, want %v", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("FromFloat(%g) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		f  Format
		ok bool
	}{
		{Format{16, 48}, true},
		{Format{0, 2}, true},
		{Format{61, 62}, true},
		{Format{0, 1}, false},
		{Format{0, 63}, false},
		{Format{8, 8}, false},
		{Format{-1, 8}, false},
	} {
		if err := tt.f.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tt.f, err, tt.ok)
		}
	}
}

func TestFormatValueRoundTrip(t *testing.T) {
	f := Format{FractionBits: 16, ValueBits: 48}
	for _, v := range []int64{0, 1, -1, 65536, 6554, -147456, f.Max(), f.Min()} {
		s := f.FormatValue(v)
		back, err := f.Parse(s)
		if err != nil || back != v {
			t.Errorf("Parse(FormatValue(%d) = %q) = %d, %v", v, s, back, err)
		}
		if x := f.ToFloat(v); x != math.Ldexp(float64(v), -16) {
			t.Errorf("ToFloat(%d) = %g", v, x)
		}
	}
}

// The fast path must agree with exact rational rounding wherever it answers.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "0.1", "-2.5", "1e3", "127.5", "12345678901234567890", ".5", "-0.000001"} {
		f.Add(s, uint8(16), uint8(48))
	}
	f.Fuzz(func(t *testing.T, s string, fb, vb uint8) {
		format := Format{FractionBits: int(fb % 62), ValueBits: int(vb%61) + 2}
		if format.Validate() != nil {
			return
		}
		got, err := format.Parse(s)
		r, ok := new(big.Rat).SetString(s)
		if !ok || len(s) > 64 {
			return
		}
		if err != nil {
			if errors.Is(err, ErrOverflow) || errors.Is(err, ErrSyntax) {
				return
			}
			t.Fatalf("Parse(%q) = %v though big.Rat parses it", s, err)
		}
		r.Mul(r, new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), uint(format.FractionBits))))
		if want := roundHalfEven(r); want.Int64() != got || !want.IsInt64() {
			t.Fatalf("%s.Parse(%q) = %d, want %s", format, s, got, want)
		}
		if !format.InRange(got) {
			t.Fatalf("Parse(%q) = %d outside %s", s, got, format)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	f := Default
	for b.Loop() {
		if _, err := f.Parse("-12345.6789"); err != nil {
			b.Fatal(err)
		}
	}
}
