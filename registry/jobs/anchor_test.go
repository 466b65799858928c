package jobs_test

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
	"github.com/comet-attest/comet/chain/anchor"
	"github.com/comet-attest/comet/chain/starknettest"
	"github.com/comet-attest/comet/registry/jobs"
	"github.com/comet-attest/comet/registry/store"
)

const origin = "comet.test/log"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// chainEnv is the real anchoring client against the loopback Starknet node, with a store
// and a log of its own.
type chainEnv struct {
	node *starknettest.Node
	cfg  anchor.Config
	st   *store.Store
	log  *tlog.Log
	opts jobs.AnchorOptions
}

func newChainEnv(t *testing.T, nc starknettest.Config) *chainEnv {
	t.Helper()
	ctx := context.Background()
	ch := starknettest.NewAnchored(t, nc)
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Options{SQLitePath: filepath.Join(dir, "c.db"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	k, _ := keys.Generate(origin)
	logCtx, cancel := context.WithCancel(ctx)
	l, shutdown, err := tlog.Open(logCtx, filepath.Join(dir, "log"), k, k.Verifier(), tlog.Options{CheckpointInterval: 100 * time.Millisecond, Logger: quiet})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		shutdown(context.Background())
		cancel()
	})
	e := &chainEnv{node: ch.Node, st: st, log: l, cfg: anchor.Config{
		RPCURL: ch.Node.URL(), AccountAddress: ch.Account, PrivateKeyFile: ch.KeyFile, ContractAddress: ch.Contract,
		ChainID: ch.Node.ChainID(), PollInterval: 2 * time.Millisecond, CallTimeout: 300 * time.Millisecond, DroppedAfter: 3, Logger: quiet,
	}}
	e.opts = jobs.AnchorOptions{Anchorer: e.chain(t), Log: l, Origin: origin, Interval: time.Hour, MaxEntries: 5, Logger: quiet}
	return e
}

