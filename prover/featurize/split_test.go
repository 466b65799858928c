package featurize

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/comet-attest/comet/prover/dataset"
)

func TestParseLabelMap(t *testing.T) {
	tests := []struct {
		in   string
		want LabelMap
		msg  string // substring of the error; empty for success
	}{
		{"0=-1,1=1", LabelMap{{"0", "-1"}, {"1", "1"}}, ""},
		{" 0 = -1 , 1=+1", LabelMap{{"0", "-1"}, {"1", "+1"}}, ""},
		{"2.5=1e2", LabelMap{{"2.5", "1e2"}}, ""},
		{"", nil, `"" is not FROM=TO`},
		{"0=-1,1", nil, `"1" is not FROM=TO`},
		{"0=-1,,1=1", nil, `"" is not FROM=TO`},
		{"yes=1", nil, `"yes"`},
		{"0=", nil, "0=: \"\""},
		{"0=NaN", nil, `"NaN"`},
		{"0=-1,0=1", nil, "label 0 is mapped twice"},
		{"1=1,1.0=-1", nil, "label 1.0 is mapped twice"},
		{"10=1,1e1=-1", nil, "label 1e1 is mapped twice"},
		{"0=1,-0.0=1", nil, "label -0.0 is mapped twice"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLabelMap(tt.in)
			if tt.msg == "" {
				if err != nil || !slices.Equal(got, tt.want) {
					t.Errorf("got %v, %v; want %v", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, ErrLabelMap) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err %v, want ErrLabelMap containing %q", err, tt.msg)
			}
		})
	}
}

func TestDecimalKey(t *testing.T) {
	same := [][]string{
		{"1", "+1", "1.0", "01", "0.1e1", "10e-1", "1.000e0"},
		{"0", "-0", "0.0", "0e9", ".0"},
		{"-2.5", "-25e-1", "-0.25E1"},
		{"1000", "1e3", "10E2"},
	}
	for i, group := range same {
		for _, s := range group {
			if got, want := decimalKey(s), decimalKey(group[0]); got != want {
				t.Errorf("decimalKey(%q) = %q, decimalKey(%q) = %q", s, got, group[0], want)
			}
			for _, other := range same[i+1:] {
				if decimalKey(s) == decimalKey(other[0]) {
					t.Errorf("%q and %q have one key", s, other[0])
				}
			}
		}
	}
	if decimalKey("1e999999999") == decimalKey("1") {
		t.Error("a huge exponent collides")
	}
}

