package featurize

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzTokenize checks the tokeniser's invariants on arbitrary bytes: tokens are non-empty
// valid UTF-8 made only of token runes, re-tokenising the tokens joined by spaces gives
// them back, and lower-casing commutes with tokenising.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"", "We may terminate at ANY time.", "bad\xffbyte", "cafe\u0301 ΣΟΦΊΑ İ 日本語", "a\u0300\u0300"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, lower := range []bool{false, true} {
			toks := Tokenize(text, lower)
			for _, tok := range toks {
				if tok == "" || !utf8.ValidString(tok) || strings.ContainsFunc(tok, func(r rune) bool { return !isTokenRune(r) }) {
					t.Fatalf("bad token %q from %q", tok, text)
				}
			}
			if again := Tokenize(strings.Join(toks, " "), lower); !slices.Equal(again, toks) {
				t.Fatalf("re-tokenising %q gives %q", toks, again)
			}
		}
		// Lower-casing while tokenising equals tokenising, then lower-casing the tokens.
		if a, b := Tokenize(strings.Join(Tokenize(text, false), " "), true), Tokenize(text, true); !slices.Equal(a, b) {
			t.Fatalf("%q: lower-case after tokenising %q, during %q", text, a, b)
		}
	})
}

// FuzzTransformCSV feeds arbitrary bytes through the CLI's input path. It must either fail
// with an error or write one output row per input row, each field an integer, and give
// the same bytes on a second run; a split of the same input partitions the same rows.
func FuzzTransformCSV(f *testing.F) {
	f.Add([]byte("id,text,y\n1,We may terminate at any time.,1\n2,\"a, \"\"b\"\"\",0\n"))
	f.Add([]byte("\xEF\xBB\xBFid,text,y\r\n1,\"multi\r\nline\",0\r\n"))
	f.Add([]byte("id,text,y\n1,a\n"))
	f.Add([]byte("id,text,y\n1,caf\xe9,0\n"))
	f.Add([]byte("text,y,id\n,-1e3,x\n"))
	fz, err := New(Config{Buckets: 8, NGramMin: 1, NGramMax: 3, Weighting: Count, Lowercase: true, Lexicon: LexiconClaudetteEN1})
	if err != nil {
		f.Fatal(err)
	}
	opts := CSVOptions{Text: "text", Label: "y", Keep: []string{"id"}}
	labels, err := ParseLabelMap("0=-1,1=1,-1e3=0")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		res, err := fz.TransformCSV(context.Background(), &out, bytes.NewReader(in), opts)
		if err != nil {
			return
		}
		var again bytes.Buffer
		if _, err := fz.TransformCSV(context.Background(), &again, bytes.NewReader(in), opts); err != nil || !bytes.Equal(out.Bytes(), again.Bytes()) {
			t.Fatalf("second run differs: %v", err)
		}
		recs, err := csv.NewReader(&out).ReadAll()
		if err != nil {
			t.Fatalf("output is not CSV: %v", err)
		}
		if len(recs) != res.Rows+1 || !slices.Equal(recs[0], res.Columns) {
			t.Fatalf("%d records for %d rows", len(recs), res.Rows)
		}
		for _, rec := range recs[1:] {
			for _, v := range rec[1 : 1+fz.D()] {
				if _, err := strconv.ParseInt(v, 10, 64); err != nil {
					t.Fatalf("feature %q is not an integer", v)
				}
			}
		}
		// Split by id with the labels mapped: what succeeds partitions the same rows.
		split := opts
		split.LabelMap, split.SplitBy, split.Test = labels, "id", []string{"1"}
		var train, test bytes.Buffer
		sres, err := fz.SplitCSV(context.Background(), &train, &test, bytes.NewReader(in), split)
		if err != nil {
			return
		}
		if sres.Rows != res.Rows || sres.TrainRows+sres.TestRows != res.Rows {
			t.Fatalf("split %d + %d rows of %d, plain run %d", sres.TrainRows, sres.TestRows, sres.Rows, res.Rows)
		}
	})
}

// FuzzParseSpec and FuzzParseRecord feed arbitrary JSON to the parsers of a featurizer spec
// and of a featurization record (both read from files a provider was given): none may panic,
// and what parses validates.
func FuzzParseSpec(f *testing.F) {
	good, err := os.ReadFile(filepath.Join("testdata", "spec.golden.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"name":"hashing","name":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec(data)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("a parsed spec does not validate: %v", err)
		}
		if _, err := s.ID(); err != nil {
			t.Fatalf("a parsed spec has no id: %v", err)
		}
	})
}

func FuzzParseRecord(f *testing.F) {
	// The plain record and one with a label map and a split, so that the new fields'
	// parsing and validation are reached.
	for _, name := range []string{"docs.featurizer.golden.json", "docs.split.featurizer.golden.json"} {
		good, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(good)
	}
	f.Add([]byte(`{"label_map":[{"from":"0","to":"1"},{"from":"0","to":"1","from":"1"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRecord(data)
		if err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("a parsed record does not validate: %v", err)
		}
		var rows int
		for _, o := range r.Outputs() {
			rows += o.Rows
		}
		if rows != r.Rows {
			t.Fatalf("outputs hold %d rows, the record says %d", rows, r.Rows)
		}
	})
}
