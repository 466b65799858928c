package proof

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"

	"github.com/comet-attest/comet/internal/atomicfile"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/setup"
)

// Sentinel errors of Prove; callers test them with errors.Is.
var (
	// ErrData means the rows and salt do not hash to the manifest's chunk commitments.
	ErrData = errors.New("data does not match the manifest")
	// ErrTau means the weights' true residual max|G_j| on these rows is above the model's
	// optimality_residual: the model was not trained on them.
	ErrTau = errors.New("the model's optimality residual does not hold on this data")
	// ErrMetrics means the model's proven metrics (ssr, sum_y, sum_y2) are not those of its
	// weights on these rows.
	ErrMetrics = errors.New("the model's metrics do not hold on this data")
)

// RowReader yields a dataset's canonical rows in order, d+1 values each (the features, then
// the label), and io.EOF after the last; *dataset.Reader is one.
type RowReader interface {
	Read(dst []int64) error
}

// Source opens the dataset's rows from the first; Prove reads them twice (a cheap check pass,
// then the proving pass), so that it never holds the dataset in memory.
type Source func(ctx context.Context) (RowReader, io.Closer, error)

// CSVSource reads the rows of a CSV file with the manifest's column roles and format.
func CSVSource(path string, man *commitment.Manifest) Source {
	return CSVSourceAt(path, man, 0, 0) // no header apart: the file from its start
}

// Request is what a proof is about. The bound proven is the model's optimality_residual.
type Request struct {
	Manifest *commitment.Manifest
	Model    *model.Model
	Salt     commitment.Salt
	Rows     Source
	// Provider is the id, as the registry knows it, of the provider the proof is made for:
	// the proof is bound to it, and verifies for no other.
	Provider string
}

// Progress reports proving progress: Done of Total proofs (chunk proofs and the final one)
// are finished, Reused of them taken from an earlier run's work directory.
type Progress struct {
	Done, Total, Reused int
}

// DefaultMemoryLimit is the memory Prove plans for when Options.MemoryLimit is 0.
const DefaultMemoryLimit = 4 << 30

// Options tune proving; the zero value is usable.
type Options struct {
	// Workers is the number of chunks proven at once; 0 means GOMAXPROCS. It is lowered until
	// the estimated peak memory fits MemoryLimit.
	Workers int
	// MemoryLimit is the memory, in bytes, that proving may use, keys included; 0 means
	// DefaultMemoryLimit. Memory does not grow with n: at most Workers chunks are in flight.
	MemoryLimit int64
	// WorkDir keeps each chunk's proof as it is made, so that an interrupted run resumes from
	// the chunks already proven. "" means a temporary directory, removed afterwards.
	WorkDir string
	// Progress, when set, is called after every finished proof, from one goroutine at a time.
	Progress func(Progress)
	Logger   *slog.Logger
}

// bytesPerConstraint estimates the memory of one proof in flight (witness, solver, FFT
// domains and MSM buffers): the 100,000 × 16 run peaked at 857 MB with two proofs of 191,814
// constraints in flight beside their keys, about 1.5 KiB per constraint each (docs/proof.md).
const bytesPerConstraint = 1536

// workers is the number of chunk proofs Prove runs at once with these keys.
func (o Options) workers(k *setup.Keys) int {
	w := o.Workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	limit := o.MemoryLimit
	if limit <= 0 {
		limit = DefaultMemoryLimit
	}
	keys := int64(k.Chunk.Constraints+k.Final.Constraints) * 1024 // proving keys and R1CS in memory
	per := int64(k.Chunk.Constraints) * bytesPerConstraint
	for w > 1 && keys+int64(w)*per > limit {
		w--
	}
	return w
}

