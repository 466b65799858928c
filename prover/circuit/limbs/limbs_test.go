package limbs

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"
)

func TestChoose(t *testing.T) {
	for _, c := range []struct {
		bits, count, want int
	}{
		{32, 9216, 11},    // 11+11+10: 3 lookups a value, table 2^11 + 2^10
		{16, 9216, 8},     // 8+8
		{32, 1 << 20, 16}, // many values pay for the big table
		{1, 10, 1},
	} {
		if got := Choose(c.bits, c.count); got.LimbBits != c.want {
			t.Errorf("Choose(%d, %d) = %d-bit limbs, want %d", c.bits, c.count, got.LimbBits, c.want)
		}
	}
}

func TestSplit(t *testing.T) {
	for _, l := range []Layout{{32, 11}, {16, 8}, {62, 16}, {5, 5}, {48, 13}} {
		if err := l.Validate(); err != nil {
			t.Fatal(err)
		}
		for _, u := range []uint64{0, 1, 1<<l.ValueBits - 1, 1 << (l.ValueBits - 1), 0x5555555555555555 & (1<<l.ValueBits - 1)} {
			out := make([]uint64, l.Count())
			l.Split(u, out)
			var back uint64
			for i := len(out) - 1; i >= 0; i-- {
				back = back<<l.LimbBits | out[i]
			}
			if back != u {
				t.Fatalf("%+v: %d splits to %v", l, u, out)
			}
		}
	}
	if err := (Layout{ValueBits: 63, LimbBits: 8}).Validate(); err == nil {
		t.Fatal("63-bit values accepted")
	}
	if err := (Layout{ValueBits: 8, LimbBits: 9}).Validate(); err == nil {
		t.Fatal("limbs wider than the value accepted")
	}
}

type rangeCircuit struct {
	Limbs  [][]frontend.Variable
	Values []frontend.Variable `gnark:",public"`
	layout Layout
}

func (c *rangeCircuit) Define(api frontend.API) error {
	ch, err := NewChecker(api, c.layout)
	if err != nil {
		return err
	}
	for i := range c.Limbs {
		v, err := ch.Value(c.Limbs[i])
		if err != nil {
			return err
		}
		api.AssertIsEqual(v, c.Values[i])
	}
	return ch.Build()
}

func newRange(l Layout, n int) *rangeCircuit {
	c := &rangeCircuit{Limbs: make([][]frontend.Variable, n), Values: make([]frontend.Variable, n), layout: l}
	for i := range c.Limbs {
		c.Limbs[i] = make([]frontend.Variable, l.Count())
	}
	return c
}

// TestChecker: the values at both ends of the range pass; a limb one past its width, a top
// limb one past its shorter width, and a limb written as a negative field element fail.
func TestChecker(t *testing.T) {
	for _, l := range []Layout{{32, 11}, {16, 8}, {10, 4}} {
		edge := []uint64{0, 1, 1<<l.ValueBits - 1, 1 << (l.ValueBits - 1)}
		honest := func() *rangeCircuit {
			c := newRange(l, len(edge))
			for i, u := range edge {
				out := make([]uint64, l.Count())
				l.Split(u, out)
				for j := range out {
					c.Limbs[i][j] = out[j]
				}
				c.Values[i] = u
			}
			return c
		}
		field := ecc.BN254.ScalarField()
		if err := test.IsSolved(newRange(l, len(edge)), honest(), field); err != nil {
			t.Fatalf("%+v: honest values rejected: %v", l, err)
		}
		top := l.Count() - 1
		topBits := l.ValueBits - l.LimbBits*(l.Count()-1)
		for name, tamper := range map[string]func(c *rangeCircuit){
			"low limb 2^L": func(c *rangeCircuit) {
				c.Limbs[0][0] = uint64(1) << l.LimbBits
				c.Values[0] = uint64(1) << l.LimbBits
			},
			"top limb past its width (value 2^b)": func(c *rangeCircuit) {
				c.Limbs[2] = make([]frontend.Variable, l.Count())
				for j := range c.Limbs[2] {
					c.Limbs[2][j] = 0
				}
				c.Limbs[2][top] = uint64(1) << topBits
				c.Values[2] = uint64(1) << l.ValueBits
			},
			"negative limb": func(c *rangeCircuit) {
				c.Limbs[1][0] = -1
				c.Values[1] = -1
			},
		} {
			c := honest()
			tamper(c)
			if err := test.IsSolved(newRange(l, len(edge)), c, field); err == nil {
				t.Errorf("%+v: %s accepted", l, name)
			}
		}
	}
}
