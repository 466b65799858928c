package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/comet-attest/comet/internal/shareddata"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/featurize"
)

// TestDatasetFeaturizeClaudette runs the legal-document flow's first step on the whole
// CLAUDETTE corpus: featurize, then commit the features with the identifiers excluded.
func TestDatasetFeaturizeClaudette(t *testing.T) {
	if testing.Short() {
		t.Skip("featurizes the whole CLAUDETTE corpus (4 s)")
	}
	dir := t.TempDir()
	docs := shareddata.Path(t, "data", "legal-text", "claudette_tos_en_sentences.csv")
	features := filepath.Join(dir, "features.csv")
	args := []string{"dataset", "featurize", docs, "--text", "text", "--label", "unfair",
		"--keep", "document,line", "--buckets", "64", "--out", features}
	code, out, errOut := runComet(t, args...)
	if code != 0 {
		t.Fatalf("featurize: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "featurized 17383 rows → 76 features") ||
		!strings.Contains(out, "comet dataset commit "+features+" --label unfair --exclude document,line") {
		t.Errorf("featurize output:\n%s", out)
	}
	rec, err := featurize.LoadRecord(filepath.Join(dir, "features.featurizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	const corpusSHA256 = "dc0770bc44bfd278ce68dca45a50a3dba2cf1b0a2e2bca310bcb34ae8c88086a" // SOURCES.md
	if rec.Input.SHA256 != corpusSHA256 || rec.Input.File != "claudette_tos_en_sentences.csv" || rec.Rows != 17383 ||
		rec.Featurizer.Params["buckets"] != "64" || len(rec.Features) != 76 {
		t.Errorf("record %+v", rec)
	}
	if _, err := featurize.FromSpec(rec.Featurizer); err != nil {
		t.Errorf("recorded spec: %v", err)
	}
	first, err := os.ReadFile(features)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Output.SHA256 != sha256Hex(first) {
		t.Errorf("record's output sha256 %s does not match the file", rec.Output.SHA256)
	}
	checkLexiconSignal(t, first)

	// Same input and flags: byte-identical features and record.
	firstRec, _ := os.ReadFile(filepath.Join(dir, "features.featurizer.json"))
	if code, _, errOut := runComet(t, args...); code != 0 {
		t.Fatalf("second featurize: %s", errOut)
	}
	second, _ := os.ReadFile(features)
	secondRec, _ := os.ReadFile(filepath.Join(dir, "features.featurizer.json"))
	if !bytes.Equal(first, second) || !bytes.Equal(firstRec, secondRec) {
		t.Error("featurizing again changed the output")
	}

	// The record beside the features goes into the manifest, keyed from the salt.
	manifest := filepath.Join(dir, "features.manifest.json")
	saltFile := filepath.Join(dir, "features.salt")
	commit := []string{"dataset", "commit", features, "--label", "unfair", "--exclude", "document,line", "--salt-file", saltFile, "--out", manifest}
	code, out, errOut = runComet(t, commit...)
	if code != 0 {
		t.Fatalf("commit: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "committed 17383 rows × 76 features") || !strings.Contains(out, "featurizer comet-legal-hash version 1") ||
		!strings.Contains(out, "found beside the data") {
		t.Errorf("commit output:\n%s", out)
	}
	m, err := commitment.LoadManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}
	salt, err := commitment.LoadSalt(saltFile)
	if err != nil {
		t.Fatal(err)
	}
	fileDigest, _ := commitment.FileDigest(salt, bytes.NewReader(first))
	corpusDigest, _ := commitment.CorpusDigest(salt, corpusSHA256)
	if m.FileDigest != fileDigest || m.SHA256 != "" || strings.Join(m.Features, ",") != strings.Join(rec.Features, ",") || m.Label != "unfair" {
		t.Errorf("manifest file digest %s sha256 %q features %v label %s", m.FileDigest, m.SHA256, m.Features, m.Label)
	}
	if f := m.Featurizer; f == nil || f.SpecSHA256 != rec.FeaturizerID || f.CorpusDigest != corpusDigest || f.CorpusSHA256 != "" || f.Rows != 17383 {
		t.Errorf("manifest featurizer %+v", m.Featurizer)
	}
	raw, _ := os.ReadFile(manifest)
	for _, plain := range []string{rec.Output.SHA256, corpusSHA256} {
		if strings.Contains(string(raw), plain) {
			t.Errorf("the private manifest shows the plain digest %s", plain)
		}
	}
	code, out, errOut = runComet(t, "dataset", "inspect", manifest)
	if code != 0 || !strings.Contains(out, "corpus_digest  "+corpusDigest) || !strings.Contains(out, rec.FeaturizerID) {
		t.Errorf("inspect: exit %d:\n%s%s", code, out, errOut)
	}
	code, out, errOut = runComet(t, "dataset", "verify", features, "--manifest", manifest, "--salt-file", saltFile, "--corpus", docs)
	if code != 0 || !strings.Contains(out, "passed  featurizer: corpus") {
		t.Errorf("verify with the corpus: exit %d:\n%s%s", code, out, errOut)
	}

	// A record beside the CSV that belongs to another file is refused unless set aside.
	last := first[bytes.LastIndexByte(first[:len(first)-1], '\n')+1:]
	if err := os.WriteFile(features, slices.Concat(first, last), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runComet(t, commit...)
	if code != 2 || !strings.Contains(errOut, "another file") || !strings.Contains(errOut, "--featurizer-record none") {
		t.Errorf("stale record: exit %d: %s", code, errOut)
	}
	code, out, errOut = runComet(t, append(commit, "--featurizer-record", "none")...)
	if code != 0 || strings.Contains(out, "featurizer") {
		t.Errorf("commit without the record: exit %d:\n%s%s", code, out, errOut)
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// checkLexiconSignal checks that the mean lexicon total is higher among rows labelled 1.
func checkLexiconSignal(t *testing.T, features []byte) {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(features)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := recs[0]
	var sum, n [2]float64
	for _, rec := range recs[1:] {
		y, err := strconv.Atoi(rec[len(rec)-1])
		if err != nil || y < 0 || y > 1 {
			t.Fatalf("label %q", rec[len(rec)-1])
		}
		n[y]++
		for j, name := range header {
			if strings.HasPrefix(name, "lex_") {
				v, err := strconv.Atoi(rec[j])
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				sum[y] += float64(v)
			}
		}
	}
	fair, unfair := sum[0]/n[0], sum[1]/n[1]
	t.Logf("mean lexicon total: %.3f for unfair = 0, %.3f for unfair = 1", fair, unfair)
	if n[1] != 1374 || unfair < 3*fair {
		t.Errorf("%v unfair rows; mean lexicon total %.3f (unfair) vs %.3f (fair)", n[1], unfair, fair)
	}
}

func TestDatasetFeaturizeErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "docs.csv", "id,text,y\n1,We may terminate at any time.,1\n")
	run := func(data string, extra ...string) []string {
		return append([]string{"dataset", "featurize", data, "--out", filepath.Join(dir, "f.csv")}, extra...)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no text", run(good), "--text is required"},
		{"unknown text", run(good, "--text", "body"), `text column "body"`},
		{"bad buckets", run(good, "--text", "text", "--buckets", "-1"), "buckets -1"},
		{"bad n-grams", run(good, "--text", "text", "--ngram-min", "3", "--ngram-max", "2"), "n-gram range 3..2"},
		{"bad weighting", run(good, "--text", "text", "--weighting", "tfidf"), `weighting "tfidf"`},
		{"bad lexicon", run(good, "--text", "text", "--lexicon", "mine"), `unknown lexicon "mine"`},
		{"missing file", run(filepath.Join(dir, "none.csv"), "--text", "text"), "no such file"},
		{"ragged", run(writeFile(t, dir, "ragged.csv", "id,text,y\n1,a,0\n2,b\n"), "--text", "text", "--label", "y"), "row 2 (line 3)"},
		{"latin-1", run(writeFile(t, dir, "latin1.csv", "id,text,y\n1,caf\xe9,0\n"), "--text", "text", "--label", "y"), `column "text": text is not valid UTF-8`},
		{"label not a number", run(writeFile(t, dir, "yes.csv", "id,text,y\n1,a,yes\n"), "--text", "text", "--label", "y"), `column "y"`},
		{"empty", run(writeFile(t, dir, "empty.csv", ""), "--text", "text"), "empty"},
		{"keep clash", run(good, "--text", "text", "--label", "y", "--keep", "y"), "would appear twice"},
		{"overwrite input", []string{"dataset", "featurize", good, "--text", "text", "--out", good}, "would overwrite the input"},
		{"unknown flag", run(good, "--text", "text", "--nope"), "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runComet(t, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, errOut)
			}
			if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q: want one line containing %q", errOut, tt.want)
			}
		})
	}
	// A failed run leaves neither a features file nor a record behind.
	if _, err := os.Stat(filepath.Join(dir, "f.csv")); !os.IsNotExist(err) {
		t.Errorf("features file after failures: %v", err)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, ".f.csv.tmp*")); len(matches) > 0 {
		t.Errorf("temporary files left: %v", matches)
	}

	// Unlabelled documents with the default output name.
	code, out, errOut := runComet(t, "dataset", "featurize", good, "--text", "text", "--buckets", "8", "--lexicon", "none")
	if code != 0 || strings.Contains(out, "next") {
		t.Fatalf("unlabelled: exit %d: %s%s", code, out, errOut)
	}
	b, err := os.ReadFile(filepath.Join(dir, "docs.features.csv"))
	if err != nil || !strings.HasPrefix(string(b), "h000,h001,h002,h003,h004,h005,h006,h007,len_tokens,len_chars\n") {
		t.Errorf("default output %q %v", b, err)
	}
	if _, err := featurize.LoadRecord(filepath.Join(dir, "docs.features.featurizer.json")); err != nil {
		t.Error(err)
	}
}
