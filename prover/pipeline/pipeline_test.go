package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/dataset"
	"github.com/comet-attest/comet/prover/featurize"
	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/train"
)

var format = fixedpoint.Format{FractionBits: 8, ValueBits: 24}

func saltOf(b byte) commitment.Salt {
	var s commitment.Salt
	for i := range s {
		s[i] = b + byte(i)
	}
	return s
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// lines is a CSV of 18 rows id,a,b,y: with 4 rows per chunk, chunk i holds rows 4i+1 … 4i+4
// and the last chunk rows 17 and 18.
func lines() []string {
	out := []string{"id,a,b,y"}
	for i := 1; i <= 18; i++ {
		out = append(out, fmt.Sprintf("%d,%d.5,%d,%d.25", i, i, 20-i, 3*i))
	}
	return out
}

func csvOf(lines []string) string { return strings.Join(lines, "\n") + "\n" }

func commitOpts(salt commitment.Salt) CommitOptions {
	return CommitOptions{Label: "y", Exclude: []string{"id"}, Format: format, ChunkRows: 4, Salt: salt}
}

func commitFile(t *testing.T, path string, opts CommitOptions) *commitment.Manifest {
	t.Helper()
	m, err := Commit(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCommit(t *testing.T) {
	dir := t.TempDir()
	content := csvOf(lines())
	path := writeFile(t, dir, "data.csv", content)
	salt := saltOf(1)
	var progress []int64
	opts := commitOpts(salt)
	opts.Progress = func(n int64) { progress = append(progress, n) }
	m := commitFile(t, path, opts)
	if m.N != 18 || m.D != 2 || len(m.ChunkCommitments) != 5 || m.File != "data.csv" || m.Public || m.SHA256 != "" || m.Salt != nil {
		t.Errorf("manifest %+v", m)
	}
	if want, _ := commitment.FileDigest(salt, strings.NewReader(content)); m.FileDigest != want {
		t.Errorf("file digest %s, want %s", m.FileDigest, want)
	}
	if len(progress) == 0 || progress[len(progress)-1] != int64(len(content)) {
		t.Errorf("progress %v, want it to end at %d", progress, len(content))
	}
	// The same rows and salt give the same commitment however the rows were chunked by default.
	opts.ChunkRows, opts.Progress = 0, nil
	if again := commitFile(t, path, opts); again.ChunkRows != 32 || again.N != 18 {
		t.Errorf("default chunk rows %d for n = 18", again.ChunkRows)
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := commitment.ParseManifest(b); err != nil {
		t.Errorf("committed manifest does not parse: %v", err)
	}
}

func TestCommitErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.csv", csvOf(lines()))
	tests := []struct {
		name string
		path string
		edit func(*CommitOptions)
		want error
	}{
		{"zero salt", good, func(o *CommitOptions) { o.Salt = commitment.Salt{} }, ErrOptions},
		{"bad format", good, func(o *CommitOptions) { o.Format.ValueBits = 99 }, ErrOptions},
		{"bad chunk rows", good, func(o *CommitOptions) { o.ChunkRows = -1 }, ErrOptions},
		{"missing file", filepath.Join(dir, "none.csv"), func(*CommitOptions) {}, os.ErrNotExist},
		{"nan", writeFile(t, dir, "nan.csv", "id,a,b,y\n1,NaN,2,3\n"), func(*CommitOptions) {}, dataset.ErrNotFinite},
		{"unknown label", good, func(o *CommitOptions) { o.Label = "z" }, dataset.ErrMissingColumn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := commitOpts(saltOf(1))
			tt.edit(&opts)
			if _, err := Commit(context.Background(), tt.path, opts); !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	salt := saltOf(1)
	m := commitFile(t, writeFile(t, dir, "data.csv", csvOf(lines())), commitOpts(salt))
	edit := func(f func([]string) []string) string {
		return csvOf(f(lines()))
	}
	tests := []struct {
		name    string
		content string
		salt    commitment.Salt
		field   string // "" when the file matches
		chunk   int
		rows    [2]int
		differ  int
	}{
		{name: "as committed", content: csvOf(lines()), salt: salt},
		{name: "changed value", content: edit(func(l []string) []string { l[10] = "10,10.5,10,30.5"; return l }),
			salt: salt, field: "chunks", chunk: 2, rows: [2]int{9, 12}, differ: 1},
		{name: "moved row", content: edit(func(l []string) []string { return append(slices.Delete(l, 14, 15), l[14]) }),
			salt: salt, field: "chunks", chunk: 3, rows: [2]int{13, 16}, differ: 2},
		{name: "rows swapped in a chunk", content: edit(func(l []string) []string { l[5], l[6] = l[6], l[5]; return l }),
			salt: salt, field: "chunks", chunk: 1, rows: [2]int{5, 8}, differ: 1},
		{name: "another salt", content: csvOf(lines()), salt: saltOf(2),
			field: "chunks", chunk: 0, rows: [2]int{1, 4}, differ: 5},
		{name: "row appended", content: edit(func(l []string) []string { return append(l, "19,1,1,1") }),
			salt: salt, field: "chunks", chunk: 4, rows: [2]int{17, 18}, differ: 1},
		{name: "last chunk dropped", content: edit(func(l []string) []string { return l[:17] }),
			salt: salt, field: "n", chunk: -1},
		{name: "same rows, other bytes", content: strings.ReplaceAll(csvOf(lines()), "\n", "\r\n"),
			salt: salt, field: "file_digest", chunk: -1},
		{name: "column renamed", content: edit(func(l []string) []string { l[0] = "key,a,b,y"; return l }),
			salt: salt, field: "columns", chunk: -1},
		{name: "feature column missing", content: edit(func(l []string) []string {
			for i := range l {
				l[i] = l[i][:strings.LastIndex(l[i], ",")] + ",0"
			}
			l[0] = "id,a,c,y"
			return l
		}), salt: salt, field: "columns", chunk: -1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, dir, fmt.Sprintf("v%d.csv", i), tt.content)
			res, err := Verify(context.Background(), path, m, &tt.salt)
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if res.Rows != 18 || res.Chunks != 5 || len(res.Checks) != 4 {
					t.Errorf("result %+v", res)
				}
				return
			}
			var mm *MismatchError
			if !errors.As(err, &mm) || !errors.Is(err, ErrMismatch) {
				t.Fatalf("error %v, want a *MismatchError", err)
			}
			if mm.Field != tt.field || mm.Chunk != tt.chunk || mm.Field == "chunks" && (mm.FirstRow != tt.rows[0] || mm.LastRow != tt.rows[1] || mm.Differing != tt.differ) {
				t.Errorf("mismatch %+v, want %s chunk %d rows %v, %d differing", mm, tt.field, tt.chunk, tt.rows, tt.differ)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestVerifyBadInput(t *testing.T) {
	dir := t.TempDir()
	salt := saltOf(1)
	good := writeFile(t, dir, "data.csv", csvOf(lines()))
	m := commitFile(t, good, commitOpts(salt))
	broken := *m
	broken.N++
	tests := []struct {
		name string
		path string
		m    *commitment.Manifest
		salt *commitment.Salt
		want error
	}{
		{"no salt for a private manifest", good, m, nil, ErrNoSalt},
		{"missing file", filepath.Join(dir, "none.csv"), m, &salt, os.ErrNotExist},
		{"not a number", writeFile(t, dir, "nan.csv", "id,a,b,y\n1,x,2,3\n"), m, &salt, dataset.ErrNotNumber},
		{"invalid manifest", good, &broken, &salt, commitment.ErrManifest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(context.Background(), tt.path, tt.m, tt.salt)
			if !errors.Is(err, tt.want) || errors.Is(err, ErrMismatch) {
				t.Errorf("error %v, want %v and no mismatch", err, tt.want)
			}
		})
	}
}

func TestPublic(t *testing.T) {
	dir := t.TempDir()
	content := csvOf(lines())
	path := writeFile(t, dir, "data.csv", content)
	salt := saltOf(3)
	opts := commitOpts(salt)
	opts.Public = true
	m := commitFile(t, path, opts)
	sum := sha256.Sum256([]byte(content))
	if !m.Public || m.SHA256 != hex.EncodeToString(sum[:]) || m.Salt == nil || *m.Salt != salt {
		t.Fatalf("public manifest %+v", m)
	}
	private := commitFile(t, path, commitOpts(salt))
	if m.Commitment != private.Commitment || m.FileDigest != private.FileDigest {
		t.Error("declaring the dataset public changed its commitment or file digest")
	}
	// Anyone holding the public file and manifest checks it without a salt of their own.
	b, _ := m.Marshal()
	published, err := commitment.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Verify(context.Background(), path, published, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(res.Checks, func(c string) bool { return strings.HasPrefix(c, "sha256:") }) {
		t.Errorf("checks %q do not include the plain SHA-256", res.Checks)
	}
	other := saltOf(4)
	var mm *MismatchError
	if _, err := Verify(context.Background(), path, published, &other); !errors.As(err, &mm) || mm.Field != "salt" {
		t.Errorf("another salt for a public manifest: %v", err)
	}
	if _, err := ReadCommitted(context.Background(), path, published, nil); err != nil {
		t.Errorf("read a public dataset without a salt: %v", err)
	}
}

func TestReadCommittedAndTrain(t *testing.T) {
	dir := t.TempDir()
	salt := saltOf(5)
	path := writeFile(t, dir, "data.csv", csvOf(lines()))
	m := commitFile(t, path, commitOpts(salt))
	ctx := context.Background()
	table, err := ReadCommitted(ctx, path, m, &salt)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	want, err := dataset.ReadAll(ctx, bytes.NewReader(raw), dataset.Options{Label: "y", Exclude: []string{"id"}, Format: format})
	if err != nil {
		t.Fatal(err)
	}
	if table.N != want.N || table.D != want.D || !slices.Equal(table.Values, want.Values) || !slices.Equal(table.Features, want.Features) {
		t.Errorf("committed table %+v, want %+v", table, want)
	}
	mod, _, err := Train(ctx, table, m, train.Options{Kind: train.KindRidge, Lambda: 1, Intercept: true})
	if err != nil {
		t.Fatal(err)
	}
	if mod.DatasetCommitment != m.Commitment.String() || mod.Metrics.N != 18 || !slices.Equal(mod.Features, m.Features) {
		t.Errorf("model %+v", mod)
	}

	edited := writeFile(t, dir, "edited.csv", strings.Replace(csvOf(lines()), "7,7.5", "7,7.75", 1))
	if _, err := ReadCommitted(ctx, edited, m, &salt); !errors.Is(err, ErrMismatch) {
		t.Errorf("edited file: %v", err)
	}
	if _, err := ReadCommitted(ctx, path, m, nil); !errors.Is(err, ErrNoSalt) {
		t.Errorf("no salt: %v", err)
	}
	table.N--
	if _, _, err := Train(ctx, table, m, train.Options{Kind: train.KindOLS}); !errors.Is(err, ErrMismatch) {
		t.Errorf("a table of other rows: %v", err)
	}
}

// featurized writes a small corpus, featurizes it as `comet dataset featurize` does and
// returns the corpus, the features CSV and the record.
func featurized(t *testing.T, dir string) (corpus, features string, rec *featurize.Record) {
	t.Helper()
	corpusText := "document,text,unfair\n" +
		"1,We may terminate your account at any time.,1\n" +
		"2,You can contact us by email.,0\n" +
		"3,Any dispute is settled by binding arbitration.,1\n"
	corpus = writeFile(t, dir, "docs.csv", corpusText)
	cfg := featurize.DefaultConfig()
	cfg.Buckets = 4
	fz, err := featurize.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts := featurize.CSVOptions{Text: "text", Label: "unfair", Keep: []string{"document"}}
	var out bytes.Buffer
	res, err := fz.TransformCSV(context.Background(), &out, strings.NewReader(corpusText), opts)
	if err != nil {
		t.Fatal(err)
	}
	features = writeFile(t, dir, "features.csv", out.String())
	in, outSum := sha256.Sum256([]byte(corpusText)), sha256.Sum256(out.Bytes())
	rec, err = fz.NewRecord(featurize.FileRef{File: "docs.csv", SHA256: hex.EncodeToString(in[:])},
		featurize.FileRef{File: "features.csv", SHA256: hex.EncodeToString(outSum[:])}, opts, res)
	if err != nil {
		t.Fatal(err)
	}
	return corpus, features, rec
}

func TestFeaturizerRecord(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	corpus, features, rec := featurized(t, dir)
	salt := saltOf(6)
	opts := CommitOptions{Label: "unfair", Exclude: []string{"document"}, Format: fixedpoint.Default, Salt: salt, Featurizer: rec}
	for _, public := range []bool{false, true} {
		opts.Public = public
		m := commitFile(t, features, opts)
		f := m.Featurizer
		corpusDigest, _ := commitment.CorpusDigest(salt, rec.Input.SHA256)
		if f == nil || f.Name != "comet-legal-hash" || f.Version != rec.Featurizer.Version || f.SpecSHA256 != rec.FeaturizerID ||
			f.Params["buckets"] != "4" || f.CorpusDigest != corpusDigest || f.TextColumn != "text" || f.LabelColumn != "unfair" || f.Rows != 3 {
			t.Fatalf("public %t: featurizer %+v", public, f)
		}
		if public != (f.CorpusSHA256 == rec.Input.SHA256) {
			t.Errorf("public %t: corpus_sha256 %q", public, f.CorpusSHA256)
		}
		if _, err := Verify(ctx, features, m, &salt); err != nil {
			t.Errorf("public %t: %v", public, err)
		}
		if err := CheckCorpus(corpus, m, &salt); err != nil {
			t.Errorf("public %t: corpus: %v", public, err)
		}
		other := writeFile(t, dir, "other-docs.csv", "document,text,unfair\n1,Another text.,0\n")
		var mm *MismatchError
		if err := CheckCorpus(other, m, &salt); !errors.As(err, &mm) || mm.Field != "featurizer.corpus_digest" {
			t.Errorf("public %t: another corpus: %v", public, err)
		}
	}

	// A spec edited in the manifest no longer has its id.
	opts.Public = false
	m := commitFile(t, features, opts)
	m.Featurizer.Params["buckets"] = "8"
	if _, err := Verify(ctx, features, m, &salt); !errors.Is(err, commitment.ErrManifest) {
		t.Errorf("edited spec: %v", err)
	}
	opts.Featurizer = nil
	if err := CheckCorpus(corpus, commitFile(t, features, opts), &salt); !errors.Is(err, ErrNoFeaturizer) {
		t.Errorf("corpus for a manifest without featurizer: %v", err)
	}
}

func TestFeaturizerRecordRefused(t *testing.T) {
	dir := t.TempDir()
	_, features, rec := featurized(t, dir)
	raw, _ := os.ReadFile(features)
	otherFile := writeFile(t, dir, "other.csv", strings.Replace(string(raw), ",1\n", ",0\n", 1))
	base := CommitOptions{Label: "unfair", Exclude: []string{"document"}, Format: fixedpoint.Default, Salt: saltOf(7), Featurizer: rec}
	tests := []struct {
		name string
		path string
		edit func(*CommitOptions)
		want string
	}{
		{"record of another file", otherFile, func(*CommitOptions) {}, "another file"},
		{"a feature left out", features, func(o *CommitOptions) { o.Exclude = append(o.Exclude, "len_chars") }, `"len_chars", is not committed`},
		{"features reordered", features, func(o *CommitOptions) {
			o.Exclude, o.Features = nil, slices.Concat([]string{rec.Features[1], rec.Features[0]}, rec.Features[2:])
		}, `feature 1 is "h000" in the record but "h001"`},
		{"kept column committed", features, func(o *CommitOptions) { o.Exclude = nil }, `feature 1 is "h000" in the record but "document"`},
		{"another label", features, func(o *CommitOptions) {
			o.Label, o.Exclude = "document", []string{"unfair"}
		}, `label is "unfair"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := base
			tt.edit(&opts)
			_, err := Commit(context.Background(), tt.path, opts)
			if !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want ErrRecord saying %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), rec.Output.SHA256) {
				t.Errorf("error %q shows a plain digest of a private file", err)
			}
		})
	}
}
