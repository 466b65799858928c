package circuit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/lookup/logderivlookup"
	"github.com/consensys/gnark/std/multicommit"
	"github.com/consensys/gnark/std/rangecheck"

	"github.com/comet-attest/comet/prover/circuit/limbs"
	"github.com/comet-attest/comet/prover/circuit/sponge"
	"github.com/comet-attest/comet/prover/commitment"
)

// Task is what an evaluation measures.
type Task string

const (
	// Regression sums the squared residuals and the labels: R², RMSE.
	Regression Task = "regression"
	// Classification counts, for labels ±1, the rows of each label in each score bucket
	// between K public thresholds: the confusion counts at any of them, the ROC curve, and
	// bounds on the AUC.
	Classification Task = "classification"
)

// MaxThresholds bounds K: each chunk pays a few constraints per count, 2(K+1) counts.
const MaxThresholds = 256

// The evaluation circuits of every evaluation shape.
const (
	EvalChunkCircuit Circuit = "eval-chunk"
	EvalFinalCircuit Circuit = "eval-final"
)

// EvalShape fixes the evaluation circuits at compile time: the test rows' shape (the
// model's: same features, format and intercept), the task and, for classification, the
// number of score thresholds K. The thresholds' values are public inputs, so one set of keys
// serves any K thresholds.
type EvalShape struct {
	Shape
	Task       Task `json:"task"`
	Thresholds int  `json:"thresholds,omitempty"`
}

// Validate checks the shape.
func (e EvalShape) Validate() error {
	if err := e.Shape.Validate(); err != nil {
		return err
	}
	switch e.Task {
	case Regression:
		if e.Thresholds != 0 {
			return fmt.Errorf("%w: a regression evaluation has no thresholds", ErrShape)
		}
	case Classification:
		if e.Thresholds < 1 || e.Thresholds > MaxThresholds {
			return fmt.Errorf("%w: %d thresholds, want 1 to %d", ErrShape, e.Thresholds, MaxThresholds)
		}
	default:
		return fmt.Errorf("%w: task %q is neither %s nor %s", ErrShape, e.Task, Regression, Classification)
	}
	return nil
}

// String is a short human name, e.g. "d8-r1024-b32-f16-intercept-classification-k32".
func (e EvalShape) String() string {
	if e.Task == Classification {
		return fmt.Sprintf("%s-%s-k%d", e.Shape, e.Task, e.Thresholds)
	}
	return fmt.Sprintf("%s-%s", e.Shape, e.Task)
}

// ID is the circuit id of one of the two evaluation circuits, as Shape.ID.
func (e EvalShape) ID(c Circuit) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\ngnark %s\n%s\n%s", Version, GnarkVersion(), c, e)))
	return hex.EncodeToString(sum[:])
}

// Buckets is K+1: bucket k holds the scores s with t_k ≤ s < t_{k+1}, where t_0 = −∞ and
// t_{K+1} = +∞, so a score's bucket is the number of thresholds at or below it.
func (e EvalShape) Buckets() int { return e.Thresholds + 1 }

// SumLen is the length of an evaluation accumulator's running sum: for regression Σ e², Σ Y,
// Σ Y²; for classification the count of negative rows in each bucket, then of positive ones.
func (e EvalShape) SumLen() int {
	if e.Task == Classification {
		return 2 * e.Buckets()
	}
	return 3
}

// ScoreBits is B: with every |X|, |W| ≤ 2^(b−1) a score Σ X_j W_j (the intercept column 2^f
// included) has |s| ≤ c·2^(2b−2) < 2^(B−1), so the two range checks that place it in its
// bucket, s − t_k and t_{k+1} − s − 1 in [0, 2^B), hold exactly when t_k ≤ s < t_{k+1} for
// thresholds of magnitude below 2^(B−1); 2^(B+1) is far below r (B ≤ 132).
func (e EvalShape) ScoreBits() int {
	return 2*e.ValueBits + big.NewInt(int64(e.Columns())).BitLen()
}

// ZeroEvalAccumulator is the accumulator before an evaluation's chunk 0.
func ZeroEvalAccumulator(e EvalShape) Accumulator {
	return Accumulator{Sum: make([]fr.Element, e.SumLen())}
}

