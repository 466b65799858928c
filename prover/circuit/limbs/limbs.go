package limbs

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/multicommit"

	"github.com/comet-attest/comet/prover/circuit/sponge"
)

// Limits on the layout: limbs of at most 16 bits keep the table at most 2^16 + 2^15 entries,
// and values of at most 62 bits fit a uint64 natively.
const (
	MinLimbBits  = 2
	MaxLimbBits  = 16
	MaxValueBits = 62
)

// ErrLayout means a layout's widths are out of range.
var ErrLayout = errors.New("invalid limb layout")

// Layout writes a ValueBits-bit unsigned value as ValueBits / LimbBits limbs of LimbBits bits,
// least significant first, then one top limb of ValueBits mod LimbBits bits when that is not 0.
type Layout struct {
	ValueBits int
	LimbBits  int
}

// Validate checks 1 ≤ ValueBits ≤ 62 and 2 ≤ LimbBits ≤ min(16, ValueBits), or a single limb
// when ValueBits < 2.
func (l Layout) Validate() error {
	if l.ValueBits < 1 || l.ValueBits > MaxValueBits {
		return fmt.Errorf("%w: value bits %d not in [1, %d]", ErrLayout, l.ValueBits, MaxValueBits)
	}
	if l.LimbBits < 1 || l.LimbBits > MaxLimbBits || l.LimbBits > l.ValueBits {
		return fmt.Errorf("%w: limb bits %d for %d-bit values", ErrLayout, l.LimbBits, l.ValueBits)
	}
	return nil
}

// Choose returns the layout that minimises the constraints of checking count values of
// valueBits bits: count·limbs(L) + 2^L + 2^(b mod L).
func Choose(valueBits, count int) Layout {
	best, bestCost := Layout{ValueBits: valueBits, LimbBits: min(valueBits, MinLimbBits)}, -1
	for l := 1; l <= min(MaxLimbBits, valueBits); l++ {
		cand := Layout{ValueBits: valueBits, LimbBits: l}
		if cost := count*cand.Count() + cand.TableSize(); bestCost < 0 || cost < bestCost {
			best, bestCost = cand, cost
		}
	}
	return best
}

func (l Layout) full() int { return l.ValueBits / l.LimbBits }
func (l Layout) top() int  { return l.ValueBits % l.LimbBits }

// Count is the number of limbs per value.
func (l Layout) Count() int {
	if l.top() > 0 {
		return l.full() + 1
	}
	return l.full()
}

// TableSize is the number of table entries: 2^L, plus 2^(b mod L) for the top limbs.
func (l Layout) TableSize() int {
	n := 1 << l.LimbBits
	if t := l.top(); t > 0 {
		n += 1 << t
	}
	return n
}

// Split writes u's limbs into dst (len Count()). u must be below 2^ValueBits.
func (l Layout) Split(u uint64, dst []uint64) {
	mask := uint64(1)<<l.LimbBits - 1
	for i := 0; i < l.full(); i++ {
		dst[i] = u & mask
		u >>= l.LimbBits
	}
	if l.top() > 0 {
		dst[l.full()] = u
	}
}

// Compose returns Σ limb_t · 2^(L·t): a linear expression, no constraint.
func (l Layout) Compose(api frontend.API, limbs []frontend.Variable) frontend.Variable {
	var acc frontend.Variable = 0
	shift := new(big.Int)
	for t, limb := range limbs {
		shift.Lsh(big.NewInt(1), uint(l.LimbBits*t))
		acc = api.Add(acc, api.Mul(limb, new(big.Int).Set(shift)))
	}
	return acc
}

// Checker collects limbs and proves, once, that each lies in its range.
type Checker struct {
	api    frontend.API
	layout Layout
	// full holds the limbs of width L, top the short top limbs of width b mod L; they are
	// looked up in the two sections of the table.
	full, top []frontend.Variable
	built     bool
}

// NewChecker returns a checker for values of one layout.
func NewChecker(api frontend.API, layout Layout) (*Checker, error) {
	if err := layout.Validate(); err != nil {
		return nil, err
	}
	return &Checker{api: api, layout: layout}, nil
}

