package proof

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/model"
	datapipe "github.com/comet-attest/comet/prover/pipeline" // the name pipeline is this package's fixture type
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/prover/train"
)

// pipeline is a dataset taken from CSV through commitment and training, as the CLI does it.
type pipeline struct {
	csv      string
	manifest *commitment.Manifest
	model    *model.Model
	salt     commitment.Salt
}

type dataSpec struct {
	label     string
	exclude   []string
	format    fixedpoint.Format
	chunkRows int
	train     train.Options
	salt      byte
}

func commitAndTrain(t testing.TB, csvPath string, spec dataSpec) *pipeline {
	t.Helper()
	ctx := context.Background()
	var salt commitment.Salt
	for i := range salt {
		salt[i] = spec.salt + byte(i)
	}
	man, err := datapipe.Commit(ctx, csvPath, datapipe.CommitOptions{
		Label: spec.label, Exclude: spec.exclude, Format: spec.format, ChunkRows: spec.chunkRows, Salt: salt,
	})
	if err != nil {
		t.Fatal(err)
	}
	table, err := datapipe.ReadCommitted(ctx, csvPath, man, &salt)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := datapipe.Train(ctx, table, man, spec.train)
	if err != nil {
		t.Fatal(err)
	}
	return &pipeline{csv: csvPath, manifest: man, model: m, salt: salt}
}

// testProvider is the provider every test proof is made for.
const testProvider = "acme-legal"

func (p *pipeline) request() Request {
	return Request{Manifest: p.manifest, Model: p.model, Salt: p.salt, Rows: CSVSource(p.csv, p.manifest), Provider: testProvider}
}

func (p *pipeline) shape() circuit.Shape {
	return circuit.ShapeOf(p.manifest.Header, p.model.FitIntercept)
}

// keyCache makes each shape's keys once per test binary, in one directory, as a registry
// would publish them.
var keyCache struct {
	sync.Mutex
	dir string
}

func keysFor(t testing.TB, s circuit.Keyed, need setup.Need) *setup.Keys {
	t.Helper()
	keyCache.Lock()
	defer keyCache.Unlock()
	if keyCache.dir == "" {
		dir, err := os.MkdirTemp("", "comet-proof-test-keys-")
		if err != nil {
			t.Fatal(err)
		}
		keyCache.dir = dir
	}
	k, _, err := setup.Ensure(context.Background(), keyCache.dir, s, need)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestMain(m *testing.M) {
	code := m.Run()
	if keyCache.dir != "" {
		os.RemoveAll(keyCache.dir)
	}
	os.Exit(code)
}

// synthetic writes a CSV of n rows y = 1.5·a − 2·b + 0.25 + noise, values with 4 decimals.
func synthetic(t testing.TB, dir string, n int, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	var sb strings.Builder
	sb.WriteString("id,a,b,y\n")
	for i := range n {
		a, b := rng.NormFloat64()*3, rng.Float64()*10-5
		y := 1.5*a - 2*b + 0.25 + rng.NormFloat64()*0.1
		fmt.Fprintf(&sb, "%d,%.4f,%.4f,%.4f\n", i, a, b, y)
	}
	path := filepath.Join(dir, fmt.Sprintf("synthetic-%d-%d.csv", n, seed))
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// rewriteCSV applies edit to the data lines of a CSV and writes the result next to it.
func rewriteCSV(t testing.TB, path, suffix string, edit func(lines []string)) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	edit(lines[1:])
	out := strings.TrimSuffix(path, ".csv") + suffix + ".csv"
	if err := os.WriteFile(out, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}