// EvalChunk proves, for chunk Index of a committed test set, exactly what Chunk proves of
// the rows (commitment, ranges, zero padding), and that AccOut = H(TAG_ACC; BlindOut, S + g)
// where AccIn = H(TAG_ACC; BlindIn, S) and g is the chunk's share of the evaluation sums
// under the public weights: for regression Σ e², Σ Y, Σ Y² (e = s − 2^f Y, s = XW the score);
// for classification each label is ±2^f and each real row adds one to the count of its
// label and its score's bucket between the public Thresholds.
type EvalChunk struct {
	Commitment frontend.Variable   `gnark:",public"`
	Index      frontend.Variable   `gnark:",public"`
	Rows       frontend.Variable   `gnark:",public"`
	Weights    []frontend.Variable `gnark:",public"`
	Thresholds []frontend.Variable `gnark:",public"`
	AccIn      frontend.Variable   `gnark:",public"`
	AccOut     frontend.Variable   `gnark:",public"`

	SaltHi, SaltLo frontend.Variable
	Limbs          []frontend.Variable
	Padding        []frontend.Variable
	// Bucket is each row's bucket (0 on padding rows) and Counts the chunk's 2(K+1) counts,
	// negatives by bucket then positives: classification only.
	Bucket            []frontend.Variable
	Counts            []frontend.Variable
	SumIn             []frontend.Variable
	BlindIn, BlindOut frontend.Variable

	shape EvalShape
}

// NewEvalChunk returns the evaluation chunk circuit of shape e with its slices sized.
func NewEvalChunk(e EvalShape) *EvalChunk {
	s := e.Shape
	c := &EvalChunk{
		Weights:    make([]frontend.Variable, s.Columns()),
		Thresholds: make([]frontend.Variable, e.Thresholds),
		Limbs:      make([]frontend.Variable, s.ChunkRows*s.RowWidth()*s.Layout().Count()),
		Padding:    make([]frontend.Variable, s.ChunkRows),
		SumIn:      make([]frontend.Variable, e.SumLen()),
		shape:      e,
	}
	if e.Task == Classification {
		c.Bucket = make([]frontend.Variable, s.ChunkRows)
		c.Counts = make([]frontend.Variable, e.SumLen())
	}
	return c
}

// Define builds the constraints.
func (c *EvalChunk) Define(api frontend.API) error {
	e := c.shape
	s := e.Shape
	perRow, counts := 0, 0
	if e.Task == Classification {
		perRow, counts = s.ChunkRows, e.SumLen()
	}
	if err := e.Validate(); err != nil {
		return err
	}
	if len(c.Limbs) != s.ChunkRows*s.RowWidth()*s.Layout().Count() || len(c.Padding) != s.ChunkRows || len(c.Weights) != s.Columns() ||
		len(c.Thresholds) != e.Thresholds || len(c.Bucket) != perRow || len(c.Counts) != counts || len(c.SumIn) != e.SumLen() {
		return fmt.Errorf("%w: evaluation chunk witness does not match shape %s", ErrShape, e)
	}
	checker, err := limbs.NewChecker(api, s.Layout())
	if err != nil {
		return err
	}
	hash, err := sponge.New(api)
	if err != nil {
		return err
	}
	one := big.NewInt(1)
	scale := new(big.Int).Lsh(one, uint(s.FractionBits))
	sum := make([]frontend.Variable, e.SumLen())
	for j := range sum {
		sum[j] = 0
	}
	// The classification gadgets: the thresholds with the ±2^(B−1) sentinels as a lookup
	// table (bucket k's bounds are entries k and k+1), and B-bit range checks.
	var (
		bounds logderivlookup.Table
		rc     frontend.Rangechecker
	)
	B := e.ScoreBits()
	if e.Task == Classification {
		bounds = logderivlookup.New(api)
		sentinel := new(big.Int).Lsh(one, uint(B-1))
		bounds.Insert(new(big.Int).Sub(api.Compiler().Field(), sentinel)) // −2^(B−1) in the field
		for _, t := range c.Thresholds {
			bounds.Insert(t)
		}
		bounds.Insert(sentinel)
		rc = rangecheck.New(api)
	}
	scaleSquared := new(big.Int).Lsh(one, uint(2*s.FractionBits))
	halfInverse := new(big.Int).ModInverse(new(big.Int).Lsh(one, uint(s.FractionBits+1)), api.Compiler().Field())
	keys, reals := make([]frontend.Variable, perRow), make([]frontend.Variable, perRow)
	packed, err := readRows(api, s, checker, c.Limbs, c.Padding, c.Rows, func(r int, x []frontend.Variable) error {
		real := api.Sub(1, c.Padding[r])
		var score frontend.Variable = 0
		for j := range s.Features {
			score = api.Add(score, api.Mul(x[j], c.Weights[j]))
		}
		if s.Intercept {
			score = api.Add(score, api.Mul(real, c.Weights[s.Features], scale))
		}
		y := x[s.Features]
		if e.Task == Regression {
			res := api.Sub(score, api.Mul(y, scale))
			sum[0] = api.Add(sum[0], api.Mul(res, res))
			sum[1] = api.Add(sum[1], y)
			sum[2] = api.Add(sum[2], api.Mul(y, y))
			return nil
		}
		// Y = ±2^f on real rows (padding rows are zero); positive is 1 for +2^f, 0 for −2^f.
		api.AssertIsEqual(api.Mul(y, y), api.Mul(real, scaleSquared))
		positive := api.Mul(api.Add(y, api.Mul(real, scale)), halfInverse)
		// The bucket's bounds are table entries Bucket and Bucket+1, so 0 ≤ Bucket ≤ K, and
		// the score lies between them (padding rows are not checked).
		lohi := bounds.Lookup(c.Bucket[r], api.Add(c.Bucket[r], 1))
		rc.Check(api.Mul(real, api.Sub(score, lohi[0])), B)
		rc.Check(api.Mul(real, api.Sub(lohi[1], score, 1)), B)
		keys[r] = api.Add(c.Bucket[r], api.Mul(positive, e.Buckets()))
		reals[r] = real
		return nil
	})
	if err != nil {
		return err
	}
	if e.Task == Classification {
		// The counts are the histogram of the real rows' keys, by a log-derivative argument:
		// Σ_r real_r/(X − key_r) = Σ_k Counts_k/(X − k) at a challenge X drawn after the keys
		// and the counts are committed (docs/proof.md, "Evaluation").
		committed := append(append(append([]frontend.Variable{}, c.Bucket...), c.Counts...), c.Padding...)
		multicommit.WithCommitment(api, func(api frontend.API, x frontend.Variable) error {
			var lhs, rhs frontend.Variable = 0, 0
			for r := range keys {
				lhs = api.Add(lhs, api.DivUnchecked(reals[r], api.Sub(x, keys[r])))
			}
			for k, m := range c.Counts {
				rhs = api.Add(rhs, api.DivUnchecked(m, api.Sub(x, k)))
			}
			api.AssertIsEqual(lhs, rhs)
			return nil
		}, committed...)
		copy(sum, c.Counts)
	}
	if err := checker.Build(); err != nil {
		return err
	}
	if err := assertCommitment(api, hash, c.SaltHi, c.SaltLo, c.Index, c.Rows, packed, c.Commitment); err != nil {
		return err
	}
	return continueAccumulator(api, hash, c.BlindIn, c.SumIn, c.AccIn, c.BlindOut, sum, c.AccOut)
}

