package bench

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/pipeline"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/prover/train"
)

// sizes are the cases of one run. The proving case is BenchmarkProve's n8192-d8-b32
// (prover/proof), so that the two stay comparable.
type sizes struct {
	bulkRows, bulkD        int // commit and train
	proveRows, proveD, chk int // setup, prove, verify
}

func (o Options) sizes() sizes {
	if o.Quick {
		return sizes{bulkRows: 20_000, bulkD: 8, proveRows: 512, proveD: 2, chk: 128}
	}
	return sizes{bulkRows: 200_000, bulkD: 8, proveRows: 8192, proveD: 8, chk: 1024}
}

var format = fixedpoint.Format{FractionBits: 16, ValueBits: 32}

// provenModel is what the API benchmark submits: a model, its manifest and its proof, and
// the keys directory a registry publishes.
type provenModel struct {
	model, manifest, proof []byte
	keysDir                string
	provider               string
}

const benchProvider = "bench-provider"

func runProver(ctx context.Context, o Options, say func(string), r *Report) (*provenModel, error) {
	sz := o.sizes()
	say(fmt.Sprintf("commit: %d rows × %d features", sz.bulkRows, sz.bulkD))
	bulk := filepath.Join(o.Dir, "bulk.csv")
	if err := writeCSV(bulk, sz.bulkRows, sz.bulkD); err != nil {
		return nil, err
	}
	salt := commitment.Salt{1, 2, 3}
	start := time.Now()
	man, err := pipeline.Commit(ctx, bulk, pipeline.CommitOptions{Label: "y", Format: format, Salt: salt})
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	secs := time.Since(start).Seconds()
	r.add("commit", float64(sz.bulkRows)/secs, "rows/s", true, fmt.Sprintf("%d × %d, CSV to manifest", sz.bulkRows, sz.bulkD))

	say("train: ridge on the committed rows")
	start = time.Now()
	if _, err := trainOn(ctx, bulk, man, salt); err != nil {
		return nil, err
	}
	secs = time.Since(start).Seconds()
	r.add("train", float64(sz.bulkRows)/secs, "rows/s", true, fmt.Sprintf("%d × %d, exact fixed point", sz.bulkRows, sz.bulkD))

	small := filepath.Join(o.Dir, "prove.csv")
	if err := writeCSV(small, sz.proveRows, sz.proveD); err != nil {
		return nil, err
	}
	pman, err := pipeline.Commit(ctx, small, pipeline.CommitOptions{Label: "y", Format: format, ChunkRows: sz.chk, Salt: salt})
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	mod, err := trainOn(ctx, small, pman, salt)
	if err != nil {
		return nil, err
	}
	shape := circuit.ShapeOf(pman.Header, true)
	say("setup: " + shape.String())
	start = time.Now()
	keys, err := setup.Generate(ctx, shape, nil)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	r.add("setup", time.Since(start).Seconds(), "s", false, "single-party, "+shape.String())
	rf := float64(sz.chk * sz.proveD)
	r.add("constraints", float64(keys.Chunk.Constraints)/rf, "per row-feature", false, "chunk circuit")
	keysDir := filepath.Join(o.Dir, "keys")
	if err := keys.Save(ctx, keysDir); err != nil {
		return nil, err
	}

	say(fmt.Sprintf("prove: %d rows × %d features", sz.proveRows, sz.proveD))
	start = time.Now()
	b, err := proof.Prove(ctx, keys, proof.Request{Manifest: pman, Model: mod, Salt: salt, Rows: proof.CSVSource(small, pman), Provider: benchProvider}, proof.Options{})
	if err != nil {
		return nil, fmt.Errorf("prove: %w", err)
	}
	secs = time.Since(start).Seconds()
	r.add("prove", float64(sz.proveRows*sz.proveD)/secs, "rf/s", true, fmt.Sprintf("%d chunks and the final proof, end to end", len(b.Chunks)))

	say("verify the bundle")
	start = time.Now()
	rep, err := proof.Verify(ctx, b, proof.Inputs{Model: mod, Manifest: pman, Provider: benchProvider}, keys)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if !rep.OK() {
		return nil, fmt.Errorf("verify: the bundle just proven does not verify: %v", rep.Failed())
	}
	r.add("verify", time.Since(start).Seconds()*1000, "ms", false, "every chunk proof and the final one")

	p := &provenModel{keysDir: keysDir, provider: benchProvider}
	if p.proof, err = b.Marshal(); err != nil {
		return nil, err
	}
	if p.manifest, err = pman.Marshal(); err != nil {
		return nil, err
	}
	if p.model, err = mod.Marshal(); err != nil {
		return nil, err
	}
	return p, nil
}

func trainOn(ctx context.Context, csv string, m *commitment.Manifest, salt commitment.Salt) (*model.Model, error) {
	table, err := pipeline.ReadCommitted(ctx, csv, m, &salt)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	mod, _, err := pipeline.Train(ctx, table, m, train.Options{Kind: train.KindRidge, Lambda: 0.1, Intercept: true})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return mod, nil
}

// writeCSV writes n rows of d features x_j ~ N(0, 4) and y = Σ_j x_j/(j+1) + noise, the
// data of prover/proof's BenchmarkProve.
func writeCSV(path string, n, d int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewPCG(uint64(n), uint64(d)))
	for j := range d {
		fmt.Fprintf(w, "x%d,", j)
	}
	fmt.Fprintln(w, "y")
	for range n {
		y := rng.NormFloat64() * 0.5
		for j := range d {
			x := rng.NormFloat64() * 2
			y += x / float64(j+1)
			fmt.Fprintf(w, "%.5f,", x)
		}
		fmt.Fprintf(w, "%.5f\n", y)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
