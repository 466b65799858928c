package proof

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
	raw, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	opts := dataset.Options{Label: spec.label, Exclude: spec.exclude, Format: spec.format}
	table, err := dataset.ReadAll(ctx, bytes.NewReader(raw), opts)
	if err != nil {
		t.Fatal(err)
	}
	var salt commitment.Salt
	for i := range salt {
		salt[i] = spec.salt + byte(i)
	}
	h := commitment.Header{D: table.D, FractionBits: spec.format.FractionBits, ValueBits: spec.format.ValueBits, ChunkRows: spec.chunkRows}
	b, err := commitment.NewBuilder(ctx, h, salt, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range table.N {
		if err := b.Add(table.Row(i)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	rd, err := dataset.NewReader(bytes.NewReader(raw), opts)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	man := commitment.NewManifest(res, filepath.Base(csvPath), hex.EncodeToString(sum[:]), rd.Columns(), table.Features, table.Label)
	if err := man.Validate(); err != nil {
		t.Fatal(err)
	}
	fit, err := train.FitFixed(ctx, train.FixedData{N: table.N, D: table.D, Values: table.Values, Format: table.Format}, spec.train)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(fit, model.Meta{Features: table.Features, Label: table.Label, Format: table.Format, DatasetCommitment: man.Commitment.String()})
	if err != nil {
		t.Fatal(err)
	}
	return &pipeline{csv: csvPath, manifest: man, model: m, salt: salt}
}

func (p *pipeline) request() Request {
	return Request{Manifest: p.manifest, Model: p.model, Salt: p.salt, Rows: CSVSource(p.csv, p.manifest)}
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

func keysFor(t testing.TB, s circuit.Shape, need setup.Need) *setup.Keys {
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

// nistCSV converts a NIST StRD .dat file (the block after "Data:") to CSV with the header
// names given.
func nistCSV(t testing.TB, dat, out string, names []string) string {
	t.Helper()
	raw, err := os.ReadFile(dat)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.LastIndex(raw, []byte("\nData:"))
	if at < 0 {
		t.Fatalf("%s: no Data: section", dat)
	}
	lines := strings.Split(string(raw[at+1:]), "\n")[1:]
	var sb strings.Builder
	sb.WriteString(strings.Join(names, ",") + "\n")
	for _, l := range lines {
		fields := strings.Fields(l)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != len(names) {
			t.Fatalf("%s: %d fields in %q", dat, len(fields), l)
		}
		sb.WriteString(strings.Join(fields, ",") + "\n")
	}
	if err := os.WriteFile(out, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
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
