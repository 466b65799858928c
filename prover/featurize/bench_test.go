package featurize

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"os"
	"testing"
)

func claudetteTexts(b *testing.B) []string {
	in, err := os.ReadFile(claudettePath(b))
	if err != nil {
		b.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(in)).ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	texts := make([]string, 0, len(recs)-1)
	for _, r := range recs[1:] {
		texts = append(texts, r[2])
	}
	return texts
}

// BenchmarkAppend featurizes CLAUDETTE sentences one at a time and reports sentences/s.
func BenchmarkAppend(b *testing.B) {
	texts := claudetteTexts(b)
	for _, name := range []string{"default", "binary-1to3-4096"} {
		cfg := DefaultConfig()
		if name != "default" {
			cfg.Weighting, cfg.NGramMax, cfg.Buckets = Binary, 3, 4096
		}
		f := mustNew(b, cfg)
		b.Run(name, func(b *testing.B) {
			dst := make([]int64, 0, f.D())
			i := 0
			for b.Loop() {
				dst = f.Append(dst[:0], texts[i%len(texts)])
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sentences/s")
		})
	}
}

// BenchmarkTransformCSV runs the whole CSV path on the CLAUDETTE file.
func BenchmarkTransformCSV(b *testing.B) {
	in, err := os.ReadFile(claudettePath(b))
	if err != nil {
		b.Fatal(err)
	}
	f := mustNew(b, DefaultConfig())
	opts := CSVOptions{Text: "text", Label: "unfair", Keep: []string{"document", "line"}}
	b.SetBytes(int64(len(in)))
	var rows int
	for b.Loop() {
		res, err := f.TransformCSV(context.Background(), io.Discard, bytes.NewReader(in), opts)
		if err != nil {
			b.Fatal(err)
		}
		rows += res.Rows
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "sentences/s")
}