func TestTransformCSVLabelMap(t *testing.T) {
	pm := func(s string) LabelMap {
		m, err := ParseLabelMap(s)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name, input string
		opts        CSVOptions
		labels      []string // the output's label column
		is          error
		msg         string
	}{
		{"0/1 to ±1", "text,y\na,0\nb,1\nc, 0.0 \n", CSVOptions{Text: "text", Label: "y", LabelMap: pm("0=-1,1=1")}, []string{"-1", "1", "-1"}, nil, ""},
		{"numeric match", "text,y\na,1e0\nb,+2\n", CSVOptions{Text: "text", Label: "y", LabelMap: pm("1=10,2.0=20")}, []string{"10", "20"}, nil, ""},
		{"unknown label", "text,y\na,0\nb,2\n", CSVOptions{Text: "text", Label: "y", LabelMap: pm("0=-1,1=1")}, nil, ErrUnmappedLabel, `row 2 (line 3), column "y": label value not in the label map: "2"`},
		{"not a number before the map", "text,y\na,x\n", CSVOptions{Text: "text", Label: "y", LabelMap: pm("0=-1")}, nil, dataset.ErrNotNumber, `row 1 (line 2), column "y"`},
		{"map without label", "text,y\na,0\n", CSVOptions{Text: "text", LabelMap: pm("0=-1")}, nil, ErrLabelMap, "needs a label column"},
		{"malformed map", "text,y\na,0\n", CSVOptions{Text: "text", Label: "y", LabelMap: LabelMap{{"0", "-1"}, {"0.0", "1"}}}, nil, ErrLabelMap, "mapped twice"},
		{"empty map", "text,y\na,0\n", CSVOptions{Text: "text", Label: "y", LabelMap: LabelMap{}}, nil, ErrLabelMap, "no pairs"},
	}
	f := mustNew(t, Config{Buckets: 2, NGramMin: 1, NGramMax: 1, Weighting: Count, Lexicon: LexiconNone})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := f.TransformCSV(context.Background(), &out, strings.NewReader(tt.input), tt.opts)
			if tt.is != nil {
				var pe *dataset.ParseError
				if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.msg) {
					t.Fatalf("err %v, want %v containing %q", err, tt.is, tt.msg)
				}
				if errors.Is(err, ErrUnmappedLabel) && !errors.As(err, &pe) {
					t.Errorf("an unmapped label is not a *dataset.ParseError: %T", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			recs := readCSV(t, out.Bytes())
			var labels []string
			for _, r := range recs[1:] {
				labels = append(labels, r[len(r)-1])
			}
			if !slices.Equal(labels, tt.labels) {
				t.Errorf("labels %v, want %v", labels, tt.labels)
			}
		})
	}
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestGoldenSplit splits testdata/docs.csv by document with the labels mapped to ±1: both
// outputs must be the rows of the unsplit golden features, in order, partitioned by the
// document column and relabelled, and the record (a golden file) must describe both.
func TestGoldenSplit(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "docs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(filepath.Join("testdata", "docs.features.golden.csv"))
	if err != nil {
		t.Fatal(err)
	}
	f := mustNew(t, fixtureConfig())
	labels, _ := ParseLabelMap("0=-1,1=1")
	opts := CSVOptions{Text: "text", Label: "unfair", LabelMap: labels, Keep: []string{"document", "line"}, SplitBy: "document", Test: []string{"Béta"}}
	var train, test bytes.Buffer
	res, err := f.SplitCSV(context.Background(), &train, &test, bytes.NewReader(in), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 9 || res.TrainRows != 5 || res.TestRows != 4 {
		t.Errorf("rows %d = %d train + %d test, want 9 = 5 + 4", res.Rows, res.TrainRows, res.TestRows)
	}
	want := map[bool][][]string{}
	recs := readCSV(t, whole)
	for _, r := range recs[1:] {
		r[len(r)-1] = map[string]string{"0": "-1", "1": "1"}[r[len(r)-1]]
		want[r[0] == "Béta"] = append(want[r[0] == "Béta"], r)
	}
	for _, part := range []struct {
		name string
		got  []byte
		test bool
	}{{"train", train.Bytes(), false}, {"test", test.Bytes(), true}} {
		got := readCSV(t, part.got)
		if !slices.Equal(got[0], recs[0]) {
			t.Errorf("%s header %v", part.name, got[0])
		}
		if !slices.EqualFunc(got[1:], want[part.test], slices.Equal) {
			t.Errorf("%s rows %v, want %v", part.name, got[1:], want[part.test])
		}
	}

	rec, err := f.NewSplitRecord(FileRef{"docs.csv", sha256Of(in)},
		FileRef{"docs.features.train.csv", sha256Of(train.Bytes())}, FileRef{"docs.features.test.csv", sha256Of(test.Bytes())}, opts, res)
	if err != nil {
		t.Fatal(err)
	}
	b, err := rec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	goldenCompare(t, "docs.split.featurizer.golden.json", b)
	back, err := ParseRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if b2, _ := back.Marshal(); !bytes.Equal(b, b2) {
		t.Error("record changes on a round trip")
	}
	outs := back.Outputs()
	if len(outs) != 2 || outs[0].Part != PartTrain || outs[0].SHA256 != sha256Of(train.Bytes()) || outs[0].Rows != 5 ||
		outs[1].Part != PartTest || outs[1].File != "docs.features.test.csv" || outs[1].Rows != 4 {
		t.Errorf("outputs %+v", outs)
	}
}

func TestSplitCSVErrors(t *testing.T) {
	const input = "id,fold,text,y\n1,0,a,0\n2,1,b,1\n3, 2 ,c,0\n"
	split := func(by string, test ...string) CSVOptions {
		return CSVOptions{Text: "text", Label: "y", Keep: []string{"id"}, SplitBy: by, Test: test}
	}
	tests := []struct {
		name        string
		opts        CSVOptions
		train, test int
		is          error
		msg         string
	}{
		{"one test value", split("fold", "0"), 2, 1, nil, ""},
		{"two test values, trimmed cells", split("fold", "0", "2"), 1, 2, nil, ""},
		{"no row is a test row", split("fold", "7", "8"), 0, 0, ErrSplit, "no row has fold in {7, 8}, so the test split would be empty"},
		{"every row is a test row", split("fold", "0", "1", "2"), 0, 0, ErrSplit, "every row has fold in {0, 1, 2}"},
		{"missing split column", split("folds", "0"), 0, 0, dataset.ErrMissingColumn, `split column "folds"`},
		{"no split column", split("", "0"), 0, 0, ErrSplit, "no split column"},
		{"no test values", split("fold"), 0, 0, ErrSplit, "no test values"},
		{"empty test value", split("fold", ""), 0, 0, ErrSplit, `test value ""`},
		{"test value twice", split("fold", "0", "0"), 0, 0, ErrSplit, `"0" given twice`},
	}
	f := mustNew(t, Config{Buckets: 2, NGramMin: 1, NGramMax: 1, Weighting: Count, Lexicon: LexiconNone})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var train, test bytes.Buffer
			res, err := f.SplitCSV(context.Background(), &train, &test, strings.NewReader(input), tt.opts)
			if tt.is != nil {
				if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("err %v, want %v containing %q", err, tt.is, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.TrainRows != tt.train || res.TestRows != tt.test || res.Rows != 3 {
				t.Errorf("result %+v, want %d train and %d test rows", res, tt.train, tt.test)
			}
			for _, out := range []*bytes.Buffer{&train, &test} {
				// The split column is neither a feature nor copied.
				if h := readCSV(t, out.Bytes())[0]; slices.Contains(h, "fold") || h[0] != "id" {
					t.Errorf("header %v", h)
				}
			}
		})
	}
	if _, err := f.TransformCSV(context.Background(), &bytes.Buffer{}, strings.NewReader(input), split("fold", "0")); !errors.Is(err, ErrSplit) {
		t.Errorf("TransformCSV with a split: %v, want ErrSplit", err)
	}
}

