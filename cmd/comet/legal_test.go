package main

import (
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/comet-attest/comet/internal/shareddata"
)

// TestLegalFlow runs docs/legal.md's flow verbatim on a subset of the CLAUDETTE corpus (the
// first 30 sentences of each of its 50 documents) at d = 32: featurize with the label map and
// the split by fold, commit both parts, train, prove, submit, prove the held-out quality on
// fold 0 and verify it, and verify the model as a client.
func TestLegalFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("docs/legal.md's flow as processes: keys for two shapes, proofs, a registry (2 minutes)")
	}
	subset := claudetteSubset(t, 30)
	got := runBlock(t, docBlock(t, "docs/legal.md", "legal-flow"), "CORPUS="+subset, "SIZE=20")
	for _, want := range []string{"logged: attestation", "every check passed", "proven: held out on ", "positive when the score is at least -0.5",
		"AUC at least", "proven by acme-legal", "ok   metrics follow from the proven sums"} {
		if !strings.Contains(got, want) {
			t.Errorf("docs/legal.md's flow printed no %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "FAIL") {
		t.Errorf("a check failed:\n%s", got)
	}
}

// claudetteSubset writes the corpus's first n sentences of each document to a CSV of the same
// columns and returns its path.
func claudetteSubset(t *testing.T, n int) string {
	t.Helper()
	f, err := os.Open(shareddata.Path(t, "data", "legal-text", "claudette_tos_en_sentences.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "claudette-subset.csv")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(out)
	_ = w.Write(rows[0])
	line := slices.Index(rows[0], "line")
	if line < 0 {
		t.Fatal("the corpus has no line column")
	}
	for _, r := range rows[1:] {
		if l, err := strconv.Atoi(r[line]); err == nil && l <= n {
			_ = w.Write(r)
		}
	}
	w.Flush()
	if err := errors.Join(w.Error(), out.Close()); err != nil {
		t.Fatal(err)
	}
	return path
}
