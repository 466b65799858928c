package pipeline

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

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/featurize"
	"github.com/comet-attest/comet/prover/fixedpoint"
)

func TestSplitPathsAndFindRecord(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "features.csv")
	train, test := SplitPaths(out)
	if train != filepath.Join(dir, "features.train.csv") || test != filepath.Join(dir, "features.test.csv") {
		t.Errorf("SplitPaths: %s, %s", train, test)
	}
	shared := RecordPath(out)
	own := RecordPath(test) // a plain run with --out features.test.csv
	tests := []struct {
		name    string
		exist   []string
		csv     string
		want    string
		wantHit bool
	}{
		{"no record", nil, test, "", false},
		{"plain run", []string{shared}, out, shared, true},
		{"train part finds the split's record", []string{shared}, train, shared, true},
		{"test part finds the split's record", []string{shared}, test, shared, true},
		{"a file's own record comes first", []string{shared, own}, test, own, true},
		{"other names do not strip", []string{shared}, filepath.Join(dir, "features.dev.csv"), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range []string{shared, own} {
				_ = os.Remove(p)
			}
			for _, p := range tt.exist {
				writeFile(t, dir, filepath.Base(p), "{}")
			}
			got, ok, err := FindRecord(tt.csv)
			if err != nil || ok != tt.wantHit || got != tt.want {
				t.Errorf("FindRecord(%s) = %q, %t, %v; want %q, %t", tt.csv, got, ok, err, tt.want, tt.wantHit)
			}
		})
	}
}

// TestSplitRecordCommit commits both parts of a split with its one record: each manifest
// says which part it holds and how many rows, and a file that is neither part is refused.
func TestSplitRecordCommit(t *testing.T) {
	dir := t.TempDir()
	corpus := "document,fold,text,unfair\n" +
		"1,a,We may terminate your account at any time.,1\n" +
		"2,b,You can contact us by email.,0\n" +
		"3,a,Any dispute is settled by binding arbitration.,1\n" +
		"4,b,We may change these terms without notice.,1\n" +
		"5,a,Thank you for reading.,0\n"
	cfg := featurize.DefaultConfig()
	cfg.Buckets = 4
	fz, err := featurize.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	labels, _ := featurize.ParseLabelMap("0=-1,1=1")
	opts := featurize.CSVOptions{Text: "text", Label: "unfair", LabelMap: labels, Keep: []string{"document"}, SplitBy: "fold", Test: []string{"b"}}
	var trainOut, testOut bytes.Buffer
	res, err := fz.SplitCSV(context.Background(), &trainOut, &testOut, strings.NewReader(corpus), opts)
	if err != nil {
		t.Fatal(err)
	}
	ref := func(name string, b []byte) featurize.FileRef {
		s := sha256.Sum256(b)
		return featurize.FileRef{File: name, SHA256: hex.EncodeToString(s[:])}
	}
	rec, err := fz.NewSplitRecord(ref("docs.csv", []byte(corpus)), ref("features.train.csv", trainOut.Bytes()), ref("features.test.csv", testOut.Bytes()), opts, res)
	if err != nil {
		t.Fatal(err)
	}
	salt := saltOf(9)
	copts := CommitOptions{Label: "unfair", Exclude: []string{"document"}, Format: fixedpoint.Default, Salt: salt, Featurizer: rec}
	for _, part := range []struct {
		name, data string
		rows       int
	}{{"train", trainOut.String(), 3}, {"test", testOut.String(), 2}} {
		path := writeFile(t, dir, "features."+part.name+".csv", part.data)
		m := commitFile(t, path, copts)
		f := m.Featurizer
		if f == nil || f.Rows != part.rows || m.N != part.rows || f.Split == nil || f.Split.Part != part.name ||
			f.Split.Column != "fold" || strings.Join(f.Split.TestValues, ",") != "b" {
			t.Fatalf("%s: featurizer %+v split %+v", part.name, f, f.Split)
		}
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := commitment.ParseManifest(b)
		if err != nil || back.Featurizer.Split.Part != part.name {
			t.Fatalf("%s: manifest round trip: %v", part.name, err)
		}
		// The public manifest says what the committed labels stand for.
		if l := back.Featurizer.LabelMap; len(l) != 2 || l[0] != (commitment.FeaturizerLabel{From: "0", To: "-1"}) || l[1].To != "1" {
			t.Errorf("%s: label map %+v", part.name, l)
		}
		if _, err := Verify(context.Background(), path, back, &salt); err != nil {
			t.Errorf("%s: verify: %v", part.name, err)
		}
	}
	other := writeFile(t, dir, "features.other.csv", strings.Replace(trainOut.String(), ",1\n", ",-1\n", 1))
	_, err = Commit(context.Background(), other, copts)
	if !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(), "features.train.csv and features.test.csv") {
		t.Errorf("a file that is neither part: %v", err)
	}
}
