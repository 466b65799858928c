package featurize

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/comet-attest/comet/prover/dataset"
	"github.com/comet-attest/comet/prover/fixedpoint"
)

func fixtureConfig() Config {
	cfg := DefaultConfig()
	cfg.Buckets = 16
	return cfg
}

func sha256Of(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestGoldenCSV featurizes testdata/docs.csv (BOM, CRLF, a blank line, a multi-line and a
// tab-indented text, an empty text, a padded label, non-ASCII text) and compares the
// features CSV and its record with the golden files. A second run must be byte-identical.
func TestGoldenCSV(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "docs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	f := mustNew(t, fixtureConfig())
	opts := CSVOptions{Text: "text", Label: "unfair", Keep: []string{"document", "line"}}
	var out bytes.Buffer
	res, err := f.TransformCSV(context.Background(), &out, bytes.NewReader(in), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 9 || len(res.Columns) != 2+f.D()+1 || res.Columns[0] != "document" || res.Columns[len(res.Columns)-1] != "unfair" {
		t.Errorf("result %+v", res)
	}
	goldenCompare(t, "docs.features.golden.csv", out.Bytes())

	var again bytes.Buffer
	if _, err := f.TransformCSV(context.Background(), &again, bytes.NewReader(in), opts); err != nil || !bytes.Equal(again.Bytes(), out.Bytes()) {
		t.Errorf("second run differs (err %v)", err)
	}

	rec, err := f.NewRecord(FileRef{"docs.csv", sha256Of(in)}, FileRef{"docs.features.csv", sha256Of(out.Bytes())}, opts, res)
	if err != nil {
		t.Fatal(err)
	}
	b, err := rec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	goldenCompare(t, "docs.featurizer.golden.json", b)
	back, err := ParseRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if b2, _ := back.Marshal(); !bytes.Equal(b, b2) {
		t.Error("record changes on a round trip")
	}
	if _, err := FromSpec(back.Featurizer); err != nil {
		t.Errorf("the recorded spec does not rebuild: %v", err)
	}

	// The output is a dataset prover/dataset accepts, with the identifiers excluded.
	tab, err := dataset.ReadAll(context.Background(), bytes.NewReader(out.Bytes()),
		dataset.Options{Label: "unfair", Exclude: []string{"document", "line"}, Format: fixedpoint.Default})
	if err != nil {
		t.Fatalf("dataset reader refuses the output: %v", err)
	}
	if tab.N != 9 || tab.D != f.D() || strings.Join(tab.Features, ",") != strings.Join(f.Names(), ",") {
		t.Errorf("dataset sees n=%d d=%d features %v", tab.N, tab.D, tab.Features)
	}
}

func TestTransformCSVErrors(t *testing.T) {
	opts := CSVOptions{Text: "text", Label: "y", Keep: []string{"id"}}
	tests := []struct {
		name  string
		input string
		opts  CSVOptions
		is    error
		msg   string // substring of the message
	}{
		{"no text option", "id,text,y\n1,a,0\n", CSVOptions{Label: "y"}, ErrNoText, "no text column"},
		{"empty file", "", opts, dataset.ErrEmptyFile, "empty file"},
		{"header only", "id,text,y\n", opts, dataset.ErrNoRows, "no data rows"},
		{"missing text", "id,body,y\n1,a,0\n", opts, dataset.ErrMissingColumn, `text column "text"`},
		{"missing label", "id,text,z\n1,a,0\n", opts, dataset.ErrMissingColumn, `label "y"`},
		{"missing kept", "ident,text,y\n1,a,0\n", opts, dataset.ErrMissingColumn, `kept column "id"`},
		{"duplicate header", "id,text,text,y\n1,a,b,0\n", opts, dataset.ErrDuplicateColumn, `column "text"`},
		{"empty header name", "id,,text,y\n1,a,b,0\n", opts, dataset.ErrEmptyColumnName, "column 2"},
		{"label is text", "id,text,y\n1,a,0\n", CSVOptions{Text: "text", Label: "text"}, ErrColumnClash, "both the text and the label"},
		{"keep label", "id,text,y\n1,a,0\n", CSVOptions{Text: "text", Label: "y", Keep: []string{"y"}}, ErrColumnClash, `"y" would appear twice`},
		{"keep twice", "id,text,y\n1,a,0\n", CSVOptions{Text: "text", Label: "y", Keep: []string{"id", "id"}}, ErrColumnClash, `"id"`},
		{"keep clashes with feature", "h000,text,y\n1,a,0\n", CSVOptions{Text: "text", Label: "y", Keep: []string{"h000"}}, ErrColumnClash, `"h000"`},
		{"ragged", "id,text,y\n1,a,0\n2,b\n", opts, dataset.ErrFieldCount, `row 2 (line 3), column "y"`},
		{"quote", "id,text,y\n1,\"a\"b,0\n", opts, dataset.ErrQuote, "row 1 (line 2)"},
		{"latin-1 text", "id,text,y\n1,caf\xe9,0\n", opts, ErrTextEncoding, `row 1 (line 2), column "text"`},
		{"empty label", "id,text,y\n1,a,0\n2,b, \n", opts, dataset.ErrEmptyCell, `row 2 (line 3), column "y"`},
		{"text label", "id,text,y\n1,a,yes\n", opts, dataset.ErrNotNumber, `column "y"`},
		{"NaN label", "id,text,y\n1,a,NaN\n", opts, dataset.ErrNotFinite, `column "y"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustNew(t, fixtureConfig())
			_, err := f.TransformCSV(context.Background(), &bytes.Buffer{}, strings.NewReader(tt.input), tt.opts)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err %v, want %v containing %q", err, tt.is, tt.msg)
			}
		})
	}
}

func TestTransformCSVOptional(t *testing.T) {
	f := mustNew(t, Config{Buckets: 2, NGramMin: 1, NGramMax: 1, Weighting: Count, Lowercase: true, Lexicon: LexiconNone})
	var out bytes.Buffer
	// No label, no kept columns, a huge label-like value in an unused column, a label of
	// any magnitude passes (the commitment checks the range).
	res, err := f.TransformCSV(context.Background(), &out, strings.NewReader("text,other\n\"a, b\",zzz\n"), CSVOptions{Text: "text"})
	if err != nil {
		t.Fatal(err)
	}
	want := "h000,h001,len_tokens,len_chars\n"
	if res.Rows != 1 || !strings.HasPrefix(out.String(), want) || strings.Count(out.String(), "\n") != 2 {
		t.Errorf("rows %d output %q", res.Rows, out.String())
	}
	out.Reset()
	if _, err := f.TransformCSV(context.Background(), &out, strings.NewReader("text,y\na,1e30\n"), CSVOptions{Text: "text", Label: "y"}); err != nil {
		t.Errorf("large label: %v", err)
	}
}

func TestTransformCSVCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := mustNew(t, fixtureConfig())
	_, err := f.TransformCSV(ctx, &bytes.Buffer{}, strings.NewReader("text\na\n"), CSVOptions{Text: "text"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}
