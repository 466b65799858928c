package tlog_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"

	"github.com/comet-attest/comet/attest/attesttest"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/tlog"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

const origin = "comet.test/log"

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestAppendDedupeProofs(t *testing.T) {
	ctx := context.Background()
	k, err := keys.Generate(origin)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	l, closeLog := attesttest.Log(t, dir, k, tlog.Options{})

	const n = 300 // more than one entry bundle (256)
	leaves := make([][]byte, n)
	idx := make([]uint64, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		leaves[i] = fmt.Appendf(nil, "leaf-%04d", i)
		wg.Go(func() {
			var err error
			if idx[i], err = l.Append(ctx, leaves[i]); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for i := range n {
		if seen[idx[i]] || idx[i] >= n {
			t.Fatalf("index %d reused or out of range", idx[i])
		}
		seen[idx[i]] = true
	}

	// Concurrent duplicates while the original is in flight, and after.
	var dups [8]uint64
	for j := range dups {
		wg.Go(func() { dups[j], _ = l.Append(ctx, []byte("dup")) })
	}
	wg.Wait()
	again, err := l.Append(ctx, []byte("dup"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dups {
		if d != again {
			t.Fatalf("duplicate got indices %v and %d", dups, again)
		}
	}
	if i, err := l.Append(ctx, leaves[17]); err != nil || i != idx[17] {
		t.Fatalf("re-append: %d, %v; want %d", i, err, idx[17])
	}

	raw, cp, err := l.AwaitCheckpoint(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != n+1 || !bytes.HasPrefix(raw, []byte(origin+"\n")) {
		t.Fatalf("checkpoint size %d, want %d:\n%s", cp.Size, n+1, raw)
	}
	for _, i := range []int{0, 17, 255, 256, 299} {
		e, err := l.Entry(ctx, idx[i], cp.Size)
		if err != nil || !bytes.Equal(e, leaves[i]) {
			t.Fatalf("entry %d: %q, %v", idx[i], e, err)
		}
		p, err := l.InclusionProof(ctx, idx[i], cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, idx[i], cp.Size, tlog.LeafHash(leaves[i]), p, cp.Hash); err != nil {
			t.Fatalf("inclusion of %d: %v", idx[i], err)
		}
	}
	closeLog()

	// After a restart the same leaf still gets its index, and the tree
	// grows consistently.
	l, closeLog = attesttest.Log(t, dir, k, tlog.Options{})
	defer closeLog()
	if i, err := l.Append(ctx, leaves[256]); err != nil || i != idx[256] {
		t.Fatalf("re-append after restart: %d, %v; want %d", i, err, idx[256])
	}
	i, err := l.Append(ctx, []byte("new"))
	if err != nil || i != n+1 {
		t.Fatalf("new append: %d, %v; want %d", i, err, n+1)
	}
	_, cp2, err := l.AwaitCheckpoint(ctx, i)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := l.ConsistencyProof(ctx, cp.Size, cp2.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, cp.Size, cp2.Size, cons, cp.Hash, cp2.Hash); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, make([]byte, 1<<16)); err == nil {
		t.Error("64 KiB entry accepted")
	}
	if _, err := l.InclusionProof(ctx, cp2.Size, cp2.Size); err == nil {
		t.Error("proof for an index beyond the tree")
	}
}

func TestOpenRejectsMismatchedKeys(t *testing.T) {
	a, _ := keys.Generate(origin)
	b, _ := keys.Generate(origin)
	_, _, err := tlog.Open(context.Background(), t.TempDir(), a, b.Verifier(), tlog.Options{})
	if err == nil {
		t.Fatal("Open accepted a verifier that is not the signer's")
	}
	_, _, err = tlog.Open(context.Background(), t.TempDir(), a, a.Verifier(), tlog.Options{WitnessQuorum: 1})
	if err == nil {
		t.Fatal("Open accepted a quorum larger than the witness list")
	}
}