// EvalFinal opens the last evaluation accumulator Acc = H(TAG_ACC; Blind, Sums) and so makes
// its sums public, bound to the model file's SHA-256 and the evaluator's identity digest
// (range-checked halves, as in Final).
type EvalFinal struct {
	Acc         frontend.Variable   `gnark:",public"`
	Sums        []frontend.Variable `gnark:",public"`
	ModelHi     frontend.Variable   `gnark:",public"`
	ModelLo     frontend.Variable   `gnark:",public"`
	EvaluatorHi frontend.Variable   `gnark:",public"`
	EvaluatorLo frontend.Variable   `gnark:",public"`

	Blind frontend.Variable

	shape EvalShape
}

// NewEvalFinal returns the evaluation final circuit of shape e with its slices sized.
func NewEvalFinal(e EvalShape) *EvalFinal {
	return &EvalFinal{Sums: make([]frontend.Variable, e.SumLen()), shape: e}
}

// Define builds the constraints.
func (c *EvalFinal) Define(api frontend.API) error {
	if len(c.Sums) != c.shape.SumLen() {
		return fmt.Errorf("%w: evaluation final witness does not match shape %s", ErrShape, c.shape)
	}
	hash, err := sponge.New(api)
	if err != nil {
		return err
	}
	acc, err := accumulate(api, hash, c.Blind, c.Sums)
	if err != nil {
		return err
	}
	api.AssertIsEqual(acc, c.Acc)
	rc := rangecheck.New(api)
	for _, half := range []frontend.Variable{c.ModelHi, c.ModelLo, c.EvaluatorHi, c.EvaluatorLo} {
		rc.Check(half, bindingBits)
	}
	return nil
}

// EvalStatement is the public part of an evaluation that its bounds depend on.
type EvalStatement struct {
	EvalShape
	N          int
	Weights    []*big.Int // Columns() fixed-point weights, the intercept last
	Thresholds []*big.Int // K score thresholds in units of 2^(−2f), strictly increasing
}

