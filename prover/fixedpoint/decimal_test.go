package fixedpoint

import (
	"math/big"
	"testing"
)

func TestDecimal(t *testing.T) {
	for _, tc := range []struct {
		v    int64
		bits int
		want string
	}{
		{0, 8, "0"}, {256, 8, "1"}, {1, 1, "0.5"}, {3, 2, "0.75"}, {1, 4, "0.0625"}, {513, 8, "2.00390625"}, {-3, 2, "-0.75"},
	} {
		if got := Decimal(big.NewInt(tc.v), tc.bits); got != tc.want {
			t.Errorf("Decimal(%d, %d) = %q, want %q", tc.v, tc.bits, got, tc.want)
		}
	}
}
