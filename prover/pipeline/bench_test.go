package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/train"
)

// writeSyntheticCSV writes n rows of d features and a label y = Σ x_j + noise, values with
// four decimals, streaming so that the generator's memory is flat too.
func writeSyntheticCSV(tb testing.TB, path string, n, d int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for j := range d {
		fmt.Fprintf(w, "x%d,", j)
	}
	w.WriteString("y\n")
	rng := rand.New(rand.NewPCG(uint64(n), uint64(d)))
	buf := make([]byte, 0, 32)
	for range n {
		sum := 0.0
		for range d {
			x := rng.NormFloat64() * 100
			sum += x
			w.Write(strconv.AppendFloat(buf[:0], x, 'f', 4, 64))
			w.WriteByte(',')
		}
		w.Write(strconv.AppendFloat(buf[:0], sum+rng.NormFloat64(), 'f', 4, 64))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // kilobytes on Linux
}

// commitSynthetic commits data as `comet dataset commit` does, manifest file included.
func commitSynthetic(tb testing.TB, data, dir string) (*commitment.Manifest, commitment.Salt) {
	tb.Helper()
	salt, err := commitment.NewSalt()
	if err == nil {
		err = commitment.WriteSalt(filepath.Join(dir, "s.salt"), salt)
	}
	if err != nil {
		tb.Fatal(err)
	}
	m, err := Commit(context.Background(), data, CommitOptions{Label: "y", Format: fixedpoint.Default, Salt: salt})
	if err != nil {
		tb.Fatal(err)
	}
	b, err := m.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "m.json"), b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return m, salt
}

// BenchmarkDatasetCommit measures what `comet dataset commit` does end to end (CSV parsing,
// fixed point, keyed file digest, Poseidon2 chunks, manifest) on synthetic data. It moved
// here from cmd/comet with its name and metrics. Run with -benchtime=1x; the peak RSS metric
// is the whole process's, so compare it across n to see that it stays flat.
func BenchmarkDatasetCommit(b *testing.B) {
	for _, tc := range []struct{ n, d int }{{100_000, 8}, {1_000_000, 8}, {100_000, 64}, {1_000_000, 64}} {
		b.Run(fmt.Sprintf("n=%d/d=%d", tc.n, tc.d), func(b *testing.B) {
			dir := b.TempDir()
			data := filepath.Join(dir, "data.csv")
			writeSyntheticCSV(b, data, tc.n, tc.d)
			b.ResetTimer()
			for b.Loop() {
				commitSynthetic(b, data, dir)
			}
			secs := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(tc.n)/secs, "rows/s")
			b.ReportMetric(float64(tc.n*(tc.d+1))/secs, "values/s")
			b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
		})
	}
}

// BenchmarkTrain measures what `comet train` does end to end (CSV, keyed file digest checked,
// exact XᵀX, QR with refinement, fixed-point weight search, model file)
// on n × 8 synthetic rows. -benchtime=1x.
func BenchmarkTrain(b *testing.B) {
	const n, d = 1_000_000, 8
	ctx := context.Background()
	dir := b.TempDir()
	data := filepath.Join(dir, "data.csv")
	writeSyntheticCSV(b, data, n, d)
	m, salt := commitSynthetic(b, data, dir)
	b.ResetTimer()
	for b.Loop() {
		table, err := ReadCommitted(ctx, data, m, &salt)
		if err != nil {
			b.Fatal(err)
		}
		mod, _, err := Train(ctx, table, m, train.Options{Kind: train.KindRidge, Lambda: 1, Intercept: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := model.Save(ctx, filepath.Join(dir, "model.json"), mod); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}