// CheckEvalBounds is the single place that decides whether an evaluation can be proven
// without wrap-around: every weight within the data's b bits (so that ScoreBits bounds the
// scores), thresholds strictly increasing and below 2^(B−1) in magnitude, and for regression
// Σ e² ≤ n·(c·2^(2b−2) + 2^f·2^(b−1))² below 2^(GapBits−1). Counts are at most n < 2^41.
func CheckEvalBounds(st EvalStatement) error {
	if err := st.EvalShape.Validate(); err != nil {
		return err
	}
	if st.N < 1 || uint64(st.N) > commitment.MaxRows {
		return fmt.Errorf("%w: n = %d", ErrBounds, st.N)
	}
	if len(st.Weights) != st.Columns() {
		return fmt.Errorf("%w: %d weights for %d columns", ErrBounds, len(st.Weights), st.Columns())
	}
	half := new(big.Int).Lsh(big.NewInt(1), uint(st.ValueBits-1))
	for j, w := range st.Weights {
		if w == nil || new(big.Int).Abs(w).Cmp(half) > 0 {
			return fmt.Errorf("%w: weight %d is %v, beyond the data's %d-bit range: the evaluation circuit bounds scores by it", ErrBounds, j, w, st.ValueBits)
		}
	}
	if len(st.Thresholds) != st.EvalShape.Thresholds {
		return fmt.Errorf("%w: %d thresholds, the shape has %d", ErrBounds, len(st.Thresholds), st.EvalShape.Thresholds)
	}
	limit := new(big.Int).Lsh(big.NewInt(1), uint(st.ScoreBits()-1))
	for k, t := range st.Thresholds {
		if t == nil || new(big.Int).Abs(t).Cmp(limit) >= 0 {
			return fmt.Errorf("%w: threshold %d is beyond ±2^%d", ErrBounds, k, st.ScoreBits()-1)
		}
		if k > 0 && t.Cmp(st.Thresholds[k-1]) <= 0 {
			return fmt.Errorf("%w: threshold %d (%s) is not above threshold %d (%s)", ErrBounds, k, t, k-1, st.Thresholds[k-1])
		}
	}
	if st.Task == Regression {
		e := new(big.Int).Mul(big.NewInt(int64(st.Columns())), new(big.Int).Mul(half, half))
		e.Add(e, new(big.Int).Lsh(half, uint(st.FractionBits)))
		ssr := new(big.Int).Mul(e, e)
		ssr.Mul(ssr, big.NewInt(int64(st.N)))
		if ssr.BitLen() >= GapBits-1 {
			return fmt.Errorf("%w: the sum of squared residuals could reach 2^%d with n = %d; the limit is 2^%d", ErrBounds, ssr.BitLen(), st.N, GapBits-1)
		}
	}
	return nil
}

// Score is s = Σ X_j W_j of one row (with an intercept, its weight times 2^f), in units of
// 2^(−2f): the regression prediction, or the classifier's score.
func (s Shape) Score(row []int64, weights []*big.Int) *big.Int {
	score := new(big.Int)
	for j := range s.Features {
		score.Add(score, new(big.Int).Mul(big.NewInt(row[j]), weights[j]))
	}
	if s.Intercept {
		score.Add(score, new(big.Int).Lsh(weights[s.Features], uint(s.FractionBits)))
	}
	return score
}

// Bucket is the number of thresholds at or below score: its bucket in 0 … K.
func Bucket(score *big.Int, thresholds []*big.Int) int {
	k, _ := slices.BinarySearchFunc(thresholds, score, func(t, s *big.Int) int {
		if t.Cmp(s) <= 0 {
			return -1
		}
		return 1
	})
	return k
}

// EvalContribution is a chunk's share of an evaluation accumulator (SumLen() entries) over the
// rows of values, and for classification each row's key (bucket, plus K+1 for a positive
// label). A classification label other than ±2^f is ErrWitness, naming the row.
func (e EvalShape) EvalContribution(values []int64, weights, thresholds []*big.Int) ([]fr.Element, []int, error) {
	s := e.Shape
	m, err := s.rows(values)
	if err != nil {
		return nil, nil, err
	}
	if len(weights) != s.Columns() || len(thresholds) != e.Thresholds {
		return nil, nil, fmt.Errorf("%w: %d weights and %d thresholds, want %d and %d", ErrWitness, len(weights), len(thresholds), s.Columns(), e.Thresholds)
	}
	width := s.RowWidth()
	sum := make([]fr.Element, e.SumLen())
	var keys []int
	scale := int64(1) << s.FractionBits
	var t fr.Element
	for r := range m {
		row := values[r*width : (r+1)*width]
		score := s.Score(row, weights)
		y := row[s.Features]
		if e.Task == Regression {
			res := new(big.Int).Sub(score, big.NewInt(y*scale))
			t.SetBigInt(res.Mul(res, res))
			sum[0].Add(&sum[0], &t)
			t.SetInt64(y)
			sum[1].Add(&sum[1], &t)
			t.SetBigInt(new(big.Int).Mul(big.NewInt(y), big.NewInt(y)))
			sum[2].Add(&sum[2], &t)
			continue
		}
		if y != scale && y != -scale {
			return nil, nil, fmt.Errorf("%w: row %d has label %d, want ±%d (±1 in fixed point)", ErrWitness, r, y, scale)
		}
		key := Bucket(score, thresholds)
		if y > 0 {
			key += e.Buckets()
		}
		keys = append(keys, key)
		t.SetOne()
		sum[key].Add(&sum[key], &t)
	}
	return sum, keys, nil
}

