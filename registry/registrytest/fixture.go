package registrytest

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/comet-attest/comet/internal/config"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/pipeline"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/prover/train"
)

// Provider is the provider the material's proof is made for; tests register it.
const Provider = "acme-legal"

// Material is one proven model and what proving it needed.
type Material struct {
	KeysDir     string // published keys: <dir>/<shape>/{keys.json,chunk.*,final.*}
	Model       []byte // model file
	Manifest    []byte // dataset manifest
	Proof       []byte // proof bundle, made for Provider
	ModelSHA256 string
	Shape       circuit.Shape

	// What proving variants needs: the data, the salt, the parsed material, the proving
	// keys and the work directory whose chunk proofs every variant reuses.
	mu       sync.Mutex
	csv      string
	salt     commitment.Salt
	manifest *commitment.Manifest
	model    *model.Model
	keys     *setup.Keys
	work     string
	eval     *evalCache
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

// Config is a registry configuration for tests: data in the test's temporary directory, the
// material's keys published, and checkpoints and job polls frequent enough that a test
// waits milliseconds for them.
func Config(tb testing.TB) config.Config {
	tb.Helper()
	cfg := config.Default()
	cfg.DataDir = tb.TempDir()
	cfg.Registry.CircuitKeysDir = Get(tb).KeysDir
	cfg.Log.CheckpointInterval = 100 * time.Millisecond
	cfg.Jobs.PollInterval = 20 * time.Millisecond
	return cfg
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
	var salt commitment.Salt
	for i := range salt {
		salt[i] = byte(i*7 + 1)
	}
	man, err := pipeline.Commit(ctx, csvPath, pipeline.CommitOptions{Label: "y", Exclude: []string{"id"},
		Format: fixedpoint.Format{FractionBits: 8, ValueBits: 24}, ChunkRows: ChunkRows, Salt: salt})
	if err != nil {
		return nil, err
	}
	table, err := pipeline.ReadCommitted(ctx, csvPath, man, &salt)
	if err != nil {
		return nil, err
	}
	m, _, err := pipeline.Train(ctx, table, man, train.Options{Kind: train.KindRidge, Lambda: 0.5, Intercept: true})
	if err != nil {
		return nil, err
	}
	shape := circuit.ShapeOf(man.Header, m.FitIntercept)
	keysDir := filepath.Join(dir, "keys")
	keys, _, err := setup.Ensure(ctx, keysDir, shape, setup.Proving)
	if err != nil {
		return nil, err
	}
	out := &Material{KeysDir: keysDir, ModelSHA256: m.SHA256, Shape: shape,
		csv: csvPath, salt: salt, manifest: man, model: m, keys: keys, work: filepath.Join(dir, "work")}
	if out.Manifest, err = man.Marshal(); err != nil {
		return nil, err
	}
	if out.Model, out.Proof, err = out.prove(ctx, m, Provider, out.work); err != nil {
		return nil, err
	}
	return out, nil
}

// prove makes mod's proof for provider, keeping chunk proofs in work ("" for none): a model
// with the material's weights reuses those of m.work, so only the final proof, the one bound
// to the model file and the provider, is new.
func (m *Material) prove(ctx context.Context, mod *model.Model, provider, work string) (modelFile, proofFile []byte, err error) {
	b, err := proof.Prove(ctx, m.keys, proof.Request{Manifest: m.manifest, Model: mod, Salt: m.salt,
		Rows: proof.CSVSource(m.csv, m.manifest), Provider: provider}, proof.Options{WorkDir: work, Workers: 1})
	if err != nil {
		return nil, nil, err
	}
	if modelFile, err = mod.Marshal(); err != nil {
		return nil, nil, err
	}
	if proofFile, err = b.Marshal(); err != nil {
		return nil, nil, err
	}
	return modelFile, proofFile, nil
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

// Untrained returns an untrained model of the material's dataset, proven for provider: every
// weight zero, its true training metrics, and an optimality residual of 2^exp (exp must be
// large enough for the zero weights' true gradient). Its proof verifies; what it proves says
// nothing about the data, which is what the registry's tolerance policy is for.
func (m *Material) Untrained(provider string, exp uint) (modelFile, proofFile []byte, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ctx := context.Background()
	table, err := pipeline.ReadCommitted(ctx, m.csv, m.manifest, &m.salt)
	if err != nil {
		return nil, nil, err
	}
	data := train.FixedData{N: table.N, D: table.D, Values: table.Values, Format: table.Format}
	zero := make([]int64, m.Shape.Columns())
	ssr, sumY, sumY2, err := train.Metrics(ctx, data, m.Shape.Intercept, zero)
	if err != nil {
		return nil, nil, err
	}
	mod := *m.model
	mod.Weights = make([]float64, len(m.model.Weights))
	mod.WeightsFixed = make([]string, len(m.model.WeightsFixed))
	for j := range mod.WeightsFixed {
		mod.WeightsFixed[j] = "0"
	}
	if mod.FitIntercept {
		zeroFloat, zeroFixed := 0.0, "0"
		mod.Intercept, mod.InterceptFixed = &zeroFloat, &zeroFixed
	}
	mod.OptimalityResidual = new(big.Int).Lsh(big.NewInt(1), exp).String()
	mod.Metrics.SSR, mod.Metrics.SumY, mod.Metrics.SumY2 = ssr.String(), sumY.String(), sumY2.String()
	if mod.Metrics.R2, mod.Metrics.RMSE, mod.Metrics.ResidualSD, err = model.DeriveMetrics(mod.Metrics.N, m.Shape.Columns(), m.Shape.Intercept,
		mod.FractionBits, ssr, sumY, sumY2); err != nil {
		return nil, nil, err
	}
	if err := mod.Seal(); err != nil {
		return nil, nil, err
	}
	// Other weights: the chunk proofs of the work directory do not apply, and must not be
	// replaced by these.
	return m.prove(ctx, &mod, provider, "")
}

// Variant returns the i-th distinct model (i ≥ 1; 0 is the original) and its proof for
// Provider.
func (m *Material) Variant(i int) (modelFile, proofFile []byte, sha string, err error) {
	return m.VariantFor(Provider, i)
}

// VariantFor returns the i-th distinct model and its proof, made for provider. A variant is
// the same proven weights with the first float weight moved by i·2^-(f+24) inside the box
// the model format allows around W/2^f, so that the file, and its hash, differ; its proof is
// real (only the final proof is made again). Variants are made one at a time.
func (m *Material) VariantFor(provider string, i int) (modelFile, proofFile []byte, sha string, err error) {
	if i == 0 && provider == Provider {
		return m.Model, m.Proof, m.ModelSHA256, nil
	}
	if i < 0 || i >= 1<<23 {
		return nil, nil, "", fmt.Errorf("variant %d: want 0 ≤ i < 2^23", i)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	mod := *m.model
	mod.Weights = append([]float64(nil), m.model.Weights...)
	w, _, err := mod.FixedWeights()
	if err != nil {
		return nil, nil, "", err
	}
	mod.Weights[0] = math.Ldexp(float64(w[0].Int64()), -mod.FractionBits) + math.Ldexp(float64(i), -(mod.FractionBits+24))
	if err := mod.Seal(); err != nil {
		return nil, nil, "", err
	}
	modelFile, proofFile, err = m.prove(context.Background(), &mod, provider, m.work)
	if err != nil {
		return nil, nil, "", err
	}
	return modelFile, proofFile, mod.SHA256, nil
}

// EvalRows is the size of the material's test set: one chunk.
const EvalRows = 40

// evalCache holds the test set, committed once, and the evaluation keys.
type evalCache struct {
	csv      string
	salt     commitment.Salt
	manifest *commitment.Manifest
	file     []byte
	keys     *setup.Keys
	keysDir  string
}

// Evaluation proves the regression quality of modelFile (one of the material's models) on
// a held-out test set from the same distribution, bound to evaluator, and returns the test
// manifest and the evaluation bundle, and the directory of keys that publishes the training
// and the evaluation circuits: a registry that is to verify evaluations opens it. KeysDir
// stays as it was, so that the registries of other tests publish what they always did.
func (m *Material) Evaluation(evaluator string, modelFile []byte) (manifest, bundle []byte, keysDir string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ctx := context.Background()
	if m.eval == nil {
		if m.eval, err = m.buildEval(ctx); err != nil {
			return nil, nil, "", err
		}
	}
	mod, err := model.Unmarshal(modelFile)
	if err != nil {
		return nil, nil, "", err
	}
	b, err := proof.Evaluate(ctx, m.eval.keys, proof.EvalRequest{Manifest: m.eval.manifest, Model: mod, Salt: m.eval.salt,
		Rows: proof.CSVSource(m.eval.csv, m.eval.manifest), Evaluator: evaluator, Task: circuit.Regression}, proof.Options{Workers: 1})
	if err != nil {
		return nil, nil, "", err
	}
	if bundle, err = b.Marshal(); err != nil {
		return nil, nil, "", err
	}
	return m.eval.file, bundle, m.eval.keysDir, nil
}

func (m *Material) buildEval(ctx context.Context) (*evalCache, error) {
	dir := filepath.Dir(m.KeysDir)
	e := &evalCache{csv: filepath.Join(dir, "test.csv"), keysDir: filepath.Join(dir, "keys-eval")}
	if err := linkTree(m.KeysDir, e.keysDir); err != nil {
		return nil, err
	}
	// Other rows than the training set's: the first Rows of the same stream are its rows.
	rows := strings.SplitN(string(synthetic(Rows+EvalRows)), "\n", Rows+2)
	if err := os.WriteFile(e.csv, []byte("id,a,b,y\n"+rows[Rows+1]), 0o644); err != nil {
		return nil, err
	}
	for i := range e.salt {
		e.salt[i] = byte(i*11 + 3)
	}
	var err error
	e.manifest, err = pipeline.Commit(ctx, e.csv, pipeline.CommitOptions{Label: "y", Exclude: []string{"id"},
		Format: m.manifest.Format(), ChunkRows: ChunkRows, Salt: e.salt})
	if err != nil {
		return nil, err
	}
	if e.file, err = e.manifest.Marshal(); err != nil {
		return nil, err
	}
	shape := circuit.EvalShape{Shape: circuit.ShapeOf(e.manifest.Header, m.model.FitIntercept), Task: circuit.Regression}
	if e.keys, _, err = setup.Ensure(ctx, e.keysDir, shape, setup.Proving); err != nil {
		return nil, err
	}
	return e, nil
}

// linkTree makes dst a copy of the two-level key directory src by hard links: the keys are
// large, and nobody writes them.
func linkTree(src, dst string) error {
	dirs, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(src, d.Name()))
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dst, d.Name()), 0o755); err != nil {
			return err
		}
		for _, f := range files {
			if err := os.Link(filepath.Join(src, d.Name(), f.Name()), filepath.Join(dst, d.Name(), f.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}
