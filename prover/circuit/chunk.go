package circuit

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark/frontend"

	"github.com/comet-attest/comet/prover/circuit/limbs"
	"github.com/comet-attest/comet/prover/circuit/sponge"
	"github.com/comet-attest/comet/prover/commitment"
)

// Chunk proves, for chunk Index of a committed dataset:
//
//   - the salt and the rows hash to Commitment with exactly the layout of docs/commitment.md,
//     every value in its b-bit range, and rows Rows … R-1 all zero;
//   - AccOut = H(TAG_ACC; BlindOut, S + g) where AccIn = H(TAG_ACC; BlindIn, S) and g is
//     this chunk's contribution (Shape.Contribution): to the gradient X^T(XW − 2^f Y) (with
//     the intercept column 2^f on real rows when the shape has one), and to the training
//     metrics Σ e², Σ Y and Σ Y², e = XW − 2^f Y the residual.
//
// The accumulators chain the chunk proofs: chunk i's AccIn is chunk i−1's AccOut, chunk 0's
// is ZeroAccumulator's, and the final circuit opens the last one. The contribution itself is
// never public.
type Chunk struct {
	Commitment frontend.Variable   `gnark:",public"`
	Index      frontend.Variable   `gnark:",public"`
	Rows       frontend.Variable   `gnark:",public"`
	Weights    []frontend.Variable `gnark:",public"`
	AccIn      frontend.Variable   `gnark:",public"`
	AccOut     frontend.Variable   `gnark:",public"`

	SaltHi, SaltLo frontend.Variable
	// Limbs holds every value's limbs: row by row, value by value, Layout().Count() each.
	Limbs []frontend.Variable
	// Padding is 1 on rows Rows … R-1 and 0 before.
	Padding           []frontend.Variable
	SumIn             []frontend.Variable
	BlindIn, BlindOut frontend.Variable

	shape Shape
}

// NewChunk returns the chunk circuit of shape s with its slices sized, for compiling.
func NewChunk(s Shape) *Chunk {
	return &Chunk{
		Weights: make([]frontend.Variable, s.Columns()),
		Limbs:   make([]frontend.Variable, s.ChunkRows*s.RowWidth()*s.Layout().Count()),
		Padding: make([]frontend.Variable, s.ChunkRows),
		SumIn:   make([]frontend.Variable, s.SumLen()),
		shape:   s,
	}
}

// Define builds the constraints.
func (c *Chunk) Define(api frontend.API) error {
	s := c.shape
	layout := s.Layout()
	width, rows, cols := s.RowWidth(), s.ChunkRows, s.Columns()
	if len(c.Limbs) != rows*width*layout.Count() || len(c.Padding) != rows || len(c.Weights) != cols || len(c.SumIn) != s.SumLen() {
		return fmt.Errorf("%w: chunk witness does not match shape %s", ErrShape, s)
	}
	checker, err := limbs.NewChecker(api, layout)
	if err != nil {
		return err
	}
	hash, err := sponge.New(api)
	if err != nil {
		return err
	}

	scale := new(big.Int).Lsh(big.NewInt(1), uint(s.FractionBits))
	grad := make([]frontend.Variable, cols)
	colSum := make([]frontend.Variable, width)
	for j := range grad {
		grad[j] = 0
	}
	for j := range colSum {
		colSum[j] = 0
	}
	// residuals is Σ e_r² and residualSum Σ e_r over the rows (e without the intercept's
	// share), labelSquares Σ Y_r²: the training metrics' share of this chunk.
	var residuals, residualSum, labelSquares frontend.Variable = 0, 0, 0
	packed, err := readRows(api, s, checker, c.Limbs, c.Padding, c.Rows, func(_ int, x []frontend.Variable) error {
		for j := range width {
			colSum[j] = api.Add(colSum[j], x[j])
		}
		// e = Σ_k X_k W_k − 2^f Y; the intercept's share is added per chunk below.
		var e frontend.Variable = api.Mul(x[s.Features], new(big.Int).Neg(scale))
		for j := range s.Features {
			e = api.Add(e, api.Mul(x[j], c.Weights[j]))
		}
		// As one wire, e (not its d products and the label's limbs) is what x_j e and e²
		// put on the right-hand side.
		e, err := wire(api, e)
		if err != nil {
			return err
		}
		for j := range s.Features {
			grad[j] = api.Add(grad[j], api.Mul(x[j], e))
		}
		residuals = api.Add(residuals, api.Mul(e, e))
		residualSum = api.Add(residualSum, e)
		labelSquares = api.Add(labelSquares, api.Mul(x[s.Features], x[s.Features]))
		return nil
	})
	if err != nil {
		return err
	}
	if s.Intercept {
		// With the column X_{r,d} = 2^f on real rows and zero rows elsewhere:
		// g_j += 2^f W_d Σ_r X_rj, and g_d = 2^f (Σ_k W_k Σ_r X_rk − 2^f Σ_r Y_r + Rows 2^f W_d).
		wd := c.Weights[s.Features]
		scaledWd := api.Mul(wd, scale)
		gd := api.Mul(c.Rows, scaledWd)
		gd = api.Sub(gd, api.Mul(colSum[s.Features], scale))
		for j := range s.Features {
			grad[j] = api.Add(grad[j], api.Mul(colSum[j], scaledWd))
			gd = api.Add(gd, api.Mul(colSum[j], c.Weights[j]))
		}
		grad[s.Features] = api.Mul(gd, scale)
		// Real rows' residual is e_r + 2^f W_d, padding rows have none:
		// Σ (e_r + 2^f W_d)² = Σ e_r² + 2·2^f W_d Σ e_r + Rows·(2^f W_d)².
		residuals = api.Add(residuals, api.Mul(2, scaledWd, residualSum))
		residuals = api.Add(residuals, api.Mul(c.Rows, scaledWd, scaledWd))
	}

	if err := checker.Build(); err != nil {
		return err
	}

	if err := assertCommitment(api, hash, c.SaltHi, c.SaltLo, c.Index, c.Rows, packed, c.Commitment); err != nil {
		return err
	}

	contribution := append(grad, residuals, colSum[s.Features], labelSquares)
	return continueAccumulator(api, hash, c.BlindIn, c.SumIn, c.AccIn, c.BlindOut, contribution, c.AccOut)
}