// EvalChunkInput is what proving one evaluation chunk needs.
type EvalChunkInput struct {
	Index      int
	Values     []int64
	Salt       commitment.Salt
	Weights    []*big.Int
	Thresholds []*big.Int
	In         Accumulator
	Blind      fr.Element
}

// AssignEvalChunk builds the evaluation chunk circuit's assignment and the accumulator it
// hands on.
func (e EvalShape) AssignEvalChunk(in EvalChunkInput) (*EvalChunk, Accumulator, error) {
	s := e.Shape
	m, err := s.rows(in.Values)
	if err != nil {
		return nil, Accumulator{}, err
	}
	if len(in.In.Sum) != e.SumLen() {
		return nil, Accumulator{}, fmt.Errorf("%w: accumulator of %d sums, want %d", ErrWitness, len(in.In.Sum), e.SumLen())
	}
	c, err := commitment.ChunkCommitment(s.header(), in.Salt, in.Index, in.Values)
	if err != nil {
		return nil, Accumulator{}, err
	}
	g, keys, err := e.EvalContribution(in.Values, in.Weights, in.Thresholds)
	if err != nil {
		return nil, Accumulator{}, err
	}
	out := in.In.Add(g, in.Blind)
	a := NewEvalChunk(e)
	a.Commitment, a.Index, a.Rows = c, in.Index, m
	for j, w := range in.Weights {
		a.Weights[j] = new(big.Int).Set(w)
	}
	for k, t := range in.Thresholds {
		a.Thresholds[k] = new(big.Int).Set(t)
	}
	a.AccIn, a.AccOut = in.In.Commitment(), out.Commitment()
	a.SaltHi, a.SaltLo = in.Salt.Elements()
	s.assignRows(in.Values, m, a.Limbs, a.Padding)
	if e.Task == Classification {
		for r := range a.Bucket {
			a.Bucket[r] = 0
		}
		for r, key := range keys {
			a.Bucket[r] = key % e.Buckets()
		}
		for k := range a.Counts {
			a.Counts[k] = g[k]
		}
	}
	for j := range a.SumIn {
		a.SumIn[j] = in.In.Sum[j]
	}
	a.BlindIn, a.BlindOut = in.In.Blind, in.Blind
	return a, out, nil
}

// AssignEvalFinal builds the evaluation final circuit's assignment from the last accumulator
// and the binding (Binding.Provider holds the evaluator's identity digest).
func (e EvalShape) AssignEvalFinal(acc Accumulator, b Binding) (*EvalFinal, error) {
	if len(acc.Sum) != e.SumLen() {
		return nil, fmt.Errorf("%w: %d sums, want %d", ErrWitness, len(acc.Sum), e.SumLen())
	}
	a := NewEvalFinal(e)
	a.Acc = acc.Commitment()
	for j := range acc.Sum {
		a.Sums[j] = acc.Sum[j]
	}
	h := b.Halves()
	a.ModelHi, a.ModelLo, a.EvaluatorHi, a.EvaluatorLo = h[0], h[1], h[2], h[3]
	a.Blind = acc.Blind
	return a, nil
}

// Rows is the shape of the test rows.
func (e EvalShape) Rows() Shape { return e.Shape }

// Circuits are the evaluation circuits.
func (e EvalShape) Circuits() [2]Circuit { return [2]Circuit{EvalChunkCircuit, EvalFinalCircuit} }

// Placeholder is the evaluation circuit c of shape e, sized for compiling.
func (e EvalShape) Placeholder(c Circuit) frontend.Circuit {
	if c == EvalFinalCircuit {
		return NewEvalFinal(e)
	}
	return NewEvalChunk(e)
}
