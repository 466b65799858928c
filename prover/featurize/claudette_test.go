package featurize

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/comet-attest/comet/internal/shareddata"
)

func claudettePath(tb testing.TB) string {
	return shareddata.Path(tb, "data", "legal-text", "claudette_tos_en_sentences.csv")
}

// claudetteTags maps each lexicon category to the CLAUDETTE tag categories it is written
// for (SOURCES.md beside the data).
var claudetteTags = map[string][]string{
	"lex_arbitration": {"a"}, "lex_change": {"ch"}, "lex_content_removal": {"cr"},
	"lex_jurisdiction": {"j"}, "lex_law": {"law"}, "lex_liability": {"ltd"},
	"lex_termination": {"ter"}, "lex_use": {"use"}, "lex_privacy": {"pinc"},
	"lex_discretion": {"ch", "cr", "ter"},
}

// TestClaudette featurizes the whole CLAUDETTE corpus and checks that the lexicon carries
// signal: the mean lexicon total is several times higher among sentences labelled unfair,
// and each category's mean count is at least five times as high among sentences with an
// unfair tag (level 2 or 3) of the categories it targets as among the others (it is 15× or more).
func TestClaudette(t *testing.T) {
	in, err := os.ReadFile(claudettePath(t))
	if err != nil {
		t.Fatal(err)
	}
	f := mustNew(t, DefaultConfig())
	var out bytes.Buffer
	res, err := f.TransformCSV(context.Background(), &out, bytes.NewReader(in),
		CSVOptions{Text: "text", Label: "unfair", Keep: []string{"tags"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 17383 {
		t.Fatalf("rows %d, want 17383", res.Rows)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := recs[0]
	var lexCols []int
	for j, name := range header {
		if strings.HasPrefix(name, "lex_") {
			lexCols = append(lexCols, j)
		}
	}
	var n, total [2]float64
	inCat := make([][2]float64, len(lexCols)) // rows without, with a targeted tag
	sum := make([][2]float64, len(lexCols))
	for _, rec := range recs[1:] {
		y, _ := strconv.Atoi(rec[len(rec)-1])
		n[y]++
		unfairCats := map[string]bool{}
		for _, tag := range strings.Fields(rec[0]) {
			if cat := strings.TrimRight(tag, "0123456789"); strings.HasSuffix(tag, "2") || strings.HasSuffix(tag, "3") {
				unfairCats[cat] = true
			}
		}
		for k, j := range lexCols {
			v, _ := strconv.Atoi(rec[j])
			total[y] += float64(v)
			hit := 0
			for _, c := range claudetteTags[header[j]] {
				if unfairCats[c] {
					hit = 1
				}
			}
			inCat[k][hit]++
			sum[k][hit] += float64(v)
		}
	}
	if n[1] != 1374 || n[0] != 16009 {
		t.Fatalf("labels: %v unfair=0/1, want 16009/1374", n)
	}
	for k, j := range lexCols {
		if len(claudetteTags[header[j]]) == 0 {
			t.Fatalf("%s targets no tag", header[j])
		}
		other, tagged := sum[k][0]/inCat[k][0], sum[k][1]/inCat[k][1]
		t.Logf("%-22s mean %.3f in %4.0f targeted sentences, %.3f in the others", header[j], tagged, inCat[k][1], other)
		if tagged < 5*other {
			t.Errorf("%s: mean %.3f among targeted sentences, %.3f among the others: expected at least 5×", header[j], tagged, other)
		}
	}
	fair, unfair := total[0]/n[0], total[1]/n[1]
	t.Logf("lexicon total: mean fair %.3f unfair %.3f", fair, unfair)
	if unfair < 3*fair {
		t.Errorf("lexicon total: mean %.3f among unfair sentences, %.3f among fair: expected at least 3×", unfair, fair)
	}
}

// TestClaudetteSplit splits the corpus as the legal-document flow does: fold 0 held out,
// labels mapped to ±1. Every row lands in exactly one part, each test_fold = 0 row in the
// test part (matched by document and line, which identify a sentence), and no other.
func TestClaudetteSplit(t *testing.T) {
	in, err := os.ReadFile(claudettePath(t))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(in)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for j, name := range recs[0] {
		col[name] = j
	}
	fold0 := map[[2]string]bool{}
	for _, r := range recs[1:] {
		if r[col["test_fold"]] == "0" {
			fold0[[2]string{r[col["document"]], r[col["line"]]}] = true
		}
	}
	labels, err := ParseLabelMap("0=-1,1=1")
	if err != nil {
		t.Fatal(err)
	}
	f := mustNew(t, DefaultConfig())
	opts := CSVOptions{Text: "text", Label: "unfair", LabelMap: labels, Keep: []string{"document", "line"}, SplitBy: "test_fold", Test: []string{"0"}}
	var train, test bytes.Buffer
	res, err := f.SplitCSV(context.Background(), &train, &test, bytes.NewReader(in), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("train %d rows, test %d rows", res.TrainRows, res.TestRows)
	if res.TrainRows+res.TestRows != 17383 || res.TestRows != len(fold0) {
		t.Fatalf("train %d + test %d rows, want 17383 with %d test rows", res.TrainRows, res.TestRows, len(fold0))
	}
	for _, part := range []struct {
		out  *bytes.Buffer
		test bool
	}{{&train, false}, {&test, true}} {
		rows, err := csv.NewReader(part.out).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows[1:] {
			if fold0[[2]string{r[0], r[1]}] != part.test {
				t.Fatalf("document %s line %s is in the wrong part (test %v)", r[0], r[1], part.test)
			}
			if y := r[len(r)-1]; y != "-1" && y != "1" {
				t.Fatalf("label %q", y)
			}
		}
	}
}
