package proof

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/comet-attest/comet/internal/atomicfile"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/dataset"
	"github.com/comet-attest/comet/prover/setup"
)

// ChunkTask is what a machine other than the planner needs, beside the Request, to prove one
// chunk of a run: the accumulator the chunk starts from and the blinding of the one it hands
// on. It is secret as the work directory's seed is: with it and the public accumulators one
// could test guesses of the partial gradient sums.
type ChunkTask struct {
	Index int
	In    circuit.Accumulator
	Blind fr.Element
}

type chunkTaskJSON struct {
	Index   int      `json:"index"`
	Sum     []string `json:"sum"`
	BlindIn string   `json:"blind_in"`
	Blind   string   `json:"blind"`
}

func elementHex(e fr.Element) string {
	b := e.Bytes()
	return hex.EncodeToString(b[:])
}

func parseElement(s string) (fr.Element, error) {
	var e fr.Element
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != fr.Bytes {
		return e, fmt.Errorf("field element %q: want %d bytes of hex", s, fr.Bytes)
	}
	if err := e.SetBytesCanonical(b); err != nil {
		return e, fmt.Errorf("field element %q: %w", s, err)
	}
	return e, nil
}

// MarshalJSON encodes the field elements as 32-byte big-endian hex.
func (t ChunkTask) MarshalJSON() ([]byte, error) {
	j := chunkTaskJSON{Index: t.Index, Sum: make([]string, len(t.In.Sum)), BlindIn: elementHex(t.In.Blind), Blind: elementHex(t.Blind)}
	for i, e := range t.In.Sum {
		j.Sum[i] = elementHex(e)
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads MarshalJSON's encoding, refusing non-canonical field elements.
func (t *ChunkTask) UnmarshalJSON(data []byte) error {
	var j chunkTaskJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	out := ChunkTask{Index: j.Index, In: circuit.Accumulator{Sum: make([]fr.Element, len(j.Sum))}}
	var err error
	for i, s := range j.Sum {
		if out.In.Sum[i], err = parseElement(s); err != nil {
			return err
		}
	}
	if out.In.Blind, err = parseElement(j.BlindIn); err != nil {
		return err
	}
	if out.Blind, err = parseElement(j.Blind); err != nil {
		return err
	}
	*t = out
	return nil
}

// Plan prepares a run whose chunks other machines prove (ProveChunk): it checks the data
// against the manifest and the model as Prove does, fixes the run's blinding seed in
// workDir, and returns every chunk's task. Once the chunk proofs are saved into workDir
// (SaveChunkProof), Prove with the same WorkDir reuses them and proves only the final
// circuit, so that the bundle is made exactly as a single machine's.
func Plan(ctx context.Context, k *setup.Keys, req Request, workDir string) ([]ChunkTask, error) {
	var tasks []ChunkTask
	if err := PlanEach(ctx, k, req, workDir, func(t ChunkTask) error { tasks = append(tasks, t); return nil }); err != nil {
		return nil, err
	}
	return tasks, nil
}

// PlanEach is Plan in one pass over the data that hands each chunk's task to emit, in
// order, as soon as the chunk is read and matches its commitment, so that machines can
// prove the first chunks while the rest are read. The gradient and the model's sums are
// checked only once every chunk is read: on an error, tasks already emitted belong to a run
// that must be withdrawn.
func PlanEach(ctx context.Context, k *setup.Keys, req Request, workDir string, emit func(ChunkTask) error) error {
	st, err := provingStatement(k, req)
	if err != nil {
		return err
	}
	seed, err := loadState(workDir, fingerprint(k, st.weights, nil, st.chunks))
	if err != nil {
		return err
	}
	p := &prover{seed: seed}
	acc := circuit.ZeroAccumulator(st.shape)
	_, err = checkEach(ctx, st, req, func(i int, g []fr.Element) error {
		t := ChunkTask{Index: i, In: acc, Blind: p.blinding(i)}
		acc = acc.Add(g, t.Blind)
		return emit(t)
	})
	return err
}

// ProveChunk proves chunk t.Index of a planned run from req.Rows, which yields the rows from
// that chunk's first on (CSVSourceAt): it checks the chunk against its manifest commitment
// (ErrData otherwise, as when the rows start elsewhere) and proves it.
func ProveChunk(ctx context.Context, k *setup.Keys, req Request, t ChunkTask) (ChunkProof, error) {
	st, err := provingStatement(k, req)
	if err != nil {
		return ChunkProof{}, err
	}
	i := t.Index
	if i < 0 || i >= len(st.chunks) {
		return ChunkProof{}, fmt.Errorf("prove chunk %d: the manifest has %d chunks", i, len(st.chunks))
	}
	r, closer, err := req.Rows(ctx)
	if err != nil {
		return ChunkProof{}, fmt.Errorf("open rows: %w", err)
	}
	defer closer.Close()
	w, m := st.header.RowWidth(), st.header.ChunkLen(i)
	values := make([]int64, m*w)
	for row := range m {
		if err := r.Read(values[row*w : (row+1)*w]); err != nil {
			if err == io.EOF {
				return ChunkProof{}, fmt.Errorf("%w: chunk %d ends after %d of its %d rows", ErrData, i, row, m)
			}
			return ChunkProof{}, err
		}
	}
	if err := checkChunk(st.header, req.Salt, i, values, st.chunks[i]); err != nil {
		return ChunkProof{}, err
	}
	a, out, err := st.shape.Assign(circuit.ChunkInput{Index: i, Values: values, Salt: req.Salt, Weights: st.weights, In: t.In, Blind: t.Blind})
	if err != nil {
		return ChunkProof{}, err
	}
	work, err := os.MkdirTemp("", "comet-chunk-")
	if err != nil {
		return ChunkProof{}, err
	}
	defer os.RemoveAll(work)
	p := &prover{header: st.header, keys: k, work: work, proofs: make([]ChunkProof, len(st.chunks))}
	if err := p.proveChunk(ctx, job{index: i, assignment: a, public: st.chunkPublic(i, t.In.Commitment(), out.Commitment())}); err != nil {
		return ChunkProof{}, err
	}
	return p.proofs[i], nil
}

// Offsets are where a CSV's header ends and each chunk's first row begins, in bytes.
type Offsets struct {
	Header int64
	Chunks []int64
}

// ChunkOffsets splits the CSV at path into records, as dataset.Reader does, without
// converting a value, and returns the offsets of h's chunks, so that the worker of a chunk
// reads only its rows (CSVSourceAt) rather than every row before them.
func ChunkOffsets(ctx context.Context, path string, h commitment.Header) (Offsets, error) {
	f, err := os.Open(path)
	if err != nil {
		return Offsets{}, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var bom int64
	if head, _ := br.Peek(3); bytes.Equal(head, []byte("\xEF\xBB\xBF")) {
		if _, err := br.Discard(3); err != nil {
			return Offsets{}, err
		}
		bom = 3
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord, cr.TrimLeadingSpace, cr.FieldsPerRecord = true, true, -1
	if _, err := cr.Read(); err != nil {
		return Offsets{}, fmt.Errorf("%s: header: %w", path, err)
	}
	o := Offsets{Header: bom + cr.InputOffset(), Chunks: make([]int64, h.Chunks())}
	for i := range o.Chunks {
		if err := ctx.Err(); err != nil {
			return Offsets{}, err
		}
		o.Chunks[i] = bom + cr.InputOffset()
		for range h.ChunkLen(i) {
			if _, err := cr.Read(); err != nil {
				return Offsets{}, fmt.Errorf("%s: chunk %d: %w", path, i, err)
			}
		}
	}
	return o, nil
}

// CSVSourceAt reads the CSV's first header bytes (its header line, as ChunkOffsets finds it)
// and then the rows from byte offset start on, with the manifest's column roles and format.
func CSVSourceAt(path string, man *commitment.Manifest, header, start int64) Source {
	return func(ctx context.Context) (RowReader, io.Closer, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		in := io.MultiReader(io.NewSectionReader(f, 0, header), io.NewSectionReader(f, start, math.MaxInt64-start))
		r, err := dataset.NewReader(in, dataset.Options{Label: man.Label, Features: man.Features, Format: man.Format()})
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		return r, f, nil
	}
}

// SaveChunkProof puts a chunk proof made elsewhere into a work directory, where Prove
// reuses it if it verifies with exactly the public inputs Prove computes.
func SaveChunkProof(workDir string, cp ChunkProof) error {
	data, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(chunkFile(workDir, cp.Index), data, 0o644)
}
