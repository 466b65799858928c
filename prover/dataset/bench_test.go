package dataset

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// endless serves a header and then the same block of rows for ever, so a benchmark can
// read b.N rows without holding b.N rows in memory.
type endless struct {
	head, block string
	off         int
}

func (e *endless) Read(p []byte) (int, error) {
	if e.head != "" {
		n := copy(p, e.head)
		e.head = e.head[n:]
		return n, nil
	}
	n := copy(p, e.block[e.off:])
	e.off = (e.off + n) % len(e.block)
	return n, nil
}

func syntheticCSV(d, rows int) (head, block string) {
	rng := rand.New(rand.NewPCG(1, uint64(d)))
	var sb strings.Builder
	for j := range d {
		fmt.Fprintf(&sb, "x%d,", j)
	}
	sb.WriteString("y\n")
	head = sb.String()
	sb.Reset()
	for range rows {
		for j := range d + 1 {
			if j > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "%.6f", rng.NormFloat64()*1000)
		}
		sb.WriteByte('\n')
	}
	return head, sb.String()
}

func BenchmarkRead(b *testing.B) {
	for _, d := range []int{8, 64} {
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			head, block := syntheticCSV(d, 1000)
			r, err := NewReader(&endless{head: head, block: block}, Options{Label: "y", Format: q16})
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]int64, d+1)
			b.SetBytes(int64(len(block) / 1000))
			b.ReportAllocs()
			for b.Loop() {
				if err := r.Read(dst); err != nil {
					b.Fatal(err)
				}
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N)/sec, "rows/s")
			b.ReportMetric(float64(b.N*(d+1))/sec, "values/s")
		})
	}
}