// TestSplitRecordValidate edits a valid split record into each inconsistency Validate
// refuses.
func TestSplitRecordValidate(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "docs.split.featurizer.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := os.ReadFile(filepath.Join("testdata", "docs.featurizer.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(r *Record)
		msg  string
	}{
		{"valid", func(*Record) {}, ""},
		{"output beside the split", func(r *Record) { r.Output = FileRef{"x.csv", r.Split.Train.SHA256} }, "a split record has no output"},
		{"no column", func(r *Record) { r.Split.Column = "" }, "split: no column"},
		{"rows do not add up", func(r *Record) { r.Split.Test.Rows++ }, "add up to rows 9"},
		{"empty part", func(r *Record) { r.Split.Test.Rows, r.Split.Train.Rows = 0, 9 }, "must be positive"},
		{"same digests", func(r *Record) { r.Split.Test.SHA256 = r.Split.Train.SHA256 }, "the same file"},
		{"bad digest", func(r *Record) { r.Split.Test.SHA256 = "ab" }, "64 lower-case hex"},
		{"no test values", func(r *Record) { r.Split.TestValues = nil }, "no test values"},
		{"label map without label", func(r *Record) { r.LabelColumn = "" }, "label map without a label column"},
		{"label map twice", func(r *Record) { r.LabelMap = append(r.LabelMap, LabelPair{"1.0", "1"}) }, "mapped twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRecord(b)
			if err != nil {
				t.Fatal(err)
			}
			tt.edit(r)
			err = r.Validate()
			if tt.msg == "" {
				if err != nil {
					t.Error(err)
				}
				return
			}
			if !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err %v, want ErrRecord containing %q", err, tt.msg)
			}
		})
	}
	// A plain record without output, and one with unknown split keys, are refused.
	for _, bad := range [][]byte{
		bytes.Replace(plain, []byte(`"output"`), []byte(`"outputs"`), 1),
		bytes.Replace(b, []byte(`"test_values"`), []byte(`"Test_values"`), 1),
		bytes.Replace(b, []byte(`"from"`), []byte(`"frm"`), 1),
	} {
		if _, err := ParseRecord(bad); !errors.Is(err, ErrRecord) {
			t.Errorf("parsed %s: %v", bad[:40], err)
		}
	}
	if _, err := ParseRecord(plain); err != nil {
		t.Errorf("a record without label map or split: %v", err)
	}
}