// Value records the limbs of one value (len Count()) for checking and returns the value.
func (c *Checker) Value(limbs []frontend.Variable) (frontend.Variable, error) {
	if len(limbs) != c.layout.Count() {
		return nil, fmt.Errorf("%w: %d limbs, want %d", ErrLayout, len(limbs), c.layout.Count())
	}
	if c.built {
		return nil, errors.New("limbs: checker already built")
	}
	c.full = append(c.full, limbs[:c.layout.full()]...)
	if c.layout.top() > 0 {
		c.top = append(c.top, limbs[c.layout.full()])
	}
	return c.layout.Compose(c.api, limbs), nil
}

// lookupTag separates the challenge γ from every other hash of a Comet circuit.
const lookupTag = "comet/circuit/v1/lookup"

// Build adds the two-column log-derivative argument
//
//	Σ_full 1/(X − q) + Σ_top 1/(X − q − γ) = Σ_{t<2^L} m_t/(X − t) + Σ_{t<2^(b mod L)} m'_t/(X − t − γ)
//
// where X is a commitment to every limb and multiplicity and γ = H(TAG_LOOKUP; X). The section
// term γ keeps a full limb from matching a top entry: with γ unknown when the limbs are fixed,
// a limb outside [0, 2^L) cannot equal t + γ except with negligible probability.
func (c *Checker) Build() error {
	if c.built {
		return errors.New("limbs: checker already built")
	}
	c.built = true
	if len(c.full)+len(c.top) == 0 {
		return nil
	}
	fullSize, topSize := 1<<c.layout.LimbBits, 0
	if t := c.layout.top(); t > 0 {
		topSize = 1 << t
	}
	in := append([]frontend.Variable{fullSize, topSize, len(c.full)}, c.full...)
	in = append(in, c.top...)
	counts, err := c.api.Compiler().NewHint(countHint, fullSize+topSize, in...)
	if err != nil {
		return fmt.Errorf("multiplicity hint: %w", err)
	}
	toCommit := append(append(append([]frontend.Variable{}, c.full...), c.top...), counts...)
	multicommit.WithCommitment(c.api, func(api frontend.API, x frontend.Variable) error {
		gamma := x
		if topSize > 0 {
			h, err := sponge.New(api)
			if err != nil {
				return err
			}
			tag := new(big.Int).SetBytes([]byte(lookupTag))
			if gamma, err = h.Hash(tag, []frontend.Variable{x}); err != nil {
				return err
			}
		}
		var left, right frontend.Variable = 0, 0
		for t := range fullSize {
			left = api.Add(left, api.DivUnchecked(counts[t], api.Sub(x, t)))
		}
		for t := range topSize {
			left = api.Add(left, api.DivUnchecked(counts[fullSize+t], api.Sub(x, api.Add(t, gamma))))
		}
		for _, q := range c.full {
			right = api.Add(right, api.Inverse(api.Sub(x, q)))
		}
		for _, q := range c.top {
			right = api.Add(right, api.Inverse(api.Sub(x, api.Add(q, gamma))))
		}
		api.AssertIsEqual(left, right)
		return nil
	}, toCommit...)
	return nil
}

// Hints returns the solver hints the checker uses; provers pass them to the solver.
func Hints() []solver.Hint { return []solver.Hint{countHint} }

// countHint counts how often each entry of the two table sections is queried: inputs are the
// section sizes, the number of full limbs, the full limbs, then the top limbs. A limb outside
// its section is not counted, so that the argument (not the hint) rejects it.
func countHint(_ *big.Int, in, out []*big.Int) error {
	if len(in) < 3 || !in[0].IsInt64() || !in[1].IsInt64() || !in[2].IsInt64() {
		return errors.New("limbs: bad count hint inputs")
	}
	fullSize, topSize, nFull := in[0].Int64(), in[1].Int64(), in[2].Int64()
	if fullSize+topSize != int64(len(out)) || nFull < 0 || 3+nFull > int64(len(in)) {
		return errors.New("limbs: bad count hint inputs")
	}
	for i := range out {
		out[i].SetUint64(0)
	}
	one := big.NewInt(1)
	count := func(qs []*big.Int, size, base int64) {
		for _, q := range qs {
			if q.IsInt64() && q.Int64() >= 0 && q.Int64() < size {
				out[base+q.Int64()].Add(out[base+q.Int64()], one)
			}
		}
	}
	count(in[3:3+nFull], fullSize, 0)
	count(in[3+nFull:], topSize, fullSize)
	return nil
}
