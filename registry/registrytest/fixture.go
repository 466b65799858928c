package registrytest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/dataset"
	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/prover/train"
)

// Material is one proven model and what proving it needed.
type Material struct {
	KeysDir     string // published keys: <dir>/<shape>/{keys.json,chunk.*,final.*}
	Model       []byte // model file
	Manifest    []byte // dataset manifest
	Proof       []byte // proof bundle
	ModelSHA256 string
	Shape       circuit.Shape
}

var cache struct {
	sync.Mutex
	m   *Material
	err error
}

// Rows and ChunkRows size the synthetic dataset: two chunks of a small circuit, so that
// setup and proving take seconds.
const (
	Rows      = 100
	ChunkRows = 64
)

// Get builds the material once per test binary (in a directory under os.TempDir that
// Cleanup removes) and returns it.
func Get(tb testing.TB) *Material {
	tb.Helper()
	cache.Lock()
	defer cache.Unlock()
	if cache.m == nil && cache.err == nil {
		cache.m, cache.err = build(context.Background())
	}
	if cache.err != nil {
		tb.Fatalf("fixture: %v", cache.err)
	}
	return cache.m
}

// Cleanup removes the material's files; call it from TestMain after m.Run.
func Cleanup() {
	cache.Lock()
	defer cache.Unlock()
	if cache.m != nil {
		os.RemoveAll(filepath.Dir(cache.m.KeysDir))
		cache.m = nil // a later Get builds the material again rather than hand out removed files
	}
}

func build(ctx context.Context) (*Material, error) {
	dir, err := os.MkdirTemp("", "comet-registry-fixture-")
	if err != nil {
		return nil, err
	}
	csvPath := filepath.Join(dir, "data.csv")
	if err := os.WriteFile(csvPath, synthetic(Rows), 0o644); err != nil {
		return nil, err
	}
	raw, _ := os.ReadFile(csvPath)
	format := fixedpoint.Format{FractionBits: 8, ValueBits: 24}
	opts := dataset.Options{Label: "y", Exclude: []string{"id"}, Format: format}
	table, err := dataset.ReadAll(ctx, bytes.NewReader(raw), opts)
	if err != nil {
		return nil, err
	}
	var salt commitment.Salt
	for i := range salt {
		salt[i] = byte(i * 7)
	}
	h := commitment.Header{D: table.D, FractionBits: format.FractionBits, ValueBits: format.ValueBits, ChunkRows: ChunkRows}
	b, err := commitment.NewBuilder(ctx, h, salt, 1)
	if err != nil {
		return nil, err
	}
	for i := range table.N {
		if err := b.Add(table.Row(i)); err != nil {
			return nil, err
		}
	}
	res, err := b.Finish()
	if err != nil {
		return nil, err
	}
	rd, err := dataset.NewReader(bytes.NewReader(raw), opts)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	man := commitment.NewManifest(res, "data.csv", hex.EncodeToString(sum[:]), rd.Columns(), table.Features, table.Label)
	fit, err := train.FitFixed(ctx, train.FixedData{N: table.N, D: table.D, Values: table.Values, Format: table.Format}, train.Options{Kind: train.KindRidge, Lambda: 0.5})
	if err != nil {
		return nil, err
	}
	m, err := model.New(fit, model.Meta{Features: table.Features, Label: table.Label, Format: table.Format, DatasetCommitment: man.Commitment.String()})
	if err != nil {
		return nil, err
	}
	shape := circuit.ShapeOf(man.Header, m.FitIntercept)
	keysDir := filepath.Join(dir, "keys")
	keys, _, err := setup.Ensure(ctx, keysDir, shape, setup.Proving)
	if err != nil {
		return nil, err
	}
	bundle, err := proof.Prove(ctx, keys, proof.Request{Manifest: man, Model: m, Salt: salt, Rows: proof.CSVSource(csvPath, man)}, proof.Options{})
	if err != nil {
		return nil, err
	}
	out := &Material{KeysDir: keysDir, ModelSHA256: m.SHA256, Shape: shape}
	if out.Model, err = m.Marshal(); err != nil {
		return nil, err
	}
	if out.Manifest, err = man.Marshal(); err != nil {
		return nil, err
	}
	if out.Proof, err = bundle.Marshal(); err != nil {
		return nil, err
	}
	return out, nil
}

// synthetic is n rows of y = 1.5·a − 2·b + 0.25 + noise.
func synthetic(n int) []byte {
	rng := rand.New(rand.NewPCG(7, 99))
	var sb strings.Builder
	sb.WriteString("id,a,b,y\n")
	for i := range n {
		a, b := rng.NormFloat64()*3, rng.Float64()*10-5
		fmt.Fprintf(&sb, "%d,%.3f,%.3f,%.3f\n", i, a, b, 1.5*a-2*b+0.25+rng.NormFloat64()*0.1)
	}
	return []byte(sb.String())
}

// Variant returns the i-th distinct model (i ≥ 1; 0 is the original) and its proof bundle:
// the same weights, proof and dataset, with the model's RMSE nudged so that its hash differs.
func (m *Material) Variant(i int) (modelFile, proofFile []byte, sha string, err error) {
	if i == 0 {
		return m.Model, m.Proof, m.ModelSHA256, nil
	}
	mod, err := model.Unmarshal(m.Model)
	if err != nil {
		return nil, nil, "", err
	}
	mod.Metrics.RMSE += float64(i) * 1e-6
	if err := mod.Seal(); err != nil {
		return nil, nil, "", err
	}
	b, err := proof.ParseBundle(m.Proof)
	if err != nil {
		return nil, nil, "", err
	}
	b.ModelSHA256 = mod.SHA256
	if modelFile, err = mod.Marshal(); err != nil {
		return nil, nil, "", err
	}
	if proofFile, err = b.Marshal(); err != nil {
		return nil, nil, "", err
	}
	return modelFile, proofFile, mod.SHA256, nil
}