// continueAccumulator asserts accIn = H(TAG_ACC; blindIn, sumIn) and accOut = H(TAG_ACC;
// blindOut, sumIn + contribution): a chunk continues the running sum where the one before
// left it and hands on its own share, blinded.
func continueAccumulator(api frontend.API, hash *sponge.Sponge, blindIn frontend.Variable, sumIn []frontend.Variable, accIn frontend.Variable,
	blindOut frontend.Variable, contribution []frontend.Variable, accOut frontend.Variable) error {
	in, err := accumulate(api, hash, blindIn, sumIn)
	if err != nil {
		return err
	}
	api.AssertIsEqual(in, accIn)
	sumOut := make([]frontend.Variable, len(sumIn))
	for j := range sumOut {
		sumOut[j] = api.Add(sumIn[j], contribution[j])
	}
	out, err := accumulate(api, hash, blindOut, sumOut)
	if err != nil {
		return err
	}
	api.AssertIsEqual(out, accOut)
	return nil
}

// accumulate is H(TAG_ACC; blind, sum…) in the circuit.
func accumulate(api frontend.API, hash *sponge.Sponge, blind frontend.Variable, sum []frontend.Variable) (frontend.Variable, error) {
	tag := AccumulatorTag()
	return hash.Hash(tag.BigInt(new(big.Int)), append([]frontend.Variable{blind}, sum...))
}

// readRows is what the training and the evaluation chunk circuits share: Padding is a 0/1
// step that leaves exactly rows real rows, every value is in its b-bit range (by its limbs),
// the padding rows are zero, and the values pack as docs/commitment.md packs them. It calls
// row with each row's signed values x (the features, then the label), row by row in order,
// stops at the first error row returns, and returns the packed elements for assertCommitment.
func readRows(api frontend.API, s Shape, checker *limbs.Checker, limbVars, padding []frontend.Variable, rows frontend.Variable,
	row func(r int, x []frontend.Variable) error) ([]frontend.Variable, error) {
	width, n := s.RowWidth(), s.Layout().Count()
	// Padding is a 0/1 step: Padding[0] ∈ {0,1}, every increment ∈ {0,1} and the last value
	// ∈ {0,1}, so it is 0 up to some row and 1 after; its sum fixes the step at Rows.
	api.AssertIsBoolean(padding[0])
	for r := 1; r < s.ChunkRows; r++ {
		api.AssertIsBoolean(api.Sub(padding[r], padding[r-1]))
	}
	api.AssertIsBoolean(padding[s.ChunkRows-1])
	var padded frontend.Variable = 0
	for r := range s.ChunkRows {
		padded = api.Add(padded, padding[r])
	}
	api.AssertIsEqual(padded, api.Sub(s.ChunkRows, rows))

	k, b := s.PerElement(), s.ValueBits
	offset := new(big.Int).Lsh(big.NewInt(1), uint(b-1))
	one := big.NewInt(1)
	packed := make([]frontend.Variable, s.PackedLen())
	for e := range packed {
		packed[e] = 0
	}
	x := make([]frontend.Variable, width)
	for r := range s.ChunkRows {
		// group packs up to k consecutive values of the row, so that "this row is zero"
		// costs one product per group rather than one per value.
		var group frontend.Variable = 0
		var zero big.Int
		shift := 0
		closeGroup := func() {
			api.AssertIsEqual(api.Mul(padding[r], api.Sub(group, new(big.Int).Set(&zero))), 0)
			group, shift = 0, 0
			zero.SetUint64(0)
		}
		for j := range width {
			u, err := checker.Value(limbVars[(r*width+j)*n : (r*width+j+1)*n])
			if err != nil {
				return nil, err
			}
			p := r*width + j
			weight := new(big.Int).Lsh(one, uint(b*(p%k)))
			packed[p/k] = api.Add(packed[p/k], api.Mul(u, weight))
			x[j] = api.Sub(u, offset)

			group = api.Add(group, api.Mul(u, new(big.Int).Lsh(one, uint(b*shift))))
			zero.Add(&zero, new(big.Int).Lsh(offset, uint(b*shift)))
			if shift++; shift == k || j == width-1 {
				closeGroup()
			}
		}
		if err := row(r, x); err != nil {
			return nil, err
		}
	}
	return packed, nil
}

// assertCommitment asserts that the salt, the chunk's index and row count and its packed
// values hash to commitment, with the chunk layout of docs/commitment.md.
func assertCommitment(api frontend.API, hash *sponge.Sponge, hi, lo, index, rows frontend.Variable, packed []frontend.Variable, want frontend.Variable) error {
	chunkTag := commitment.ChunkTag()
	// The sponge's S-boxes would otherwise carry every limb of each absorbed element.
	var err error
	for e := range packed {
		if packed[e], err = wire(api, packed[e]); err != nil {
			return err
		}
	}
	digest, err := hash.Hash(chunkTag.BigInt(new(big.Int)), append([]frontend.Variable{hi, lo, index, rows}, packed...))
	if err != nil {
		return err
	}
	api.AssertIsEqual(digest, want)
	return nil
}
