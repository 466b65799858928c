package proof

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"

	"github.com/comet-attest/comet/internal/hexdigest"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/setup"
)

// EvalBundleFormat names this version of the evaluation bundle (docs/proof.md, "Evaluation
// circuits").
const EvalBundleFormat = "comet.evaluation/v1"

// ErrLabels means a classification test set holds a label other than ±1.
var ErrLabels = errors.New("classification labels must be -1 or 1")

// EvalBundle is the proof of a model's quality on a committed test set: every value a
// verifier needs besides the test set's manifest, the model and its own verifying keys. It
// holds nothing private: the rows, labels and scores stay with the evaluator.
type EvalBundle struct {
	Format            string              `json:"format"`
	Backend           string              `json:"backend"`
	Curve             string              `json:"curve"`
	Shape             circuit.EvalShape   `json:"shape"`
	Header            commitment.Header   `json:"header"`
	DatasetCommitment commitment.Digest   `json:"dataset_commitment"`
	ChunkCommitments  []commitment.Digest `json:"chunk_commitments"`
	// ModelSHA256 and Evaluator are what the final proof is bound to: the model file
	// evaluated and whoever proved its quality (any registry identity: provider, client,
	// auditor).
	ModelSHA256 string `json:"model_sha256"`
	Evaluator   string `json:"evaluator"`
	Weights     []Int  `json:"weights"`
	// Thresholds are the K score thresholds (units 2^-2f), Decision the one at which the
	// confusion counts are taken: classification only.
	Thresholds []Int `json:"thresholds,omitempty"`
	Decision   *Int  `json:"decision_threshold,omitempty"`
	// Sums are the proven sums (circuit.EvalShape.SumLen), Metrics what follows from them.
	Sums     []Int                `json:"sums"`
	Metrics  EvalMetrics          `json:"metrics"`
	Circuits map[string]CircuitID `json:"circuits"`
	Chunks   []ChunkProof         `json:"chunks"`
	Final    FinalProof           `json:"final"`

	digest string
}

// EvalMetrics are the held-out metrics, computed from the proven sums (docs/proof.md, "From
// counts to metrics"); the fields of the other task are absent.
type EvalMetrics struct {
	N int64 `json:"n"`
	// Classification, at the decision threshold; AUC bounded by the binned counts.
	TP        *int64   `json:"tp,omitempty"`
	FP        *int64   `json:"fp,omitempty"`
	TN        *int64   `json:"tn,omitempty"`
	FN        *int64   `json:"fn,omitempty"`
	Accuracy  *float64 `json:"accuracy,omitempty"`
	Precision *float64 `json:"precision,omitempty"`
	Recall    *float64 `json:"recall,omitempty"`
	F1        *float64 `json:"f1,omitempty"`
	AUCLower  *float64 `json:"auc_lower,omitempty"`
	AUCUpper  *float64 `json:"auc_upper,omitempty"`
	// Regression, in the label's units.
	SSR  *float64 `json:"ssr,omitempty"`
	R2   *float64 `json:"r2,omitempty"`
	RMSE *float64 `json:"rmse,omitempty"`
}

// Digest is the hex SHA-256 of the bundle's canonical encoding (Marshal).
func (b *EvalBundle) Digest() string { return b.digest }

// evaluatorTag separates evaluator digests from provider digests and every other SHA-256.
const evaluatorTag = "comet/evaluator/v1\x00"

// EvaluatorDigest is the identity an evaluation proof is bound to.
func EvaluatorDigest(id string) [32]byte { return sha256.Sum256([]byte(evaluatorTag + id)) }

// DefaultThresholds is K = 32 score thresholds from −1 to 15/16 in steps of 1/16, in the
// circuits' units 2^(−2f): for a classifier trained on labels ±1 they span the scores, and 0,
// the default decision threshold, is one of them.
func DefaultThresholds(fractionBits int) []*big.Int {
	out := make([]*big.Int, 32)
	for k := range out {
		out[k] = new(big.Int).Lsh(big.NewInt(int64(k-16)), uint(2*fractionBits-4))
	}
	return out
}

