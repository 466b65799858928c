package circuit

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/frontend"

	"github.com/comet-attest/comet/prover/commitment"
)

// evalFixture is one partial chunk of a small test set with an honest evaluation
// assignment to tamper with: 6 real rows of 8, labels ±1, scores spread over the buckets.
type evalFixture struct {
	shape EvalShape
	input EvalChunkInput
	rows  [][]int64
}

func newEvalFixture(t *testing.T, task Task) evalFixture {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	e := EvalShape{Shape: tiny, Task: task}
	scale := int64(1) << tiny.FractionBits
	var thresholds []*big.Int
	if task == Classification {
		e.Thresholds = 4
		for _, t := range []float64{-1, -0.25, 0, 0.5} { // units 2^(−2f)
			thresholds = append(thresholds, big.NewInt(int64(t*float64(scale*scale))))
		}
	}
	var rows [][]int64
	var values []int64
	for range 6 {
		y := rng.Int64N(4*scale) - 2*scale
		if task == Classification {
			y = scale
			if rng.IntN(2) == 0 {
				y = -scale
			}
		}
		row := []int64{rng.Int64N(2*scale) - scale, rng.Int64N(2*scale) - scale, y}
		rows = append(rows, row)
		values = append(values, row...)
	}
	weights := []*big.Int{big.NewInt(scale / 2), big.NewInt(-scale / 3), big.NewInt(scale / 10)}
	var salt commitment.Salt
	salt[0] = 9
	return evalFixture{shape: e, rows: rows, input: EvalChunkInput{
		Index: 3, Values: values, Salt: salt, Weights: weights, Thresholds: thresholds,
		In: ZeroEvalAccumulator(e), Blind: fr.NewElement(5),
	}}
}

func (f evalFixture) assign(t *testing.T) (*EvalChunk, Accumulator) {
	t.Helper()
	a, out, err := f.shape.AssignEvalChunk(f.input)
	if err != nil {
		t.Fatal(err)
	}
	return a, out
}

// The native sums are the definitions computed with big integers: a row's bucket is the
// number of thresholds at or below its score, and regression's are Σ e², Σ Y, Σ Y².
func TestEvalContributionMatchesDefinition(t *testing.T) {
	for _, task := range []Task{Regression, Classification} {
		t.Run(string(task), func(t *testing.T) {
			f := newEvalFixture(t, task)
			e, scale := f.shape, int64(1)<<f.shape.FractionBits
			want := make([]*big.Int, e.SumLen())
			for j := range want {
				want[j] = new(big.Int)
			}
			buckets := map[int]bool{}
			for _, row := range f.rows {
				score := new(big.Int).Lsh(f.input.Weights[2], uint(e.FractionBits))
				for j := range 2 {
					score.Add(score, new(big.Int).Mul(big.NewInt(row[j]), f.input.Weights[j]))
				}
				if task == Regression {
					r := new(big.Int).Sub(score, big.NewInt(row[2]*scale))
					want[0].Add(want[0], r.Mul(r, r))
					want[1].Add(want[1], big.NewInt(row[2]))
					want[2].Add(want[2], big.NewInt(row[2]*row[2]))
					continue
				}
				b := 0
				for _, th := range f.input.Thresholds {
					if th.Cmp(score) <= 0 {
						b++
					}
				}
				buckets[b] = true
				if row[2] > 0 {
					b += e.Buckets()
				}
				want[b].Add(want[b], big.NewInt(1))
			}
			if task == Classification && len(buckets) < 3 {
				t.Fatalf("the fixture's scores fall in %d buckets: too few to test bucketing", len(buckets))
			}
			got, _, err := e.EvalContribution(f.input.Values, f.input.Weights, f.input.Thresholds)
			if err != nil {
				t.Fatal(err)
			}
			for j := range want {
				if Signed(got[j]).Cmp(want[j]) != 0 {
					t.Errorf("sum %d = %s, want %s", j, Signed(got[j]), want[j])
				}
			}
		})
	}
}

