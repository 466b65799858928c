package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
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

// BenchmarkDatasetCommit measures `comet dataset commit` end to end (CSV parsing, fixed
// point, SHA-256, Poseidon2 chunks, manifest) on synthetic data. Run with -benchtime=1x; the
// peak RSS metric is the whole process's, so compare it across n to see that it stays flat.
func BenchmarkDatasetCommit(b *testing.B) {
	for _, tc := range []struct{ n, d int }{{100_000, 8}, {1_000_000, 8}, {100_000, 64}, {1_000_000, 64}} {
		b.Run(fmt.Sprintf("n=%d/d=%d", tc.n, tc.d), func(b *testing.B) {
			dir := b.TempDir()
			data := filepath.Join(dir, "data.csv")
			writeSyntheticCSV(b, data, tc.n, tc.d)
			args := []string{"dataset", "commit", data, "--label", "y", "--salt-file", filepath.Join(dir, "s.salt"), "--out", filepath.Join(dir, "m.json")}
			b.ResetTimer()
			for b.Loop() {
				cmd := newRootCmd()
				cmd.SetArgs(args)
				cmd.SetOut(io.Discard)
				if err := cmd.Execute(); err != nil {
					b.Fatal(err)
				}
			}
			secs := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(tc.n)/secs, "rows/s")
			b.ReportMetric(float64(tc.n*(tc.d+1))/secs, "values/s")
			b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
		})
	}
}

// BenchmarkTrain measures `comet train` end to end (CSV, SHA-256 check, exact XᵀX, QR with
// refinement, fixed-point weight search, model file) on n × 8 synthetic rows. -benchtime=1x.
func BenchmarkTrain(b *testing.B) {
	const n, d = 1_000_000, 8
	dir := b.TempDir()
	data := filepath.Join(dir, "data.csv")
	manifest := filepath.Join(dir, "m.json")
	writeSyntheticCSV(b, data, n, d)
	commit := newRootCmd()
	commit.SetArgs([]string{"dataset", "commit", data, "--label", "y", "--salt-file", filepath.Join(dir, "s.salt"), "--out", manifest})
	commit.SetOut(io.Discard)
	if err := commit.Execute(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		cmd := newRootCmd()
		cmd.SetArgs([]string{"train", data, "--manifest", manifest, "--lambda", "1", "--out", filepath.Join(dir, "model.json")})
		cmd.SetOut(io.Discard)
		if err := cmd.Execute(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}
