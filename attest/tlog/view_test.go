package tlog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/comet-attest/comet/attest/attesttest"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/tlog"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// A view of a directory that another Log appends to reads what the appender published,
// with the same proofs, and refuses to append.
func TestViewReadsWhatTheAppenderPublished(t *testing.T) {
	ctx := context.Background()
	k, err := keys.Generate(origin)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	v := tlog.OpenView(ctx, dir, k.Verifier(), quiet())
	if _, _, err := v.Checkpoint(ctx); err == nil {
		t.Fatal("a view of an empty directory has a checkpoint")
	}
	l, closeLog := attesttest.Log(t, dir, k, tlog.Options{})
	defer closeLog()
	const n = 300 // more than one entry bundle
	// leaves[i] is the leaf at index i.
	leaves := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			leaf := fmt.Sprintf("leaf-%04d", i)
			idx, err := l.Append(ctx, []byte(leaf))
			if err != nil || idx >= n {
				t.Errorf("append %s: index %d, %v", leaf, idx, err)
				return
			}
			leaves[idx] = leaf
		})
	}
	wg.Wait()
	if _, _, err := l.AwaitCheckpoint(ctx, n-1); err != nil {
		t.Fatal(err)
	}
	raw, cp, err := v.AwaitCheckpoint(ctx, n-1)
	if err != nil {
		t.Fatal(err)
	}
	if own, _, _ := l.Checkpoint(ctx); !bytes.Equal(raw, own) {
		t.Fatalf("view's checkpoint\n%s\nappender's\n%s", raw, own)
	}
	st, err := v.Status(ctx)
	if err != nil || st.Integrated != cp.Size || st.Published != cp.Size {
		t.Fatalf("view status %+v, %v; checkpoint size %d", st, err, cp.Size)
	}
	for _, tc := range []struct{ index, size uint64 }{{0, n}, {257, n}, {n - 1, n}, {3, 100}} {
		t.Run(fmt.Sprintf("inclusion %d in %d", tc.index, tc.size), func(t *testing.T) {
			p, err := v.InclusionProof(ctx, tc.index, tc.size)
			if err != nil {
				t.Fatal(err)
			}
			want, err := l.InclusionProof(ctx, tc.index, tc.size)
			if err != nil || fmt.Sprint(p) != fmt.Sprint(want) {
				t.Fatalf("view's proof differs from the appender's (%v)", err)
			}
			leaf, err := v.Entry(ctx, tc.index, tc.size)
			if err != nil || string(leaf) != leaves[tc.index] {
				t.Fatalf("entry %d: %q, %v", tc.index, leaf, err)
			}
			if tc.size == cp.Size {
				if err := proof.VerifyInclusion(rfc6962.DefaultHasher, tc.index, tc.size, tlog.LeafHash(leaf), p, cp.Hash); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	c, err := v.ConsistencyProof(ctx, 10, n)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := l.ConsistencyProof(ctx, 10, n); fmt.Sprint(c) != fmt.Sprint(want) {
		t.Fatal("view's consistency proof differs from the appender's")
	}
	if _, err := v.Append(ctx, []byte("new")); !errors.Is(err, tlog.ErrReadOnly) {
		t.Fatalf("append to a view: %v, want ErrReadOnly", err)
	}
}