// Prove proves that req.Model's weights meet its optimality residual and its training metrics
// on exactly the rows req.Manifest commits to, bound to the model file and req.Provider, with
// the keys k. It first reads the data once to check it against the manifest and the model,
// then proves the chunks in parallel and the final bound.
func Prove(ctx context.Context, k *setup.Keys, req Request, opts Options) (*Bundle, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := provingStatement(k, req)
	if err != nil {
		return nil, err
	}
	final, err := check(ctx, st, req)
	if err != nil {
		return nil, err
	}

	work := opts.WorkDir
	if work == "" {
		if work, err = os.MkdirTemp("", "comet-prove-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(work)
	}
	seed, err := loadState(work, fingerprint(k, st.weights, nil, st.chunks))
	if err != nil {
		return nil, err
	}
	b := &Bundle{
		Format: BundleFormat, Backend: "groth16", Curve: "bn254",
		Shape: st.shape, Header: st.header, DatasetCommitment: req.Manifest.Commitment,
		ChunkCommitments: req.Manifest.ChunkCommitments, ModelSHA256: req.Model.SHA256, Provider: st.provider,
		LambdaFixed: Int{st.lambda}, Tau: Int{st.tau},
		Metrics: Metrics{SSR: Int{st.ssr}, SumY: Int{st.sumY}, SumY2: Int{st.sumY2}},
		Circuits: map[string]CircuitID{
			string(circuit.ChunkCircuit): {ID: k.Chunk.ID, VKSHA256: k.Chunk.VKSHA256},
			string(circuit.FinalCircuit): {ID: k.Final.ID, VKSHA256: k.Final.VKSHA256},
		},
		Chunks: make([]ChunkProof, st.header.Chunks()),
	}
	for _, w := range st.weights {
		b.Weights = append(b.Weights, Int{w})
	}
	workers := opts.workers(k)
	log.Info("proving", "shape", st.shape.String(), "chunks", len(b.Chunks), "workers", workers, "work_dir", work)

	p := &prover{header: st.header, rows: req.Rows, keys: k, seed: seed, work: work, proofs: b.Chunks, opts: opts,
		zero: circuit.ZeroAccumulator(st.shape), progress: Progress{Total: len(b.Chunks) + 1},
		assign: func(i int, values []int64, in circuit.Accumulator, blind fr.Element) (frontend.Circuit, circuit.Accumulator, []fr.Element, error) {
			a, out, err := st.shape.Assign(circuit.ChunkInput{Index: i, Values: values, Salt: req.Salt, Weights: st.weights, In: in, Blind: blind})
			if err != nil {
				return nil, circuit.Accumulator{}, nil, err
			}
			return a, out, st.chunkPublic(i, in.Commitment(), out.Commitment()), nil
		}}
	last, err := p.chunks(ctx, workers)
	if err != nil {
		return nil, err
	}
	if !equalSums(last.Sum, final.Sum) {
		return nil, errors.New("prove: the proving pass read different data than the check pass")
	}
	a, err := st.shape.AssignFinal(circuit.FinalInput{Acc: last, Weights: st.weights, Lambda: st.lambda, Tau: st.tau, Binding: st.binding})
	if err != nil {
		return nil, err
	}
	if b.Final, err = p.final(ctx, a, st.finalPublic(last.Commitment())); err != nil {
		return nil, err
	}
	return b, nil
}

// provingStatement is req's statement, once the keys are known to be its shape's proving keys.
func provingStatement(k *setup.Keys, req Request) (*statement, error) {
	st, err := boundStatement(req.Manifest, req.Model, req.Provider)
	if err != nil {
		return nil, err
	}
	if k.Keyed() != circuit.Keyed(st.shape) {
		return nil, fmt.Errorf("%w: keys are for %s, this proof needs %s", setup.ErrMismatch, k.Keyed(), st.shape)
	}
	if k.Chunk.PK == nil || k.Final.PK == nil {
		return nil, errors.New("prove: proving keys not loaded")
	}
	return st, nil
}

func equalSums(a, b []fr.Element) bool {
	for j := range a {
		if !a[j].Equal(&b[j]) {
			return false
		}
	}
	return len(a) == len(b)
}

// readChunks calls fn with each chunk's values, in order, reusing one buffer; it checks the
// row count against the header.
func readChunks(ctx context.Context, h commitment.Header, src Source, fn func(i int, values []int64) error) error {
	r, closer, err := src(ctx)
	if err != nil {
		return fmt.Errorf("open rows: %w", err)
	}
	defer closer.Close()
	w := h.RowWidth()
	buf := make([]int64, h.ChunkRows*w)
	for i := range h.Chunks() {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := h.ChunkLen(i)
		for row := range m {
			if err := r.Read(buf[row*w : (row+1)*w]); err != nil {
				if err == io.EOF {
					return fmt.Errorf("%w: %d rows, the manifest says %d", ErrData, i*h.ChunkRows+row, h.N)
				}
				return err
			}
		}
		if err := fn(i, buf[:m*w]); err != nil {
			return err
		}
	}
	if err := r.Read(buf[:w]); err != io.EOF {
		if err == nil {
			return fmt.Errorf("%w: more than the manifest's %d rows", ErrData, h.N)
		}
		return err
	}
	return nil
}

// check is the first pass: every chunk must hash to the manifest's commitment, the weights'
// gradient on these rows must meet tau, and their training sums must be the model's. It
// returns the unblinded total.
func check(ctx context.Context, st *statement, req Request) (circuit.Accumulator, error) {
	return checkEach(ctx, st, req, nil)
}

// checkEach is check that hands each chunk's contribution to each (when not nil) as soon as
// the chunk is read and matches its commitment, before the sums are checked at the end.
func checkEach(ctx context.Context, st *statement, req Request, each func(i int, g []fr.Element) error) (circuit.Accumulator, error) {
	acc := circuit.ZeroAccumulator(st.shape)
	err := readChunks(ctx, st.header, req.Rows, func(i int, values []int64) error {
		if err := checkChunk(st.header, req.Salt, i, values, st.chunks[i]); err != nil {
			return err
		}
		g, err := st.shape.Contribution(values, st.weights)
		if err != nil {
			return err
		}
		acc = acc.Add(g, fr.Element{})
		if each != nil {
			return each(i, g)
		}
		return nil
	})
	if err != nil {
		return circuit.Accumulator{}, err
	}
	grad := st.shape.Gradient(acc.Sum, st.weights, st.lambda)
	for j, g := range grad {
		if new(big.Int).Abs(g).Cmp(st.tau) > 0 {
			return circuit.Accumulator{}, fmt.Errorf("%w: |G_%d| = %s > tau = %s", ErrTau, j, new(big.Int).Abs(g), st.tau)
		}
	}
	ssr, sumY, sumY2 := st.shape.Metrics(acc.Sum)
	if ssr.Cmp(st.ssr) != 0 || sumY.Cmp(st.sumY) != 0 || sumY2.Cmp(st.sumY2) != 0 {
		return circuit.Accumulator{}, fmt.Errorf("%w: the rows give ssr %s, sum_y %s, sum_y2 %s; the model states %s, %s, %s",
			ErrMetrics, ssr, sumY, sumY2, st.ssr, st.sumY, st.sumY2)
	}
	return acc, nil
}

// prover holds the state of one run of chunk proofs and the final proof, for training
// (Prove) and evaluation (Evaluate) alike.
type prover struct {
	header commitment.Header
	rows   Source
	keys   *setup.Keys
	seed   []byte
	work   string
	opts   Options
	// zero is the accumulator before chunk 0, and assign builds chunk i's assignment, the
	// accumulator it hands on and its public inputs.
	zero   circuit.Accumulator
	assign func(i int, values []int64, in circuit.Accumulator, blind fr.Element) (frontend.Circuit, circuit.Accumulator, []fr.Element, error)
	// proofs receives the chunk proofs, one per chunk.
	proofs []ChunkProof

	mu       sync.Mutex
	progress Progress
}

// blinding derives chunk i's accumulator blinding from the run's secret seed, so that a
// resumed run recomputes the same accumulators as the proofs already on disk. SHA-512 gives
// 512 bits, reduced mod r with negligible bias.
func (p *prover) blinding(i int) fr.Element {
	h := sha512.New()
	h.Write([]byte("comet/proof/v1/blinding"))
	h.Write(p.seed)
	var idx [8]byte
	binary.BigEndian.PutUint64(idx[:], uint64(i))
	h.Write(idx[:])
	var e fr.Element
	e.SetBigInt(new(big.Int).SetBytes(h.Sum(nil)))
	return e
}

func (p *prover) report(reused bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.progress.Done++
	if reused {
		p.progress.Reused++
	}
	if p.opts.Progress != nil {
		p.opts.Progress(p.progress)
	}
}

type job struct {
	index      int
	assignment frontend.Circuit
	public     []fr.Element
}

// chunks is the proving pass: the reader computes each chunk's assignment in order (the
// accumulators chain), workers prove them in parallel, and at most workers+1 assignments
// are in memory at once. It returns the last accumulator.
func (p *prover) chunks(ctx context.Context, workers int) (circuit.Accumulator, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := p.proveChunk(ctx, j); err != nil {
					cancel(err)
				}
			}
		}()
	}
	acc := p.zero
	err := readChunks(ctx, p.header, p.rows, func(i int, values []int64) error {
		a, out, public, err := p.assign(i, values, acc, p.blinding(i))
		if err != nil {
			return err
		}
		acc = out
		if p.reuse(i, public) {
			p.report(true)
			return nil
		}
		select {
		case jobs <- job{index: i, assignment: a, public: public}:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	})
	close(jobs)
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil {
		return circuit.Accumulator{}, cause
	}
	if err != nil {
		return circuit.Accumulator{}, err
	}
	return acc, nil
}

