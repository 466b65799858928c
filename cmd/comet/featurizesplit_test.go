package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/comet-attest/comet/internal/shareddata"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/featurize"
)

func readCSVFile(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestFeaturizeSplit runs featurize with a label map and a split, then commits each part
// with the one record the split wrote.
func TestFeaturizeSplit(t *testing.T) {
	dir := t.TempDir()
	docs := writeFile(t, dir, "docs.csv", "id,fold,text,y\n"+
		"1,0,We may terminate your account at any time.,1\n"+
		"2,1,You can contact us by email.,0\n"+
		"3,2,Any dispute is settled by binding arbitration.,1\n"+
		"4,0,Thank you for reading.,0\n")
	out := filepath.Join(dir, "features.csv")
	code, stdout, errOut := runComet(t, "dataset", "featurize", docs, "--text", "text", "--label", "y", "--label-map", "0=-1,1=1",
		"--split-by", "fold", "--test", "0", "--keep", "id", "--buckets", "4", "--out", out)
	if code != 0 {
		t.Fatalf("featurize: exit %d: %s", code, errOut)
	}
	train, test := filepath.Join(dir, "features.train.csv"), filepath.Join(dir, "features.test.csv")
	for _, want := range []string{
		"featurized 4 rows", "labels     y mapped 0=-1,1=1",
		"train      " + train + " (2 rows, fold not in {0})", "test       " + test + " (2 rows, fold in {0})",
		"record     " + filepath.Join(dir, "features.featurizer.json"),
		"next       comet dataset commit " + train + " --label y --exclude id",
		"next       comet dataset commit " + test + " --label y --exclude id",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a split also wrote %s: %v", out, err)
	}
	for path, want := range map[string][]string{train: {"2,-1", "3,1"}, test: {"1,1", "4,-1"}} {
		recs := readCSVFile(t, path)
		if h := recs[0]; h[0] != "id" || h[len(h)-1] != "y" || strings.Contains(strings.Join(h, ","), "fold") {
			t.Errorf("%s header %v", path, h)
		}
		var got []string
		for _, r := range recs[1:] {
			got = append(got, r[0]+","+r[len(r)-1])
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: id,label %v, want %v", path, got, want)
		}
	}
	rec, err := featurize.LoadRecord(filepath.Join(dir, "features.featurizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if s := rec.Split; s == nil || s.Column != "fold" || s.Train.File != "features.train.csv" || s.Test.Rows != 2 ||
		rec.LabelMap.String() != "0=-1,1=1" || rec.Output != (featurize.FileRef{}) {
		t.Errorf("record %+v split %+v", rec, rec.Split)
	}
	for part, path := range map[string]string{"train": train, "test": test} {
		manifest := filepath.Join(dir, part+".manifest.json")
		code, stdout, errOut := runComet(t, "dataset", "commit", path, "--label", "y", "--exclude", "id",
			"--salt-file", filepath.Join(dir, part+".salt"), "--out", manifest)
		if code != 0 || !strings.Contains(stdout, "record "+filepath.Join(dir, "features.featurizer.json")+", found beside the data, its "+part+" part") {
			t.Fatalf("commit %s: exit %d:\n%s%s", part, code, stdout, errOut)
		}
		m, err := commitment.LoadManifest(manifest)
		if err != nil {
			t.Fatal(err)
		}
		if f := m.Featurizer; f == nil || f.Split == nil || f.Split.Part != part || f.Rows != 2 {
			t.Errorf("%s manifest featurizer %+v", part, m.Featurizer)
		}
		code, stdout, _ = runComet(t, "dataset", "inspect", manifest)
		if code != 0 || !strings.Contains(stdout, part+" part: the rows whose fold") {
			t.Errorf("inspect %s: exit %d:\n%s", part, code, stdout)
		}
	}
}

func TestFeaturizeSplitErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "docs.csv", "id,fold,text,y\n1,0,We may terminate at any time.,1\n2,1,Hello.,0\n")
	run := func(extra ...string) []string {
		return append([]string{"dataset", "featurize", good, "--text", "text", "--out", filepath.Join(dir, "f.csv")}, extra...)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"test without split-by", run("--test", "0"), "--test needs --split-by"},
		{"split-by without test", run("--split-by", "fold"), "--split-by needs --test"},
		{"label map without label", run("--label-map", "0=-1"), "--label-map needs --label"},
		{"malformed label map", run("--label", "y", "--label-map", "0:-1"), `--label-map: invalid label map: "0:-1" is not FROM=TO`},
		{"duplicate FROM", run("--label", "y", "--label-map", "0=-1,0.0=1"), "label 0.0 is mapped twice"},
		{"unknown label", run("--label", "y", "--label-map", "0=-1"), `row 1 (line 2), column "y": label value not in the label map: "1"`},
		{"empty test split", run("--split-by", "fold", "--test", "7,8"), "no row has fold in {7, 8}"},
		{"missing split column", run("--split-by", "folds", "--test", "0"), `split column "folds"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runComet(t, tt.args...)
			if code != 2 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q: want 2 and one line containing %q", code, errOut, tt.want)
			}
		})
	}
	// A failed split leaves neither part nor a record.
	matches, _ := filepath.Glob(filepath.Join(dir, "f*"))
	if len(matches) > 0 {
		t.Errorf("left after failures: %v", matches)
	}
	// A part that would be the input is refused.
	in := writeFile(t, dir, "x.train.csv", "id,fold,text\n1,0,a\n2,1,b\n")
	code, _, errOut := runComet(t, "dataset", "featurize", in, "--text", "text", "--split-by", "fold", "--test", "0", "--out", filepath.Join(dir, "x.csv"))
	if code != 2 || !strings.Contains(errOut, "would overwrite the input") {
		t.Errorf("part over the input: exit %d: %s", code, errOut)
	}
}

// TestFeaturizeClaudetteSplit is the legal-document flow's split on the whole corpus: fold
// 0 held out, labels ±1; the parts add up to the corpus and the test part is fold 0.
func TestFeaturizeClaudetteSplit(t *testing.T) {
	dir := t.TempDir()
	docs := shareddata.Path(t, "data", "legal-text", "claudette_tos_en_sentences.csv")
	code, stdout, errOut := runComet(t, "dataset", "featurize", docs, "--text", "text", "--label", "unfair", "--label-map", "0=-1,1=1",
		"--split-by", "test_fold", "--test", "0", "--keep", "document,line", "--out", filepath.Join(dir, "features.csv"))
	if code != 0 {
		t.Fatalf("featurize: exit %d: %s", code, errOut)
	}
	corpus := readCSVFile(t, docs)
	fold0 := map[string]bool{}
	for _, r := range corpus[1:] {
		if r[5] == "0" { // document,line,text,tags,unfair,test_fold
			fold0[r[0]+"\x00"+r[1]] = true
		}
	}
	trainRecs, testRecs := readCSVFile(t, filepath.Join(dir, "features.train.csv")), readCSVFile(t, filepath.Join(dir, "features.test.csv"))
	nTrain, nTest := len(trainRecs)-1, len(testRecs)-1
	t.Logf("train %d rows, test %d rows", nTrain, nTest)
	if nTrain+nTest != 17383 || nTest != len(fold0) || !strings.Contains(stdout, "featurized 17383 rows") {
		t.Fatalf("train %d + test %d rows, want 17383 with the %d of fold 0:\n%s", nTrain, nTest, len(fold0), stdout)
	}
	for _, r := range testRecs[1:] {
		if !fold0[r[0]+"\x00"+r[1]] {
			t.Fatalf("test row document %s line %s is not in fold 0", r[0], r[1])
		}
	}
	rec, err := featurize.LoadRecord(filepath.Join(dir, "features.featurizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if s := rec.Split; s == nil || s.Train.Rows != nTrain || s.Test.Rows != nTest || rec.Rows != 17383 {
		t.Errorf("record split %+v", rec.Split)
	}
}
