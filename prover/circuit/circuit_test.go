package circuit

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/test"

	"github.com/comet-attest/comet/prover/commitment"
)

// vector is the part of prover/commitment's golden vectors the circuit tests read.
type vector struct {
	Name       string              `json:"name"`
	Header     commitment.Header   `json:"header"`
	Salt       commitment.Salt     `json:"salt"`
	Rows       [][]int64           `json:"rows"`
	Chunks     []commitment.Digest `json:"chunks"`
	Commitment commitment.Digest   `json:"commitment"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	b, err := os.ReadFile("../commitment/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	return vs
}

func (v vector) chunk(i int) []int64 {
	h := v.Header
	var values []int64
	for _, r := range v.Rows[i*h.ChunkRows : i*h.ChunkRows+h.ChunkLen(i)] {
		values = append(values, r...)
	}
	return values
}

var compiled sync.Map // shape and circuit → constraint.ConstraintSystem

// solve runs the assignment through gnark's test engine and, unless -short, through the
// compiled R1CS's solver as well; the two must agree.
func solve(t *testing.T, placeholder, assignment frontend.Circuit) error {
	t.Helper()
	field := ecc.BN254.ScalarField()
	engineErr := test.IsSolved(placeholder, assignment, field)
	if testing.Short() {
		return engineErr
	}
	key := fmt.Sprintf("%T %v", placeholder, placeholder)
	cs, ok := compiled.Load(key)
	if !ok {
		c, err := frontend.Compile(field, r1cs.NewBuilder, placeholder)
		if err != nil {
			t.Fatal(err)
		}
		cs, _ = compiled.LoadOrStore(key, c)
	}
	w, err := frontend.NewWitness(assignment, field)
	if err != nil {
		t.Fatal(err)
	}
	solverErr := cs.(constraint.ConstraintSystem).IsSolved(w, solver.WithHints(Hints()...))
	if (engineErr == nil) != (solverErr == nil) {
		t.Fatalf("test engine (%v) and R1CS solver (%v) disagree", engineErr, solverErr)
	}
	return engineErr
}

func randomWeights(rng *rand.Rand, n int, bits int) []*big.Int {
	w := make([]*big.Int, n)
	for j := range w {
		w[j] = big.NewInt(rng.Int64N(1<<bits) - 1<<(bits-1))
	}
	return w
}

// referenceGradient is the normative integer statement, computed with big integers straight
// from its definition: G_j = Σ_i X_ij (Σ_k X_ik W_k − 2^f Y_i) + Λ W_j, no Λ on the intercept.
func referenceGradient(s Shape, rows [][]int64, w []*big.Int, lambda *big.Int) []*big.Int {
	scale := new(big.Int).Lsh(big.NewInt(1), uint(s.FractionBits))
	g := make([]*big.Int, s.Columns())
	for j := range g {
		g[j] = new(big.Int)
	}
	for _, row := range rows {
		x := make([]*big.Int, s.Columns())
		for j := range s.Features {
			x[j] = big.NewInt(row[j])
		}
		if s.Intercept {
			x[s.Features] = scale
		}
		e := new(big.Int).Mul(scale, big.NewInt(row[s.Features]))
		e.Neg(e)
		for k := range x {
			e.Add(e, new(big.Int).Mul(x[k], w[k]))
		}
		for j := range x {
			g[j].Add(g[j], new(big.Int).Mul(x[j], e))
		}
	}
	for j := range s.Features {
		g[j].Add(g[j], new(big.Int).Mul(lambda, w[j]))
	}
	return g
}

// referenceMetrics is Σ e_i², Σ Y_i and Σ Y_i² straight from their definition, e_i the full
// residual Σ_k X_ik W_k − 2^f Y_i (intercept column included).
func referenceMetrics(s Shape, rows [][]int64, w []*big.Int) (ssr, sumY, sumY2 *big.Int) {
	scale := new(big.Int).Lsh(big.NewInt(1), uint(s.FractionBits))
	ssr, sumY, sumY2 = new(big.Int), new(big.Int), new(big.Int)
	for _, row := range rows {
		y := big.NewInt(row[s.Features])
		e := new(big.Int).Mul(scale, y)
		e.Neg(e)
		for k := range s.Features {
			e.Add(e, new(big.Int).Mul(big.NewInt(row[k]), w[k]))
		}
		if s.Intercept {
			e.Add(e, new(big.Int).Mul(scale, w[s.Features]))
		}
		ssr.Add(ssr, new(big.Int).Mul(e, e))
		sumY.Add(sumY, y)
		sumY2.Add(sumY2, new(big.Int).Mul(y, y))
	}
	return ssr, sumY, sumY2
}

func newBlinding(t *testing.T) fr.Element {
	t.Helper()
	var b fr.Element
	if _, err := b.SetRandom(); err != nil {
		t.Fatal(err)
	}
	return b
}

func maxAbs(g []*big.Int) *big.Int {
	m := new(big.Int)
	for _, x := range g {
		if a := new(big.Int).Abs(x); a.Cmp(m) > 0 {
			m = a
		}
	}
	return m
}

// TestGoldenVectors proves every chunk of every golden vector of the commitment, chained, and
// the final bound: the in-circuit hash equals prover/commitment on each.
func TestGoldenVectors(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, v := range loadVectors(t) {
		for _, intercept := range []bool{false, true} {
			s := ShapeOf(v.Header, intercept)
			t.Run(fmt.Sprintf("%s/intercept=%v", v.Name, intercept), func(t *testing.T) {
				w := randomWeights(rng, s.Columns(), 12)
				lambda := big.NewInt(rng.Int64N(1 << 20))
				acc := ZeroAccumulator(s)
				for i := range v.Header.Chunks() {
					a, out, err := s.Assign(ChunkInput{Index: i, Values: v.chunk(i), Salt: v.Salt, Weights: w, In: acc, Blind: newBlinding(t)})
					if err != nil {
						t.Fatal(err)
					}
					if got := commitment.DigestOf(a.Commitment.(fr.Element)); got != v.Chunks[i] {
						t.Fatalf("chunk %d: native commitment %s, golden %s", i, got, v.Chunks[i])
					}
					if err := solve(t, NewChunk(s), a); err != nil {
						t.Fatalf("chunk %d: %v", i, err)
					}
					acc = out
				}
				want := referenceGradient(s, v.Rows, w, lambda)
				got := s.Gradient(acc.Sum, w, lambda)
				for j := range want {
					if want[j].Cmp(got[j]) != 0 {
						t.Fatalf("G_%d = %v, reference %v", j, got[j], want[j])
					}
				}
				wantSSR, wantY, wantY2 := referenceMetrics(s, v.Rows, w)
				ssr, sumY, sumY2 := s.Metrics(acc.Sum)
				if ssr.Cmp(wantSSR) != 0 || sumY.Cmp(wantY) != 0 || sumY2.Cmp(wantY2) != 0 {
					t.Fatalf("metrics (%v, %v, %v), reference (%v, %v, %v)", ssr, sumY, sumY2, wantSSR, wantY, wantY2)
				}
				tau := maxAbs(want)
				if _, err := CheckBounds(Statement{Shape: s, N: v.Header.N, Weights: w, Lambda: lambda, Tau: tau}); err != nil {
					t.Fatal(err)
				}
				binding := Binding{Model: [32]byte{1, 2, 3}, Provider: [32]byte{31: 9}}
				f, err := s.AssignFinal(FinalInput{Acc: acc, Weights: w, Lambda: lambda, Tau: tau, Binding: binding})
				if err != nil {
					t.Fatal(err)
				}
				if err := solve(t, NewFinal(s), f); err != nil {
					t.Fatalf("final with tau = max|G|: %v", err)
				}
				f.SSR = new(big.Int).Sub(wantSSR, big.NewInt(1))
				if err := solve(t, NewFinal(s), f); err == nil {
					t.Fatal("final accepted SSR − 1")
				}
				f.SSR = wantSSR
				f.Tau = new(big.Int).Sub(tau, big.NewInt(1))
				if err := solve(t, NewFinal(s), f); err == nil {
					t.Fatal("final accepted tau = max|G| − 1")
				}
			})
		}
	}
}

// fixture is one chunk with an honest assignment to tamper with.
type fixture struct {
	shape  Shape
	input  ChunkInput
	values []int64
}

func newFixture(t *testing.T, v vector, chunk int, intercept bool) fixture {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	s := ShapeOf(v.Header, intercept)
	return fixture{shape: s, values: v.chunk(chunk), input: ChunkInput{
		Index: chunk, Values: v.chunk(chunk), Salt: v.Salt, Weights: randomWeights(rng, s.Columns(), 10),
		In: ZeroAccumulator(s), Blind: fr.NewElement(7),
	}}
}

func (f fixture) assign(t *testing.T) *Chunk {
	t.Helper()
	a, _, err := f.shape.Assign(f.input)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// forge builds an assignment for arbitrary rows (all R of them, padding included), hashing
// them as chunk `index` with m = rows, and with an AccOut that matches the gradient the circuit
// computes over every row: everything is consistent except what the test wants rejected.
func (f fixture) forge(t *testing.T, all []int64, rows int, limbsOf func(p int, u uint64) []uint64) *Chunk {
	t.Helper()
	s := f.shape
	a := f.assign(t)
	packed := packRaw(s, all)
	hi, lo := f.input.Salt.Elements()
	var idx, m fr.Element
	idx.SetUint64(uint64(f.input.Index))
	m.SetUint64(uint64(rows))
	a.Commitment = commitment.Hash(commitment.ChunkTag(), append([]fr.Element{hi, lo, idx, m}, packed...))
	a.Rows = rows
	g, err := s.Contribution(all, f.input.Weights)
	if err != nil {
		t.Fatal(err)
	}
	a.AccOut = f.input.In.Add(g, f.input.Blind).Commitment()
	n := s.Layout().Count()
	offset := uint64(1) << (s.ValueBits - 1)
	for p := range all {
		u := uint64(all[p] + int64(offset))
		for j, l := range limbsOf(p, u) {
			a.Limbs[p*n+j] = l
		}
	}
	return a
}

// packRaw packs offset values the way docs/commitment.md does, without checking their range:
// the point is to hash values that the native code would refuse.
func packRaw(s Shape, values []int64) []fr.Element {
	k, b := s.PerElement(), s.ValueBits
	out := make([]fr.Element, s.PackedLen())
	offset := new(big.Int).Lsh(big.NewInt(1), uint(b-1))
	for p, v := range values {
		u := new(big.Int).Add(big.NewInt(v), offset)
		u.Lsh(u, uint(b*(p%k)))
		var e fr.Element
		e.SetBigInt(u)
		out[p/k].Add(&out[p/k], &e)
	}
	return out
}

func canonical(s Shape) func(int, uint64) []uint64 {
	return func(_ int, u uint64) []uint64 {
		l := make([]uint64, s.Layout().Count())
		s.Layout().Split(u, l)
		return l
	}
}

func TestChunkRejects(t *testing.T) {
	vs := loadVectors(t)
	b32 := vs[1] // b32-d8-one-chunk: 8 of 8 rows
	b16 := vs[0] // b16-d2-partial-chunk: chunk 1 has 2 of 4 rows
	if b32.Header.ValueBits != 32 || b16.Header.ChunkLen(1) != 2 {
		t.Fatal("golden vectors changed; pick the fixtures again")
	}
	cases := []struct {
		name   string
		tamper func(t *testing.T) *Chunk
	}{
		{"honest b32", func(t *testing.T) *Chunk { return newFixture(t, b32, 0, true).assign(t) }},
		{"honest partial chunk", func(t *testing.T) *Chunk { return newFixture(t, b16, 1, true).assign(t) }},
		{"honest forge helper", func(t *testing.T) *Chunk {
			f := newFixture(t, b32, 0, false)
			return f.forge(t, f.values, 8, canonical(f.shape))
		}},
		{"value changed", func(t *testing.T) *Chunk {
			a := newFixture(t, b32, 0, true).assign(t)
			a.Limbs[5] = a.Limbs[5].(uint64) ^ 1
			return a
		}},
		{"weight changed by one unit", func(t *testing.T) *Chunk {
			a := newFixture(t, b32, 0, true).assign(t)
			a.Weights[0] = new(big.Int).Add(a.Weights[0].(*big.Int), big.NewInt(1))
			return a
		}},
		{"intercept weight changed by one unit", func(t *testing.T) *Chunk {
			a := newFixture(t, b32, 0, true).assign(t)
			a.Weights[8] = new(big.Int).Sub(a.Weights[8].(*big.Int), big.NewInt(1))
			return a
		}},
		{"other salt", func(t *testing.T) *Chunk {
			f := newFixture(t, b32, 0, true)
			f.input.Salt[31] ^= 1
			a := f.assign(t)
			c, err := b32.Chunks[0].Element()
			if err != nil {
				t.Fatal(err)
			}
			a.Commitment = c
			return a
		}},
		{"other index", func(t *testing.T) *Chunk {
			a := newFixture(t, b16, 1, true).assign(t)
			a.Index = 0
			return a
		}},
		{"other row count", func(t *testing.T) *Chunk {
			a := newFixture(t, b16, 1, true).assign(t)
			a.Rows = 3
			return a
		}},
		{"accumulator in edited", func(t *testing.T) *Chunk {
			a := newFixture(t, b32, 0, true).assign(t)
			in := ZeroAccumulator(ShapeOf(b32.Header, true))
			in.Blind = fr.NewElement(1)
			a.AccIn = in.Commitment()
			return a
		}},
		{"accumulator out edited", func(t *testing.T) *Chunk {
			a := newFixture(t, b32, 0, true).assign(t)
			a.AccOut = fr.NewElement(1)
			return a
		}},
		{"non-canonical limbs, same value", func(t *testing.T) *Chunk {
			f := newFixture(t, b32, 0, false)
			s := f.shape
			l := s.Layout()
			return f.forge(t, f.values, 8, func(p int, u uint64) []uint64 {
				out := canonical(s)(p, u)
				if p == 3 && out[1] > 0 { // limb 0 + 2^L, limb 1 − 1: the value is unchanged
					out[0] += 1 << l.LimbBits
					out[1]--
				}
				return out
			})
		}},
		{"value 2^(b-1) carried into its neighbour", func(t *testing.T) *Chunk {
			// u_p + 2^b and u_{p+1} − 1 pack to the same element: only the range check
			// stops a value outside [−2^(b−1), 2^(b−1)) from entering the gradient.
			f := newFixture(t, b32, 0, false)
			forged := append([]int64(nil), f.values...)
			forged[0] += 1 << 32
			forged[1]--
			l := f.shape.Layout()
			return f.forge(t, forged, 8, func(p int, u uint64) []uint64 {
				out := make([]uint64, l.Count())
				l.Split(u&(1<<32-1), out)
				out[len(out)-1] += (u >> 32) << (32 - l.LimbBits*(l.Count()-1))
				return out
			})
		}},
		{"padding row not zero", func(t *testing.T) *Chunk {
			f := newFixture(t, b16, 1, false)
			all := append(append([]int64(nil), f.values...), 0, 0, 0, 5, -7, 9)
			return f.forge(t, all, 2, canonical(f.shape))
		}},
		{"padding step moved", func(t *testing.T) *Chunk {
			f := newFixture(t, b16, 1, false)
			all := append(append([]int64(nil), f.values...), 0, 0, 0, 5, -7, 9)
			a := f.forge(t, all, 2, canonical(f.shape))
			a.Padding = []frontend.Variable{0, 0, 0, 1}
			return a
		}},
		{"padding not a step", func(t *testing.T) *Chunk {
			f := newFixture(t, b16, 1, false)
			all := append(append([]int64(nil), f.values...), 0, 0, 0, 5, -7, 9)
			a := f.forge(t, all, 2, canonical(f.shape))
			a.Padding = []frontend.Variable{0, 1, 1, 0}
			return a
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := c.tamper(t)
			s := a.shape
			err := solve(t, NewChunk(s), a)
			honest := len(c.name) > 6 && c.name[:6] == "honest"
			switch {
			case honest && err != nil:
				t.Fatalf("honest witness rejected: %v", err)
			case !honest && err == nil:
				t.Fatal("tampered witness accepted")
			}
		})
	}
}

func TestFinalRejects(t *testing.T) {
	s := Shape{Features: 2, ChunkRows: 4, ValueBits: 16, FractionBits: 4, Intercept: true}
	acc := Accumulator{Sum: []fr.Element{fr.NewElement(100), fr.NewElement(3), fr.NewElement(0),
		fr.NewElement(1234), fr.NewElement(17), fr.NewElement(99)}, Blind: fr.NewElement(9)}
	acc.Sum[1].Neg(&acc.Sum[1]) // S = (100, −3, 0), metrics (1234, −17, 99)
	acc.Sum[4].Neg(&acc.Sum[4])
	w := []*big.Int{big.NewInt(-2), big.NewInt(5), big.NewInt(1 << 40)}
	lambda := big.NewInt(10) // G = (80, 47, 0): the intercept has no Λ term
	honest := func() *Final {
		f, err := s.AssignFinal(FinalInput{Acc: acc, Weights: w, Lambda: lambda, Tau: big.NewInt(80),
			Binding: Binding{Model: [32]byte{0: 0xff, 31: 1}, Provider: [32]byte{16: 0xff}}})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if err := solve(t, NewFinal(s), honest()); err != nil {
		t.Fatalf("honest final rejected: %v", err)
	}
	for name, tamper := range map[string]func(*Final){
		"tau below max|G|": func(f *Final) { f.Tau = big.NewInt(79) },
		"lambda edited":    func(f *Final) { f.Lambda = big.NewInt(9) },
		"weight edited":    func(f *Final) { f.Weights[0] = big.NewInt(-1) },
		"sum edited":       func(f *Final) { f.Sum[2] = 1 },
		"SSR edited":       func(f *Final) { f.SSR = 1235 },
		"sum of Y edited":  func(f *Final) { f.SumY = 17 },
		"sum of Y² edited": func(f *Final) { f.SumY2 = 98 },
		"binding half above 2^128": func(f *Final) {
			f.ModelHi = new(big.Int).Lsh(big.NewInt(1), 128)
		},
		"accumulator edited": func(f *Final) {
			f.Acc = fr.NewElement(5)
		},
		"negative tau": func(f *Final) {
			var minus fr.Element
			minus.SetInt64(-80)
			f.Tau = minus
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := honest()
			tamper(f)
			if err := solve(t, NewFinal(s), f); err == nil {
				t.Fatal("tampered final accepted")
			}
		})
	}
}

func TestCheckBounds(t *testing.T) {
	s := Shape{Features: 8, ChunkRows: 1024, ValueBits: 32, FractionBits: 16, Intercept: true}
	w := make([]*big.Int, 9)
	for j := range w {
		w[j] = big.NewInt(1 << 40)
	}
	ok := Statement{Shape: s, N: 1_000_000, Weights: w, Lambda: big.NewInt(1 << 32), Tau: big.NewInt(1)}
	if bits, err := CheckBounds(ok); err != nil || bits > 180 {
		t.Fatalf("CheckBounds(%v) = %d, %v", ok, bits, err)
	}
	huge := new(big.Int).Lsh(big.NewInt(1), 200)
	for name, st := range map[string]Statement{
		"weights too wide": {Shape: s, N: 1_000_000, Weights: append(append([]*big.Int(nil), w[:8]...), huge), Lambda: big.NewInt(0), Tau: big.NewInt(0)},
		"tau too wide":     {Shape: s, N: 10, Weights: w, Lambda: big.NewInt(0), Tau: new(big.Int).Lsh(big.NewInt(1), 251)},
		"lambda too wide":  {Shape: s, N: 10, Weights: w, Lambda: new(big.Int).Lsh(huge, 15), Tau: big.NewInt(0)},
		"negative lambda":  {Shape: s, N: 10, Weights: w, Lambda: big.NewInt(-1), Tau: big.NewInt(0)},
		"negative tau":     {Shape: s, N: 10, Weights: w, Lambda: big.NewInt(0), Tau: big.NewInt(-1)},
		"no rows":          {Shape: s, N: 0, Weights: w, Lambda: big.NewInt(0), Tau: big.NewInt(0)},
		"weights missing":  {Shape: s, N: 10, Weights: w[:8], Lambda: big.NewInt(0), Tau: big.NewInt(0)},
		"bad shape":        {Shape: Shape{Features: 0, ChunkRows: 8, ValueBits: 32}, N: 10, Weights: nil, Lambda: big.NewInt(0), Tau: big.NewInt(0)},
	} {
		if _, err := CheckBounds(st); !errors.Is(err, ErrBounds) && !errors.Is(err, ErrShape) {
			t.Errorf("%s: CheckBounds = %v, want ErrBounds or ErrShape", name, err)
		}
	}
}

func TestShapeID(t *testing.T) {
	a := Shape{Features: 8, ChunkRows: 1024, ValueBits: 32, FractionBits: 16, Intercept: true}
	seen := map[string]string{}
	for _, s := range []Shape{a, {8, 1024, 32, 16, false}, {8, 512, 32, 16, true}, {8, 1024, 16, 16, true}, {8, 1024, 32, 8, true}, {9, 1024, 32, 16, true}} {
		for _, c := range []Circuit{ChunkCircuit, FinalCircuit} {
			id := s.ID(c)
			if prev, dup := seen[id]; dup {
				t.Fatalf("%s/%s and %s share id %s", s, c, prev, id)
			}
			seen[id] = fmt.Sprint(s, "/", c)
		}
	}
}