func chunkFile(work string, i int) string {
	return filepath.Join(work, fmt.Sprintf("chunk-%07d.json", i))
}

// reuse loads chunk i's proof from the work directory when it exists, carries exactly the
// expected public inputs and verifies; anything else is proven again.
func (p *prover) reuse(i int, public []fr.Element) bool {
	data, err := os.ReadFile(chunkFile(p.work, i))
	if err != nil {
		return false
	}
	var cp ChunkProof
	if err := json.Unmarshal(data, &cp); err != nil || cp.Proof.Proof == nil || cp.Index != i {
		return false
	}
	if !sameDigests(cp.Public, public) {
		return false
	}
	if err := verifyProof(p.keys.Chunk.VK, cp.Proof.Proof, public); err != nil {
		return false
	}
	p.proofs[i] = cp
	return true
}

func sameDigests(ds []commitment.Digest, es []fr.Element) bool {
	if len(ds) != len(es) {
		return false
	}
	for i := range ds {
		if ds[i] != commitment.DigestOf(es[i]) {
			return false
		}
	}
	return true
}

func digests(es []fr.Element) []commitment.Digest {
	out := make([]commitment.Digest, len(es))
	for i := range es {
		out[i] = commitment.DigestOf(es[i])
	}
	return out
}

func (p *prover) proveChunk(ctx context.Context, j job) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	pr, err := prove(p.keys.Chunk, j.assignment, j.public)
	if err != nil {
		return fmt.Errorf("prove chunk %d: %w", j.index, err)
	}
	n := len(j.public)
	cp := ChunkProof{Index: j.index, Rows: p.header.ChunkLen(j.index),
		AccIn: commitment.DigestOf(j.public[n-2]), AccOut: commitment.DigestOf(j.public[n-1]),
		Public: digests(j.public), Proof: Proof{pr}}
	data, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(chunkFile(p.work, j.index), data, 0o644); err != nil {
		return err
	}
	p.proofs[j.index] = cp // each index is written by one worker only
	p.report(false)
	return nil
}