// chain connects a new client, as a restarted registry does.
func (e *chainEnv) chain(t *testing.T) *anchor.Client {
	t.Helper()
	c, err := anchor.New(context.Background(), e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *chainEnv) grow(t *testing.T, n int) uint64 {
	t.Helper()
	ctx := context.Background()
	var last uint64
	for i := range n {
		idx, err := e.log.Append(ctx, fmt.Appendf(nil, "entry %d %d", time.Now().UnixNano(), i))
		if err != nil {
			t.Fatal(err)
		}
		last = idx
	}
	if _, _, err := e.log.AwaitCheckpoint(ctx, last); err != nil {
		t.Fatal(err)
	}
	return last + 1
}

func (e *chainEnv) run(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return jobs.RunAnchor(ctx, e.st, e.opts)
}

func (e *chainEnv) latest(t *testing.T) store.Anchor {
	t.Helper()
	as, err := e.st.Anchors(context.Background(), 1)
	if err != nil || len(as) != 1 {
		t.Fatalf("anchors %+v %v", as, err)
	}
	return as[0]
}

// sent is how many transactions the node accepted into its mempool or blocks so far.
func (e *chainEnv) sent() int { return e.node.Calls("starknet_addInvokeTransaction") }

// checkChain compares the contract's Anchored events with the accepted anchors in the store:
// one event per accepted size, in growing order, with the stored root and transaction.
func (e *chainEnv) checkChain(t *testing.T, c *anchor.Client) {
	t.Helper()
	ctx := context.Background()
	evs, err := c.Events(ctx, origin, 0)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := e.st.Anchors(ctx, 0)
	accepted := map[uint64]store.Anchor{}
	for _, a := range all {
		if a.Status == store.AnchorAccepted {
			accepted[uint64(a.TreeSize)] = a
		}
	}
	var prev uint64
	for _, ev := range evs {
		a, ok := accepted[ev.Size]
		if ev.Size <= prev || !ok || fmt.Sprintf("%x", ev.Root) != a.Root || ev.TxHash != a.TxHash || ev.BlockNumber != uint64(*a.BlockNumber) {
			t.Errorf("event %+v, stored %+v", ev, a)
		}
		prev = ev.Size
	}
	if len(evs) != len(accepted) {
		t.Errorf("%d Anchored events, %d accepted anchors", len(evs), len(accepted))
	}
}

// The anchoring job through the real client against the loopback node: anchors when due
// (max_entries here), records hash, block and finality, never sends twice for a size, and
// comes through each fault the node can inject.
func TestAnchorJobOnNode(t *testing.T) {
	e := newChainEnv(t, starknettest.Config{})
	c := e.opts.Anchorer.(*anchor.Client)

	size := e.grow(t, 3)
	calls, start := c.RPCCalls(), time.Now()
	if err := e.run(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	a := e.latest(t)
	if a.Status != store.AnchorAccepted || uint64(a.TreeSize) != size || a.TxHash == "" || a.BlockNumber == nil || a.Finality != "ACCEPTED_ON_L2" {
		t.Fatalf("first anchor %+v", a)
	}
	t.Logf("first anchor: %s, %d RPC calls (prepare, submit, receipt)", time.Since(start), c.RPCCalls()-calls)
	if got := c.RPCCalls() - calls; got != 6 {
		t.Errorf("%d RPC calls for one anchor, want 6: nonce, tip, estimate, add, receipt, transaction", got)
	}
	// The fee estimate path, without broadcasting.
	p, err := c.Prepare(context.Background(), origin, size+1, [32]byte{1})
	if err != nil || p.CalldataFelts != 8 || p.EstimatedFee.Sign() <= 0 {
		t.Fatalf("prepare %+v %v", p, err)
	}
	t.Logf("calldata %d felts, estimated fee %s fri, max fee %s fri", p.CalldataFelts, p.EstimatedFee, p.MaxFee)
	if err := e.run(time.Second); err != nil || e.sent() != 1 {
		t.Fatalf("idle run: sent %d, %v", e.sent(), err)
	}

	t.Run("not due before max_entries", func(t *testing.T) {
		e.grow(t, 4)
		if err := e.run(time.Second); err != nil || e.sent() != 1 || uint64(e.latest(t).TreeSize) != size {
			t.Fatalf("4 new entries with max_entries 5: sent %d, %v", e.sent(), err)
		}
		size = e.grow(t, 1)
		if err := e.run(5 * time.Second); err != nil || uint64(e.latest(t).TreeSize) != size || e.latest(t).Status != store.AnchorAccepted {
			t.Fatalf("5 new entries: %+v, %v", e.latest(t), err)
		}
	})
	t.Run("rpc error", func(t *testing.T) {
		size = e.grow(t, 5)
		e.node.FailNext("starknet_estimateFee", 1)
		if err := e.run(5 * time.Second); err == nil {
			t.Fatal("no error with the fee estimate failing")
		}
		if a := e.latest(t); a.Status != store.AnchorPending || a.TxHash != "" || a.Error == "" {
			t.Fatalf("after an RPC error %+v", a)
		}
		if err := e.run(5 * time.Second); err != nil || e.latest(t).Status != store.AnchorAccepted {
			t.Fatalf("retry: %+v %v", e.latest(t), err)
		}
	})
	t.Run("timeout on send", func(t *testing.T) {
		// The transaction's hash is recorded, the broadcast times out (the node never
		// processes it): the next run looks the hash up, finds nothing, sends anew.
		size = e.grow(t, 5)
		before := e.sent()
		e.node.SlowNext("starknet_addInvokeTransaction", 1, 2*time.Second)
		if err := e.run(5 * time.Second); !errors.Is(err, anchor.ErrUnavailable) {
			t.Fatalf("timeout: %v", err)
		}
		a := e.latest(t)
		if a.Status != store.AnchorPending || a.TxHash == "" {
			t.Fatalf("after a timed out send %+v", a)
		}
		if err := e.run(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		if b := e.latest(t); b.Status != store.AnchorAccepted || uint64(b.TreeSize) != size || e.sent() != before+2 {
			t.Fatalf("after the resend %+v, %d sends", b, e.sent()-before)
		}
	})
	t.Run("reverted", func(t *testing.T) {
		size = e.grow(t, 5)
		e.node.RevertNext()
		if err := e.run(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		a := e.latest(t)
		if a.Status != store.AnchorFailed || a.BlockNumber == nil || a.Error == "" {
			t.Fatalf("reverted anchor %+v", a)
		}
		before := e.sent()
		if err := e.run(time.Second); err != nil || e.sent() != before {
			t.Fatalf("a reverted size was sent again (%v)", err)
		}
		size = e.grow(t, 5)
		if err := e.run(5 * time.Second); err != nil || e.latest(t).Status != store.AnchorAccepted || uint64(e.latest(t).TreeSize) != size {
			t.Fatalf("after a revert %+v %v", e.latest(t), err)
		}
	})
	t.Run("dropped", func(t *testing.T) {
		size = e.grow(t, 5)
		before := e.sent()
		e.node.DropNext()
		if err := e.run(5 * time.Second); !errors.Is(err, anchor.ErrDropped) {
			t.Fatalf("dropped: %v", err)
		}
		if a := e.latest(t); a.Status != store.AnchorSubmitted {
			t.Fatalf("after a drop %+v", a)
		}
		if err := e.run(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		if a := e.latest(t); a.Status != store.AnchorAccepted || uint64(a.TreeSize) != size || e.sent() != before+2 {
			t.Fatalf("after the resend %+v, %d sends", a, e.sent()-before)
		}
	})
	t.Run("pending", func(t *testing.T) {
		// A transaction the node holds but never includes is waited for, never resent.
		e.grow(t, 5)
		before := e.sent()
		e.node.StallNext()
		for range 2 {
			if err := e.run(100 * time.Millisecond); !errors.Is(err, anchor.ErrPending) {
				t.Fatalf("pending: %v", err)
			}
		}
		if a := e.latest(t); a.Status != store.AnchorSubmitted || e.sent() != before+1 {
			t.Fatalf("while pending %+v, %d sends", a, e.sent()-before)
		}
	})
	e.checkChain(t, c)
	if v := e.node.Violations(); len(v) > 0 {
		t.Errorf("spec violations: %v", v)
	}
}

// A registry that stops while its transaction waits for a block, or between recording the
// hash and broadcasting it, finishes after a restart (a new client) without anchoring twice.
func TestAnchorJobRestart(t *testing.T) {
	e := newChainEnv(t, starknettest.Config{BlockTime: 300 * time.Millisecond})
	size := e.grow(t, 2)
	if err := e.run(100 * time.Millisecond); !errors.Is(err, anchor.ErrPending) {
		t.Fatalf("interrupted run: %v", err)
	}
	a := e.latest(t)
	if a.Status != store.AnchorSubmitted || a.TxHash == "" {
		t.Fatalf("after the interrupted run %+v", a)
	}
	e.opts.Anchorer = e.chain(t) // restart
	if err := e.run(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if b := e.latest(t); b.Status != store.AnchorAccepted || b.TxHash != a.TxHash || uint64(b.TreeSize) != size || e.sent() != 1 {
		t.Fatalf("after the restart %+v, %d sends", b, e.sent())
	}

	// Stopped after recording, before the broadcast got through.
	size = e.grow(t, 5)
	e.node.UnavailableNext("starknet_addInvokeTransaction", 1)
	if err := e.run(5 * time.Second); !errors.Is(err, anchor.ErrUnavailable) {
		t.Fatalf("failed broadcast: %v", err)
	}
	recorded := e.latest(t)
	if recorded.Status != store.AnchorPending || recorded.TxHash == "" {
		t.Fatalf("recorded %+v", recorded)
	}
	e.opts.Anchorer = e.chain(t)
	if err := e.run(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if b := e.latest(t); b.Status != store.AnchorAccepted || uint64(b.TreeSize) != size {
		t.Fatalf("after the restart %+v", b)
	}
	e.checkChain(t, e.opts.Anchorer.(*anchor.Client))
}

// Anchoring is due every interval even when fewer than max_entries entries were added.
func TestAnchorJobInterval(t *testing.T) {
	e := newChainEnv(t, starknettest.Config{})
	now := time.Now()
	e.opts.Now = func() time.Time { return now }
	e.opts.MaxEntries = 0
	e.grow(t, 1)
	if err := e.run(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	size := e.grow(t, 1)
	if err := e.run(time.Second); err != nil || e.sent() != 1 {
		t.Fatalf("before the interval: %d sends, %v", e.sent(), err)
	}
	now = now.Add(time.Hour + time.Minute)
	if err := e.run(5 * time.Second); err != nil || uint64(e.latest(t).TreeSize) != size || e.sent() != 2 {
		t.Fatalf("after the interval: %+v, %d sends, %v", e.latest(t), e.sent(), err)
	}
}