// EvalRequest is what an evaluation is about.
type EvalRequest struct {
	// Manifest commits to the test set; its features, label and format must be the model's.
	Manifest *commitment.Manifest
	Model    *model.Model
	Salt     commitment.Salt
	Rows     Source
	// Evaluator is the id the proof is bound to.
	Evaluator string
	Task      circuit.Task
	// Thresholds (classification; units 2^-2f, strictly increasing) and Decision, one of
	// them; nil means DefaultThresholds and 0.
	Thresholds []*big.Int
	Decision   *big.Int
}

// evalStatement is the public claim of an evaluation.
type evalStatement struct {
	shape      circuit.EvalShape
	header     commitment.Header
	chunks     []fr.Element
	weights    []*big.Int
	thresholds []*big.Int
	decision   int // the decision threshold's position in thresholds, 1-based
	evaluator  string
	binding    circuit.Binding
}

// newEvalStatement derives the claim from the test manifest, the model, the evaluator and the
// public evaluation parameters, and runs CheckEvalBounds.
func newEvalStatement(man *commitment.Manifest, m *model.Model, evaluator string, task circuit.Task, thresholds []*big.Int, decision *big.Int) (*evalStatement, error) {
	if err := checkProvider(evaluator); err != nil {
		return nil, fmt.Errorf("%w: evaluator: %w", ErrStatement, err)
	}
	if err := man.Validate(); err != nil {
		return nil, fmt.Errorf("%w: test set: %w", ErrStatement, err)
	}
	if err := m.Verify(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	if err := sameColumns(man, m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	w, err := weights(m)
	if err != nil {
		return nil, err
	}
	st := &evalStatement{header: man.Header, weights: w, evaluator: evaluator,
		shape: circuit.EvalShape{Shape: circuit.ShapeOf(man.Header, m.FitIntercept), Task: task}}
	if task == circuit.Classification {
		if thresholds == nil {
			thresholds = DefaultThresholds(man.FractionBits)
		}
		if decision == nil {
			decision = new(big.Int)
		}
		st.shape.Thresholds = len(thresholds)
		st.thresholds = thresholds
		for k, t := range thresholds {
			if t != nil && t.Cmp(decision) == 0 {
				st.decision = k + 1
			}
		}
		if st.decision == 0 {
			return nil, fmt.Errorf("%w: the decision threshold %s is not one of the %d thresholds", ErrStatement, decision, len(thresholds))
		}
	}
	if err := circuit.CheckEvalBounds(circuit.EvalStatement{EvalShape: st.shape, N: man.N, Weights: w, Thresholds: st.thresholds}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	if st.binding.Model, st.chunks, err = modelAndChunks(man, m); err != nil {
		return nil, err
	}
	st.binding.Provider = EvaluatorDigest(evaluator)
	return st, nil
}

// sameColumns checks that the test set has the model's columns and format: the same
// features in order, label and fixed-point format. Unlike training it may be any dataset.
func sameColumns(man *commitment.Manifest, m *model.Model) error {
	switch {
	case m.FractionBits != man.FractionBits || m.ValueBits != man.ValueBits:
		return fmt.Errorf("model format f=%d b=%d, test set f=%d b=%d", m.FractionBits, m.ValueBits, man.FractionBits, man.ValueBits)
	case len(m.Features) != man.D:
		return fmt.Errorf("the model has %d features, the test set %d", len(m.Features), man.D)
	case m.Label != man.Label:
		return fmt.Errorf("label %q in the model, %q in the test set", m.Label, man.Label)
	}
	for j := range m.Features {
		if m.Features[j] != man.Features[j] {
			return fmt.Errorf("feature %d is %q in the model and %q in the test set", j, m.Features[j], man.Features[j])
		}
	}
	return nil
}

// chunkPublic is evaluation chunk i's public input vector: c_i, i, m_i, W, the thresholds,
// AccIn, AccOut.
func (st *evalStatement) chunkPublic(i int, accIn, accOut fr.Element) []fr.Element {
	out := []fr.Element{st.chunks[i], fr.NewElement(uint64(i)), fr.NewElement(uint64(st.header.ChunkLen(i)))}
	out = append(out, elements(st.weights)...)
	out = append(out, elements(st.thresholds)...)
	return append(out, accIn, accOut)
}

// finalPublic is the evaluation final circuit's: Acc, the sums, the binding halves.
func (st *evalStatement) finalPublic(acc fr.Element, sums []*big.Int) []fr.Element {
	out := append([]fr.Element{acc}, elements(sums)...)
	h := st.binding.Halves()
	return append(out, h[:]...)
}

// Evaluate proves req.Model's held-out sums on exactly the rows req.Manifest commits to,
// bound to the model file and req.Evaluator, with the evaluation keys k. Like Prove it reads
// the data twice (a check pass, then the proving pass) and never holds it in memory.
func Evaluate(ctx context.Context, k *setup.Keys, req EvalRequest, opts Options) (*EvalBundle, error) {
	st, err := newEvalStatement(req.Manifest, req.Model, req.Evaluator, req.Task, req.Thresholds, req.Decision)
	if err != nil {
		return nil, err
	}
	if k.Keyed() != circuit.Keyed(st.shape) {
		return nil, fmt.Errorf("%w: keys are for %s, this evaluation needs %s", setup.ErrMismatch, k.Keyed(), st.shape)
	}
	if k.Chunk.PK == nil || k.Final.PK == nil {
		return nil, errors.New("evaluate: proving keys not loaded")
	}
	// The check pass: every chunk hashes to the manifest's commitment and every label fits.
	total := circuit.ZeroEvalAccumulator(st.shape)
	err = readChunks(ctx, st.header, req.Rows, func(i int, values []int64) error {
		if err := checkChunk(st.header, req.Salt, i, values, st.chunks[i]); err != nil {
			return err
		}
		g, _, err := st.shape.EvalContribution(values, st.weights, st.thresholds)
		if errors.Is(err, circuit.ErrWitness) {
			return fmt.Errorf("%w: chunk %d: %w", ErrLabels, i, err)
		}
		if err != nil {
			return err
		}
		total = total.Add(g, fr.Element{})
		return nil
	})
	if err != nil {
		return nil, err
	}
	work := opts.WorkDir
	if work == "" {
		if work, err = os.MkdirTemp("", "comet-evaluate-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(work)
	}
	seed, err := loadState(work, fingerprint(k, st.weights, st.thresholds, st.chunks))
	if err != nil {
		return nil, err
	}
	b := &EvalBundle{
		Format: EvalBundleFormat, Backend: "groth16", Curve: "bn254", Shape: st.shape, Header: st.header,
		DatasetCommitment: req.Manifest.Commitment, ChunkCommitments: req.Manifest.ChunkCommitments,
		ModelSHA256: req.Model.SHA256, Evaluator: st.evaluator,
		Circuits: map[string]CircuitID{
			string(circuit.EvalChunkCircuit): {ID: k.Chunk.ID, VKSHA256: k.Chunk.VKSHA256},
			string(circuit.EvalFinalCircuit): {ID: k.Final.ID, VKSHA256: k.Final.VKSHA256},
		},
		Chunks: make([]ChunkProof, st.header.Chunks()),
	}
	for _, w := range st.weights {
		b.Weights = append(b.Weights, Int{w})
	}
	for _, t := range st.thresholds {
		b.Thresholds = append(b.Thresholds, Int{t})
	}
	if st.decision > 0 {
		b.Decision = &Int{st.thresholds[st.decision-1]}
	}
	p := &prover{header: st.header, rows: req.Rows, keys: k, seed: seed, work: work, proofs: b.Chunks, opts: opts,
		zero: circuit.ZeroEvalAccumulator(st.shape), progress: Progress{Total: len(b.Chunks) + 1},
		assign: func(i int, values []int64, in circuit.Accumulator, blind fr.Element) (frontend.Circuit, circuit.Accumulator, []fr.Element, error) {
			a, out, err := st.shape.AssignEvalChunk(circuit.EvalChunkInput{Index: i, Values: values, Salt: req.Salt,
				Weights: st.weights, Thresholds: st.thresholds, In: in, Blind: blind})
			if err != nil {
				return nil, circuit.Accumulator{}, nil, err
			}
			return a, out, st.chunkPublic(i, in.Commitment(), out.Commitment()), nil
		}}
	last, err := p.chunks(ctx, opts.workers(k))
	if err != nil {
		return nil, err
	}
	if !equalSums(last.Sum, total.Sum) {
		return nil, errors.New("evaluate: the proving pass read different data than the check pass")
	}
	sums := make([]*big.Int, len(last.Sum))
	for j := range sums {
		sums[j] = circuit.Signed(last.Sum[j])
		b.Sums = append(b.Sums, Int{sums[j]})
	}
	b.Metrics = evalMetrics(st, sums)
	a, err := st.shape.AssignEvalFinal(last, st.binding)
	if err != nil {
		return nil, err
	}
	if b.Final, err = p.final(ctx, a, st.finalPublic(last.Commitment(), sums)); err != nil {
		return nil, err
	}
	if _, err := b.Marshal(); err != nil {
		return nil, err
	}
	return b, nil
}

// checkChunk compares one chunk's commitment with the manifest's.
func checkChunk(h commitment.Header, salt commitment.Salt, i int, values []int64, want fr.Element) error {
	c, err := commitment.ChunkCommitment(h, salt, i, values)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrData, err)
	}
	if !c.Equal(&want) {
		return fmt.Errorf("%w: chunk %d (rows %d to %d) hashes to %s, the manifest has %s: another file, another row order or another salt",
			ErrData, i, i*h.ChunkRows, i*h.ChunkRows+h.ChunkLen(i)-1, commitment.DigestOf(c), commitment.DigestOf(want))
	}
	return nil
}

// evalMetrics computes the metrics from the proven sums (docs/proof.md, "From counts to
// metrics"). A ratio with nothing to divide by (precision with no predicted positive, R² of
// constant labels) is 0.
func evalMetrics(st *evalStatement, sums []*big.Int) EvalMetrics {
	m := EvalMetrics{N: int64(st.header.N)}
	ratio := func(a, b float64) *float64 {
		v := 0.0
		if b != 0 {
			v = a / b
		}
		return &v
	}
	if st.shape.Task == circuit.Regression {
		f := st.shape.FractionBits
		ssr, sumY, sumY2 := scaled(sums[0], 4*f), scaled(sums[1], f), scaled(sums[2], 2*f)
		n := float64(m.N)
		r2 := 1 - *ratio(ssr, sumY2-sumY*sumY/n)
		rmse := math.Sqrt(ssr / n)
		m.SSR, m.R2, m.RMSE = &ssr, &r2, &rmse
		return m
	}
	k := st.shape.Buckets()
	var tp, fp, pos, neg int64
	var below, ordered, tied float64 // negatives in lower buckets; pairs ordered right; pairs tied
	for b := range k {
		nb, pb := sums[b].Int64(), sums[k+b].Int64()
		pos += pb
		neg += nb
		if b >= st.decision {
			tp += pb
			fp += nb
		}
		ordered += float64(pb) * below
		tied += float64(pb) * float64(nb)
		below += float64(nb)
	}
	fn, tn := pos-tp, neg-fp
	m.TP, m.FP, m.TN, m.FN = &tp, &fp, &tn, &fn
	m.Accuracy = ratio(float64(tp+tn), float64(m.N))
	m.Precision = ratio(float64(tp), float64(tp+fp))
	m.Recall = ratio(float64(tp), float64(pos))
	m.F1 = ratio(2*float64(tp), float64(2*tp+fp+fn))
	pairs := float64(pos) * float64(neg)
	lower, upper := 0.0, 1.0
	if pairs > 0 {
		lower, upper = ordered/pairs, (ordered+tied)/pairs
	}
	m.AUCLower, m.AUCUpper = &lower, &upper
	return m
}

// scaled is v / 2^bits as a float.
func scaled(v *big.Int, bits int) float64 {
	f, _ := new(big.Float).SetInt(v).Float64()
	return math.Ldexp(f, -bits)
}

// ParseEvalBundle decodes and checks an evaluation bundle's structure, like ParseBundle.
func ParseEvalBundle(data []byte) (*EvalBundle, error) {
	var b EvalBundle
	if err := parseDocument(data, &b, &b.Chunks, &b.Final); err != nil {
		return nil, err
	}
	if _, err := b.Marshal(); err != nil { // validates, and sets the digest
		return nil, err
	}
	return &b, nil
}

// Marshal encodes the bundle as indented JSON with a final newline.
func (b *EvalBundle) Marshal() ([]byte, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	out = append(out, '\n')
	b.digest = sha256Hex(out)
	return out, nil
}

// validate checks the structure; Verify checks the values.
func (b *EvalBundle) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBundle, fmt.Sprintf(format, a...))
	}
	switch {
	case b.Format != EvalBundleFormat:
		return bad("format %q, want %q", b.Format, EvalBundleFormat)
	}
	// The task and thresholds first, then what every proof document shares.
	if err := b.Shape.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBundle, err)
	}
	if err := validateDocument(b.Backend, b.Curve, b.Shape, b.Shape.Shape, b.Header, len(b.ChunkCommitments), len(b.Chunks), b.ModelSHA256); err != nil {
		return err
	}
	if err := checkProvider(b.Evaluator); err != nil {
		return bad("evaluator: %v", err)
	}
	for _, c := range []struct {
		name string
		v    []Int
		n    int
	}{{"weights", b.Weights, b.Shape.Columns()}, {"thresholds", b.Thresholds, b.Shape.Thresholds}, {"sums", b.Sums, b.Shape.SumLen()}} {
		if len(c.v) != c.n {
			return bad("%d %s, want %d", len(c.v), c.name, c.n)
		}
		for j, v := range c.v {
			if v.Int == nil {
				return bad("%s %d missing", c.name, j)
			}
		}
	}
	if (b.Shape.Task == circuit.Classification) != (b.Decision != nil && b.Decision.Int != nil) {
		return bad("decision_threshold is required for classification, and only there")
	}
	for _, c := range b.Shape.Circuits() {
		id, ok := b.Circuits[string(c)]
		if !ok || !hexdigest.Valid(id.ID) || !hexdigest.Valid(id.VKSHA256) {
			return bad("circuit %q: id and vk_sha256 must be 64 lower-case hex digits", c)
		}
	}
	if len(b.Circuits) != 2 {
		return bad("%d circuits, want %s and %s", len(b.Circuits), circuit.EvalChunkCircuit, circuit.EvalFinalCircuit)
	}
	return validateProofs(b.Chunks, b.Final, 5+b.Shape.Columns()+b.Shape.Thresholds, 5+b.Shape.SumLen())
}