// final proves the final circuit's assignment a with its public inputs (the accumulator
// first).
func (p *prover) final(ctx context.Context, a frontend.Circuit, public []fr.Element) (FinalProof, error) {
	if err := ctx.Err(); err != nil {
		return FinalProof{}, err
	}
	pr, err := prove(p.keys.Final, a, public)
	if err != nil {
		return FinalProof{}, fmt.Errorf("prove final circuit: %w", err)
	}
	p.report(false)
	return FinalProof{Acc: commitment.DigestOf(public[0]), Public: digests(public), Proof: Proof{pr}}, nil
}

// prove runs Groth16 on one assignment and checks that its public part is what the verifier
// will rebuild: a mismatch is a bug here, not a property of the data.
func prove(k setup.Circuit, assignment frontend.Circuit, public []fr.Element) (groth16.Proof, error) {
	w, err := frontend.NewWitness(assignment, setup.Curve.ScalarField())
	if err != nil {
		return nil, err
	}
	pw, err := w.Public()
	if err != nil {
		return nil, err
	}
	if got, ok := pw.Vector().(fr.Vector); !ok || !sameElements(got, public) {
		return nil, errors.New("public inputs differ from the statement's")
	}
	return groth16.Prove(k.CS, k.PK, w, backend.WithSolverOptions(solver.WithHints(circuit.Hints()...)))
}

