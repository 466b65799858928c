package proof

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/prover/train"
)

// wideCSV writes n rows of d features x_j ~ N(0, 4) and y = Σ_j x_j/(j+1) + noise.
func wideCSV(tb testing.TB, dir string, n, d int) string {
	tb.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), uint64(d)))
	var sb strings.Builder
	for j := range d {
		fmt.Fprintf(&sb, "x%d,", j)
	}
	sb.WriteString("y\n")
	for range n {
		y := rng.NormFloat64() * 0.5
		for j := range d {
			x := rng.NormFloat64() * 2
			y += x / float64(j+1)
			fmt.Fprintf(&sb, "%.5f,", x)
		}
		fmt.Fprintf(&sb, "%.5f\n", y)
	}
	path := filepath.Join(dir, fmt.Sprintf("wide-%d-%d.csv", n, d))
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkProve proves a whole synthetic dataset end to end (both reading passes, every chunk
// and the final proof) and verifies the bundle. Metrics: constraints per row-feature, seconds
// per chunk proof, row-features per second end to end, verify time per chunk proof and per
// bundle, bundle size, and the one-off setup time of the shape.
//
//	go test ./prover/proof -run '^$' -bench Prove -benchtime 1x -timeout 30m
func BenchmarkProve(b *testing.B) {
	for _, c := range []struct {
		n, d, rows int
		format     fixedpoint.Format
	}{
		{8192, 8, 1024, fixedpoint.Format{FractionBits: 16, ValueBits: 32}},
		{8192, 8, 1024, fixedpoint.Format{FractionBits: 8, ValueBits: 16}},
		{4096, 32, 256, fixedpoint.Format{FractionBits: 16, ValueBits: 32}},
	} {
		b.Run(fmt.Sprintf("n%d-d%d-b%d-r%d", c.n, c.d, c.format.ValueBits, c.rows), func(b *testing.B) {
			ctx := context.Background()
			p := commitAndTrain(b, wideCSV(b, b.TempDir(), c.n, c.d), dataSpec{label: "y", format: c.format, chunkRows: c.rows,
				train: train.Options{Kind: train.KindRidge, Lambda: 0.1, Intercept: true}, salt: 5})
			start := time.Now()
			keys, err := setup.Generate(ctx, p.shape(), nil)
			if err != nil {
				b.Fatal(err)
			}
			setupTime := time.Since(start)
			rf := float64(c.n * c.d)
			var bundle *Bundle
			b.ResetTimer()
			for range b.N {
				if bundle, err = Prove(ctx, keys, p.request(), Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			elapsed := b.Elapsed() / time.Duration(b.N)
			data, err := bundle.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			start = time.Now()
			if _, err := Verify(ctx, bundle, p.inputs(), keys); err != nil {
				b.Fatal(err)
			}
			verify := time.Since(start)
			k := float64(len(bundle.Chunks))
			b.ReportMetric(float64(keys.Chunk.Constraints)/float64(c.rows*c.d), "constraints/rf")
			b.ReportMetric(elapsed.Seconds()/(k+1), "s/proof")
			b.ReportMetric(rf/elapsed.Seconds(), "rf/s")
			b.ReportMetric(float64(verify.Milliseconds())/(k+1), "verify-ms/proof")
			b.ReportMetric(float64(verify.Milliseconds()), "verify-ms/bundle")
			b.ReportMetric(float64(len(data)), "bundle-bytes")
			b.ReportMetric(setupTime.Seconds(), "setup-s")
		})
	}
}

// BenchmarkProveWorkers proves BenchmarkProve's n8192-d8-b32 case with one chunk proof at a
// time (each on every core gnark is given) and with two at once, on one set of keys: whether
// proving chunks side by side, which also overlaps one chunk's witness solving with another's
// proving, beats gnark's own parallelism. Run it with GOMAXPROCS=1 too, for two single-threaded
// proofs against one.
//
//	go test ./prover/proof -run '^$' -bench ProveWorkers -benchtime 1x -timeout 30m
func BenchmarkProveWorkers(b *testing.B) {
	ctx := context.Background()
	const n, d = 8192, 8
	p := commitAndTrain(b, wideCSV(b, b.TempDir(), n, d), dataSpec{label: "y", format: fixedpoint.Format{FractionBits: 16, ValueBits: 32},
		chunkRows: 1024, train: train.Options{Kind: train.KindRidge, Lambda: 0.1, Intercept: true}, salt: 5})
	keys, err := setup.Generate(ctx, p.shape(), nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers%d", workers), func(b *testing.B) {
			for b.Loop() {
				if _, err := Prove(ctx, keys, p.request(), Options{Workers: workers}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*d)/(b.Elapsed().Seconds()/float64(b.N)), "rf/s")
		})
	}
}