// EvalInputs are what a verifier of an evaluation takes from elsewhere than the bundle: the
// model file, the test set's manifest, and the evaluator the proof must be bound to.
type EvalInputs struct {
	Model     *model.Model
	Manifest  *commitment.Manifest
	Evaluator string
}

// VerifyEvaluation checks the evaluation bundle b against the model, the test manifest and
// the evaluator with evaluation keys the caller trusts. It needs no data and no salt.
func VerifyEvaluation(ctx context.Context, b *EvalBundle, in EvalInputs, keys *setup.Keys) (*Report, error) {
	r := &Report{}
	if !r.add("bundle structure", b.validate(), EvalBundleFormat) {
		return r.notChecked("statement: test set, model and bounds", "chunk proofs verify", "final proof verifies", "metrics follow from the proven sums")
	}
	m, man := in.Model, in.Manifest
	thresholds := ints(b.Thresholds)
	var decision *big.Int
	if b.Decision != nil {
		decision = b.Decision.Int
	}
	st, err := newEvalStatement(man, m, in.Evaluator, b.Shape.Task, thresholds, decision)
	if !r.add("statement: test set, model and bounds", err, fmt.Sprintf("test set %s, model %s, n = %d, d = %d", man.Commitment, m.SHA256, man.N, man.D)) {
		return r.notChecked("chunk proofs verify", "final proof verifies", "metrics follow from the proven sums")
	}
	r.add("bundle is bound to this model file", equal("model sha256", b.ModelSHA256, m.SHA256), "sha256 "+m.SHA256)
	r.add("bundle is bound to this evaluator", equal("evaluator", b.Evaluator, st.evaluator), st.evaluator)
	r.add("bundle names this test set", sameDataset(b.Header, b.DatasetCommitment, b.ChunkCommitments, man), fmt.Sprintf("C recomputed from the header and %d chunk commitments", len(man.ChunkCommitments)))
	r.add("bundle carries the model's weights", sameInts("weight", ints(b.Weights), st.weights), fmt.Sprintf("%d weights", len(st.weights)))
	var shapeErr error
	switch {
	case b.Shape != st.shape:
		shapeErr = fmt.Errorf("bundle shape %s, the test set and model make %s", b.Shape, st.shape)
	case keys.Keyed() != circuit.Keyed(st.shape):
		shapeErr = fmt.Errorf("%w: trusted keys are for %s, the evaluation needs %s", setup.ErrMismatch, keys.Keyed(), st.shape)
	}
	r.add("circuit shape", shapeErr, st.shape.String())
	var vkErr error
	for _, c := range st.shape.Circuits() {
		got, want := b.Circuits[string(c)], keys.Circuit(c)
		if got.ID != want.ID || got.VKSHA256 != want.VKSHA256 {
			vkErr = fmt.Errorf("%s circuit: bundle names %s with vk %s, the trusted key is %s with vk %s", c, got.ID, got.VKSHA256, want.ID, want.VKSHA256)
			break
		}
	}
	r.add("verifying keys are the trusted ones", vkErr, fmt.Sprintf("eval-chunk %s, eval-final %s", keys.Chunk.VKSHA256, keys.Final.VKSHA256))
	r.add("chunk proofs form one chain over every chunk in order", chain(b.Chunks, b.Final, st.header, circuit.ZeroEvalAccumulator(st.shape)), fmt.Sprintf("%d chunks", len(st.chunks)))
	if !r.OK() {
		return r.notChecked("chunk proofs verify", "final proof verifies", "metrics follow from the proven sums")
	}
	r.add("chunk proofs verify", chunkProofs(ctx, b.Chunks, keys.Chunk, st.chunkPublic), fmt.Sprintf("%d Groth16 proofs", len(b.Chunks)))
	acc, _ := b.Final.Acc.Element()
	sums := ints(b.Sums)
	public := st.finalPublic(acc, sums)
	err = equalPublic("final", b.Final.Public, public)
	if err == nil {
		err = verifyProof(keys.Final.VK, b.Final.Proof.Proof, public)
	}
	r.add("final proof verifies", err, "the sums over every test row, bound to the model file and the evaluator")
	var metricsErr error
	want, _ := json.Marshal(evalMetrics(st, sums))
	if got, _ := json.Marshal(b.Metrics); string(got) != string(want) {
		metricsErr = fmt.Errorf("the bundle states %s, the sums give %s", got, want)
	}
	r.add("metrics follow from the proven sums", metricsErr, string(want))
	return r.result()
}

func ints(v []Int) []*big.Int {
	out := make([]*big.Int, len(v))
	for j := range v {
		out[j] = v[j].Int
	}
	return out
}

func sameInts(what string, got, want []*big.Int) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d %ss, want %d", len(got), what, len(want))
	}
	for j := range want {
		if got[j].Cmp(want[j]) != 0 {
			return fmt.Errorf("%s %d is %s in the bundle, %s in the model", what, j, got[j], want[j])
		}
	}
	return nil
}