func sameElements(a, b []fr.Element) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(&b[i]) {
			return false
		}
	}
	return true
}

// verifyProof checks a Groth16 proof against a public input vector. It calls BN254's
// verifier (setup.Curve's) directly: groth16.Verify's switch over every curve gnark supports
// would link them all into the browser's verifier.
func verifyProof(vk groth16.VerifyingKey, pr groth16.Proof, public []fr.Element) error {
	v, ok := vk.(*groth16bn254.VerifyingKey)
	if !ok {
		return fmt.Errorf("verifying key %T is not over BN254", vk)
	}
	p, ok := pr.(*groth16bn254.Proof)
	if !ok {
		return fmt.Errorf("proof %T is not over BN254", pr)
	}
	return groth16bn254.Verify(p, v, fr.Vector(public))
}

// state is the work directory's record of a run: what it proves and the secret seed of the
// accumulator blindings. It is private (mode 0600): with the seed and the public accumulators
// one could test guesses of the partial gradient sums.
type state struct {
	Format      string `json:"format"`
	Fingerprint string `json:"fingerprint"`
	Seed        string `json:"seed"`
}

const stateFormat = "comet.prove-state/v2"

// fingerprint names what the chunk proofs of a run depend on: the keys, the weights (and an
// evaluation's thresholds) and the data, and nothing else, so that a model file that changes
// nothing else (another float representation of the same integers, another name) or another
// provider reuses them and only the final proof is new.
func fingerprint(k *setup.Keys, weights, thresholds []*big.Int, chunks []fr.Element) string {
	fp := sha256.New()
	fmt.Fprintf(fp, "%s\n%s\n%s\n", k.Chunk.VKSHA256, k.Final.VKSHA256, k.Keyed())
	for _, w := range weights {
		fmt.Fprintf(fp, "%s\n", w)
	}
	for _, t := range thresholds {
		fmt.Fprintf(fp, "t %s\n", t)
	}
	for _, c := range chunks {
		fmt.Fprintf(fp, "%s\n", commitment.DigestOf(c))
	}
	return hex.EncodeToString(fp.Sum(nil))
}

// loadState returns the seed of an earlier run with the same fingerprint in work, or starts
// a new run with a fresh seed.
func loadState(work, fingerprint string) ([]byte, error) {
	if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	path := filepath.Join(work, "state.json")
	data, err := os.ReadFile(path)
	if err == nil {
		var s state
		if json.Unmarshal(data, &s) == nil && s.Format == stateFormat && s.Fingerprint == fingerprint {
			if seed, err := hex.DecodeString(s.Seed); err == nil && len(seed) == 32 {
				return seed, nil
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	data, err = json.Marshal(state{Format: stateFormat, Fingerprint: fingerprint, Seed: hex.EncodeToString(seed)})
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return nil, err
	}
	return seed, nil
}
