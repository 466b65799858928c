package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/tlog"
	"github.com/comet-attest/comet/registry/store"
	"github.com/riverqueue/river"
)

// scriptedChain stands in for Starknet behind the Anchorer interface (the chain package
// tests the real client against its loopback node); it records what was sent and can lose
// a transaction or fail to answer, as a node does.
type scriptedChain struct {
	sent       []uint64 // sizes, in order
	receipts   map[string]AnchorReceipt
	dropNext   bool
	receiptErr error
}

func (c *scriptedChain) Send(_ context.Context, _ string, size uint64, _ [32]byte) (string, error) {
	c.sent = append(c.sent, size)
	h := fmt.Sprintf("0x%x", len(c.sent))
	if c.dropNext {
		c.dropNext = false
		return h, nil
	}
	c.receipts[h] = AnchorReceipt{TxHash: h, BlockNumber: uint64(10 + len(c.sent)), Finality: "ACCEPTED_ON_L2"}
	return h, nil
}

func (c *scriptedChain) Receipt(_ context.Context, h string) (AnchorReceipt, bool, error) {
	if c.receiptErr != nil {
		return AnchorReceipt{}, false, c.receiptErr
	}
	r, ok := c.receipts[h]
	return r, ok, nil
}

func TestAnchorWorker(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(ctx, store.Options{SQLitePath: filepath.Join(dir, "c.db"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k, _ := keys.Generate("comet.test/log")
	l, shutdown, err := tlog.Open(ctx, filepath.Join(dir, "log"), k, k.Verifier(), tlog.Options{CheckpointInterval: 100 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(ctx)
	chain := &scriptedChain{receipts: map[string]AnchorReceipt{}}
	w := &anchorWorker{st: st, o: AnchorOptions{Anchorer: chain, Log: l, Origin: "comet.test/log", Interval: time.Minute}}
	grow := func(n int) uint64 {
		t.Helper()
		var last uint64
		for i := range n {
			idx, err := l.Append(ctx, fmt.Appendf(nil, "entry %d %d", time.Now().UnixNano(), i))
			if err != nil {
				t.Fatal(err)
			}
			last = idx
		}
		if _, _, err := l.AwaitCheckpoint(ctx, last); err != nil {
			t.Fatal(err)
		}
		return last + 1
	}
	work := func() error { return w.Work(ctx, &river.Job[AnchorArgs]{}) }
	latest := func() store.Anchor {
		t.Helper()
		as, err := st.Anchors(ctx, 1)
		if err != nil || len(as) != 1 {
			t.Fatalf("anchors %+v %v", as, err)
		}
		return as[0]
	}

	size := grow(3)
	if err := work(); err != nil {
		t.Fatal(err)
	}
	if a := latest(); a.Status != store.AnchorAccepted || uint64(a.TreeSize) != size || a.TxHash != "0x1" || a.BlockNumber == nil {
		t.Fatalf("first anchor %+v", a)
	}
	// Nothing new: nothing sent.
	if err := work(); err != nil || len(chain.sent) != 1 {
		t.Fatalf("idle run sent %v (%v)", chain.sent, err)
	}
	// The worker dies after sending, before the receipt: the next run looks the
	// transaction up and does not send it again.
	size = grow(2)
	chain.receiptErr = errors.New("node timeout")
	if err := work(); err == nil {
		t.Fatal("no error with the receipt unavailable")
	}
	if a := latest(); a.Status != store.AnchorSubmitted || a.TxHash != "0x2" {
		t.Fatalf("after the interrupted run %+v", a)
	}
	chain.receiptErr = nil
	if err := work(); err != nil {
		t.Fatal(err)
	}
	if a := latest(); a.Status != store.AnchorAccepted || uint64(a.TreeSize) != size || len(chain.sent) != 2 {
		t.Fatalf("resumed anchor %+v, sent %v", a, chain.sent)
	}
	// A dropped transaction is sent again, for the same size.
	size = grow(1)
	chain.dropNext = true
	if err := work(); err == nil {
		t.Fatal("no error for a transaction the chain lost")
	}
	if err := work(); err != nil {
		t.Fatal(err)
	}
	if a := latest(); a.Status != store.AnchorAccepted || uint64(a.TreeSize) != size || len(chain.sent) != 4 || chain.sent[2] != size || chain.sent[3] != size {
		t.Fatalf("after a dropped transaction %+v, sent %v", a, chain.sent)
	}
	all, _ := st.Anchors(ctx, 0)
	if len(all) != 3 {
		t.Errorf("%d anchors for three sizes", len(all))
	}
}
