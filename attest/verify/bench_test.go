package verify_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/attesttest"
	"github.com/comet-attest/comet/attest/verify"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkVerifyBundle is the full offline verification of one bundle:
// envelope signature, statement, key validity, leaf, checkpoint with three
// witness cosignatures, and inclusion. It reports process CPU time per
// verification, which includes the idle log's background goroutines.
func BenchmarkVerifyBundle(b *testing.B) {
	ctx := context.Background()
	d := attesttest.New(b, attesttest.Options{Witnesses: 3})
	for i := range 20 { // a few entries so the proof has a path
		subj, tr := attesttest.Sample(i)
		_, lb, err := d.Sign(ctx, subj, tr)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.Log.Append(ctx, lb); err != nil {
			b.Fatal(err)
		}
	}
	subj, tr := attesttest.Sample(99)
	bd, err := d.Attest(ctx, subj, tr)
	if err != nil {
		b.Fatal(err)
	}
	v, err := verify.NewVerifier(d.Root)
	if err != nil {
		b.Fatal(err)
	}
	p := mustPolicy(b, verify.WithModelSHA256(subj.SHA256), verify.WithProvider(tr.Provider))
	if r, err := v.Verify(ctx, bd, p); err != nil {
		b.Fatalf("%v\n%s", err, r)
	}
	c0 := cpuTime(b)
	for b.Loop() {
		if _, err := v.Verify(ctx, bd, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime(b)-c0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkInclusion verifies inclusion proofs at log sizes up to 10
// million. The proof hashes are random and the root is computed from them,
// which costs exactly what a real proof at that size and index costs.
func BenchmarkInclusion(b *testing.B) {
	for _, size := range []uint64{1 << 10, 1 << 20, 10_000_000} {
		for _, index := range []uint64{0, size / 2, size - 1} {
			b.Run(fmt.Sprintf("size=%d/index=%d", size, index), func(b *testing.B) {
				nodes, err := proof.Inclusion(index, size)
				if err != nil {
					b.Fatal(err)
				}
				// Random node hashes, folded where the tree is not perfect
				// the way a log server folds real ones.
				ids := make([][]byte, len(nodes.IDs))
				for i := range ids {
					ids[i] = make([]byte, 32)
					_, _ = rand.Read(ids[i])
				}
				hashes, err := nodes.Rehash(ids, rfc6962.DefaultHasher.HashChildren)
				if err != nil {
					b.Fatal(err)
				}
				leafHash := rfc6962.DefaultHasher.HashLeaf([]byte("leaf"))
				root, err := proof.RootFromInclusionProof(rfc6962.DefaultHasher, index, size, leafHash, hashes)
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, leafHash, hashes, root); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(hashes)), "hashes")
			})
		}
	}
}