// The evaluation chunk circuit accepts the honest assignment and refuses each lie about the
// rows' keys, labels or sums.
func TestEvalChunkRejects(t *testing.T) {
	type tamper func(t *testing.T, f evalFixture, a *EvalChunk)
	// moveKey moves row r from its key to key+by: its bucket and the counts, and AccOut with
	// them, so that only the row's placement is wrong.
	moveKey := func(r, by int) tamper {
		return func(t *testing.T, f evalFixture, a *EvalChunk) {
			g, keys, err := f.shape.EvalContribution(f.input.Values, f.input.Weights, f.input.Thresholds)
			if err != nil {
				t.Fatal(err)
			}
			to := keys[r] + by
			a.Bucket[r] = to % f.shape.Buckets()
			g[keys[r]].Sub(&g[keys[r]], new(fr.Element).SetOne())
			g[to].Add(&g[to], new(fr.Element).SetOne())
			setCounts(f, a, g)
		}
	}
	keyOf := func(t *testing.T, f evalFixture, r int) int {
		_, keys, err := f.shape.EvalContribution(f.input.Values, f.input.Weights, f.input.Thresholds)
		if err != nil {
			t.Fatal(err)
		}
		return keys[r]
	}
	cases := []struct {
		name   string
		task   Task
		tamper tamper
		ok     bool
	}{
		{"honest classification", Classification, func(*testing.T, evalFixture, *EvalChunk) {}, true},
		{"honest regression", Regression, func(*testing.T, evalFixture, *EvalChunk) {}, true},
		{"row in the next bucket", Classification, func(t *testing.T, f evalFixture, a *EvalChunk) {
			r := 0
			for keyOf(t, f, r)%f.shape.Buckets() == f.shape.Thresholds {
				r++
			}
			moveKey(r, 1)(t, f, a)
		}, false},
		{"row in the bucket before", Classification, func(t *testing.T, f evalFixture, a *EvalChunk) {
			r := 0
			for keyOf(t, f, r)%f.shape.Buckets() == 0 {
				r++
			}
			moveKey(r, -1)(t, f, a)
		}, false},
		{"row under the other label", Classification, func(t *testing.T, f evalFixture, a *EvalChunk) {
			by := f.shape.Buckets()
			if keyOf(t, f, 0) >= by {
				by = -by
			}
			moveKey(0, by)(t, f, a)
		}, false},
		{"padding row counted", Classification, func(t *testing.T, f evalFixture, a *EvalChunk) {
			g, _, _ := f.shape.EvalContribution(f.input.Values, f.input.Weights, f.input.Thresholds)
			g[1].Add(&g[1], new(fr.Element).SetOne())
			setCounts(f, a, g)
		}, false},
		{"a count moved to another key", Classification, func(t *testing.T, f evalFixture, a *EvalChunk) {
			g, _, _ := f.shape.EvalContribution(f.input.Values, f.input.Weights, f.input.Thresholds)
			k := keyOf(t, f, 0)
			g[k].Sub(&g[k], new(fr.Element).SetOne())
			g[(k+1)%len(g)].Add(&g[(k+1)%len(g)], new(fr.Element).SetOne())
			setCounts(f, a, g)
		}, false},
		{"bucket changed, counts kept", Classification, func(t *testing.T, f evalFixture, a *EvalChunk) {
			a.Bucket[0] = (keyOf(t, f, 0) + 1) % f.shape.Buckets()
		}, false},
		{"counts not the rows'", Classification, func(t *testing.T, f evalFixture, a *EvalChunk) {
			g, _, _ := f.shape.EvalContribution(f.input.Values, f.input.Weights, f.input.Thresholds)
			g[0].Add(&g[0], new(fr.Element).SetOne())
			a.AccOut = f.input.In.Add(g, f.input.Blind).Commitment()
		}, false},
		{"threshold changed", Classification, func(t *testing.T, f evalFixture, a *EvalChunk) {
			a.Thresholds[2] = new(big.Int).Add(f.input.Thresholds[2], big.NewInt(1<<30))
		}, false},
		{"regression residuals not the rows'", Regression, func(t *testing.T, f evalFixture, a *EvalChunk) {
			g, _, _ := f.shape.EvalContribution(f.input.Values, f.input.Weights, nil)
			g[0].Sub(&g[0], new(fr.Element).SetOne())
			a.AccOut = f.input.In.Add(g, f.input.Blind).Commitment()
		}, false},
		{"weight changed", Regression, func(t *testing.T, f evalFixture, a *EvalChunk) {
			a.Weights[0] = new(big.Int).Add(f.input.Weights[0], big.NewInt(1))
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newEvalFixture(t, tc.task)
			a, _ := f.assign(t)
			tc.tamper(t, f, a)
			err := solve(t, NewEvalChunk(f.shape), a)
			if tc.ok && err != nil {
				t.Fatalf("honest assignment refused: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("tampered assignment accepted")
			}
		})
	}
}

// setCounts makes counts the chunk's, in Counts and in AccOut.
func setCounts(f evalFixture, a *EvalChunk, counts []fr.Element) {
	for k := range a.Counts {
		a.Counts[k] = counts[k]
	}
	a.AccOut = f.input.In.Add(counts, f.input.Blind).Commitment()
}

// A label other than ±1 is refused natively, before any proving, and by the circuit.
func TestEvalLabelsPlusMinusOne(t *testing.T) {
	f := newEvalFixture(t, Classification)
	f.input.Values[2] = 0
	if _, _, err := f.shape.AssignEvalChunk(f.input); !errors.Is(err, ErrWitness) {
		t.Fatalf("label 0: %v", err)
	}
	// In the circuit: a row whose label is 0 with no selector, hashed as it is.
	f = newEvalFixture(t, Classification)
	a, _ := f.assign(t)
	values := append([]int64(nil), f.input.Values...)
	values[2] = 0
	c, err := commitment.ChunkCommitment(f.shape.header(), f.input.Salt, f.input.Index, values)
	if err != nil {
		t.Fatal(err)
	}
	a.Commitment = c
	f.shape.assignRows(values, 6, a.Limbs, a.Padding)
	_, keys, _ := f.shape.EvalContribution(f.input.Values, f.input.Weights, f.input.Thresholds)
	g := make([]fr.Element, f.shape.SumLen())
	for _, k := range keys[1:] {
		g[k].Add(&g[k], new(fr.Element).SetOne())
	}
	setCounts(f, a, g)
	if err := solve(t, NewEvalChunk(f.shape), a); err == nil {
		t.Fatal("a row labelled 0 was left out of the counts")
	}
}

// The final evaluation circuit opens the accumulator: its sums are the chain's, no others.
func TestEvalFinal(t *testing.T) {
	f := newEvalFixture(t, Classification)
	_, out := f.assign(t)
	b := Binding{Model: [32]byte{1, 2}, Provider: [32]byte{3}}
	a, err := f.shape.AssignEvalFinal(out, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := solve(t, NewEvalFinal(f.shape), a); err != nil {
		t.Fatalf("honest final refused: %v", err)
	}
	a.Sums[0] = new(big.Int).Add(Signed(out.Sum[0]), big.NewInt(1))
	if err := solve(t, NewEvalFinal(f.shape), a); err == nil {
		t.Fatal("final with a changed count accepted")
	}
}

func TestCheckEvalBounds(t *testing.T) {
	e := EvalShape{Shape: tiny, Task: Classification, Thresholds: 2}
	w := []*big.Int{big.NewInt(1), big.NewInt(-1), big.NewInt(0)}
	ok := EvalStatement{EvalShape: e, N: 10, Weights: w, Thresholds: []*big.Int{big.NewInt(-5), big.NewInt(5)}}
	if err := CheckEvalBounds(ok); err != nil {
		t.Fatalf("valid statement refused: %v", err)
	}
	big23 := new(big.Int).Lsh(big.NewInt(1), 23)
	limit := new(big.Int).Lsh(big.NewInt(1), uint(e.ScoreBits()-1))
	cases := map[string]func(*EvalStatement){
		"threshold not increasing": func(s *EvalStatement) { s.Thresholds = []*big.Int{big.NewInt(5), big.NewInt(5)} },
		"threshold beyond 2^(B−1)": func(s *EvalStatement) { s.Thresholds = []*big.Int{big.NewInt(0), limit} },
		"weight beyond b bits": func(s *EvalStatement) {
			s.Weights = []*big.Int{big.NewInt(1), new(big.Int).Add(big23, big.NewInt(1)), big.NewInt(0)}
		},
		"thresholds not K":      func(s *EvalStatement) { s.Thresholds = s.Thresholds[:1] },
		"no rows":               func(s *EvalStatement) { s.N = 0 },
		"regression thresholds": func(s *EvalStatement) { s.Task = Regression },
	}
	for name, edit := range cases {
		st := ok
		edit(&st)
		if err := CheckEvalBounds(st); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// On real Groth16 keys, both evaluation circuits prove and verify, every public input binds
// (no verifying-key base at infinity), and a changed threshold, weight or count fails.
func TestEvalGroth16(t *testing.T) {
	if testing.Short() {
		t.Skip("Groth16 setup of four circuits")
	}
	for _, task := range []Task{Regression, Classification} {
		t.Run(string(task), func(t *testing.T) {
			f := newEvalFixture(t, task)
			a, out := f.assign(t)
			fin, err := f.shape.AssignEvalFinal(out, Binding{Model: [32]byte{7}, Provider: [32]byte{8}})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				placeholder, assignment frontend.Circuit
			}{{NewEvalChunk(f.shape), a}, {NewEvalFinal(f.shape), fin}} {
				k := setupCircuit(t, c.placeholder)
				vk := k.vk.(*groth16bn254.VerifyingKey)
				for i := 1; i < k.cs.GetNbPublicVariables(); i++ {
					if vk.G1.K[i].IsInfinity() {
						t.Errorf("%T: public input %d binds nothing", c.placeholder, i-1)
					}
				}
				pr, pub := k.prove(t, c.assignment)
				if err := groth16.Verify(pr, k.vk, pub); err != nil {
					t.Fatalf("%T: honest proof refused: %v", c.placeholder, err)
				}
				vec := pub.Vector().(fr.Vector)
				for _, i := range []int{3, len(vec) - 3} { // a weight (chunk) or a sum (final), a threshold or the accumulator
					bad := append(fr.Vector(nil), vec...)
					bad[i].Add(&bad[i], new(fr.Element).SetOne())
					w, _ := witness.New(ecc.BN254.ScalarField())
					values := make(chan any, len(bad))
					for j := range bad {
						values <- bad[j]
					}
					close(values)
					if err := w.Fill(len(bad), 0, values); err != nil {
						t.Fatal(err)
					}
					if groth16.Verify(pr, k.vk, w) == nil {
						t.Errorf("%T: proof verified with public input %d changed", c.placeholder, i)
					}
				}
			}
		})
	}
}
