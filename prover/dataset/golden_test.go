package dataset

import (
	"bytes"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/comet-attest/comet/prover/fixedpoint"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// goldenOptions gives the options for each fixture in testdata; every fixture needs one.
var goldenOptions = map[string]Options{
	// BOM, CRLF, padded and quoted names and cells, a blank line, a multi-line text cell,
	// an excluded identifier and an ignored text column.
	"messy.csv": {Label: "y", Exclude: []string{"nid", "note"}, Format: fixedpoint.Default},
	// Features in a non-header order, an ignored text column, and a tiny format where ties
	// round to even and 31.75 is the largest value.
	"order.csv": {Label: "label", Features: []string{"c", "a"}, Format: fixedpoint.Format{FractionBits: 2, ValueBits: 8}},
}

// canonicalCSV renders a table as the canonical CSV: features then label, each value the
// exact decimal of its fixed-point integer. Reading it back must give the same integers.
func canonicalCSV(t *testing.T, tab *Table) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(append(slices.Clone(tab.Features), tab.Label)); err != nil {
		t.Fatal(err)
	}
	rec := make([]string, tab.D+1)
	for i := range tab.N {
		for j, v := range tab.Row(i) {
			rec[j] = tab.Format.FormatValue(v)
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.csv"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, in := range inputs {
		name := filepath.Base(in)
		t.Run(name, func(t *testing.T) {
			opts, ok := goldenOptions[name]
			if !ok {
				t.Fatalf("no options for fixture %s", name)
			}
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			tab, err := ReadAll(t.Context(), bytes.NewReader(data), opts)
			if err != nil {
				t.Fatal(err)
			}
			got := canonicalCSV(t, tab)
			golden := strings.TrimSuffix(in, ".csv") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("canonical form of %s:\n%s\nwant (%s):\n%s", in, got, golden, want)
			}
			// The canonical form is a fixed point of canonicalization.
			again, err := ReadAll(t.Context(), bytes.NewReader(got), Options{Label: tab.Label, Features: tab.Features, Format: tab.Format})
			if err != nil {
				t.Fatal(err)
			}
			if again.N != tab.N || !slices.Equal(again.Values, tab.Values) {
				t.Errorf("reading the canonical form back gave %v, want %v", again.Values, tab.Values)
			}
		})
	}
}
