package anchor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/comet-attest/comet/chain/anchor"
	"github.com/comet-attest/comet/chain/starknettest"
)

// Each fault the node can inject, against the real client: the error the
// caller sees, whether it is retryable, and that a retry then anchors.
func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		inject func(*starknettest.Node)
		// run anchors once under the fault and returns the error seen
		run     func(t *testing.T, c *anchor.Client) error
		want    error
		retries bool // a plain retry of Anchor succeeds afterwards
	}{
		{
			name:   "rpc error on nonce",
			inject: func(n *starknettest.Node) { n.FailNext("starknet_getNonce", 1) },
			want:   anchor.ErrUnavailable, retries: true,
		},
		{
			name:   "http 503 on estimate",
			inject: func(n *starknettest.Node) { n.UnavailableNext("starknet_estimateFee", 1) },
			want:   anchor.ErrUnavailable, retries: true,
		},
		{
			name:   "timeout on tip block",
			inject: func(n *starknettest.Node) { n.SlowNext("starknet_getBlockWithTxs", 1, 2*time.Second) },
			want:   anchor.ErrUnavailable, retries: true,
		},
		{
			name:   "receipt polls fail then succeed",
			inject: func(n *starknettest.Node) { n.FailNext("starknet_getTransactionReceipt", 2) },
			want:   nil,
		},
		{
			name:   "reverted on inclusion",
			inject: func(n *starknettest.Node) { n.RevertNext() },
			run: func(t *testing.T, c *anchor.Client) error {
				r, err := c.Anchor(context.Background(), origin, 10, root("a"))
				if r.ExecutionStatus != "REVERTED" || r.RevertReason == "" || !r.Accepted() || errors.Is(err, anchor.ErrNotGrowing) {
					t.Errorf("reverted receipt %+v, err %v", r, err)
				}
				return err
			},
			want: anchor.ErrReverted, retries: true,
		},
		{
			name:   "stays pending",
			inject: func(n *starknettest.Node) { n.StallNext() },
			run: func(t *testing.T, c *anchor.Client) error {
				ctx := context.Background()
				p, err := c.Send(ctx, origin, 10, root("a"))
				if err != nil {
					t.Fatal(err)
				}
				wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
				if _, err := c.WaitReceipt(wctx, p.TxHash); !errors.Is(err, anchor.ErrPending) {
					t.Errorf("wait: %v, want ErrPending", err)
				}
				if _, err := c.LookupTx(ctx, p.TxHash); !errors.Is(err, anchor.ErrPending) {
					t.Errorf("lookup: %v, want ErrPending", err)
				}
				// The stuck transaction holds the nonce: another one is refused.
				_, err = c.Anchor(ctx, origin, 10, root("b"))
				return err
			},
			want: anchor.ErrNonce,
		},
		{
			name:   "dropped",
			inject: func(n *starknettest.Node) { n.DropNext() },
			run: func(t *testing.T, c *anchor.Client) error {
				ctx := context.Background()
				p, err := c.Send(ctx, origin, 10, root("a"))
				if err != nil {
					t.Fatal(err)
				}
				_, err = c.WaitReceipt(ctx, p.TxHash)
				if _, lerr := c.LookupTx(ctx, p.TxHash); !errors.Is(lerr, anchor.ErrNotFound) {
					t.Errorf("lookup after drop: %v, want ErrNotFound", lerr)
				}
				return err
			},
			want: anchor.ErrDropped, retries: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := setup(t, starknettest.Config{})
			e.cfg.CallTimeout = 200 * time.Millisecond
			c := e.client(t)
			tc.inject(e.node)
			run := tc.run
			if run == nil {
				run = func(t *testing.T, c *anchor.Client) error {
					_, err := c.Anchor(ctx, origin, 10, root("a"))
					return err
				}
			}
			err := run(t, c)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("err = %v", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("err = %v, want %v", err, tc.want)
			case tc.want != nil && anchor.Retryable(err) != anchor.Retryable(tc.want):
				t.Errorf("Retryable(%v) = %v", err, anchor.Retryable(err))
			}
			if tc.retries {
				if r, err := c.Anchor(ctx, origin, 10, root("a")); err != nil || r.Size != 10 {
					t.Fatalf("retry: %+v, %v", r, err)
				}
			}
			if v := e.node.Violations(); len(v) != 0 {
				t.Errorf("spec violations: %v", v)
			}
		})
	}
}

// A registry that crashes after sending finds its transaction again by hash
// and never sends a second one.
func TestRestartMidTransaction(t *testing.T) {
	ctx := context.Background()
	e := setup(t, starknettest.Config{BlockTime: 30 * time.Millisecond})

	before := e.client(t)
	p, err := before.Send(ctx, origin, 10, root("a"))
	if err != nil {
		t.Fatal(err)
	}
	recorded := p.TxHash // what the registry writes down before waiting
	// crash: the first client is gone; a new process starts from the record.

	after := e.client(t)
	if _, err := after.LookupTx(ctx, recorded); !errors.Is(err, anchor.ErrPending) {
		t.Fatalf("lookup right after restart: %v, want ErrPending", err)
	}
	r, err := after.WaitReceipt(ctx, recorded)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size != 10 || r.Root != root("a") || !r.Accepted() {
		t.Errorf("receipt %+v", r)
	}
	if n := e.node.Calls("starknet_addInvokeTransaction"); n != 1 {
		t.Errorf("%d transactions sent, want 1", n)
	}
}

// A crash between Prepare (hash recorded) and Submit: the node does not know
// the hash, the contract has nothing at that size, so sending is safe.
func TestRestartBeforeSubmit(t *testing.T) {
	ctx := context.Background()
	e := setup(t, starknettest.Config{})
	c := e.client(t)
	p, err := c.Prepare(ctx, origin, 10, root("a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.LookupTx(ctx, p.TxHash); !errors.Is(err, anchor.ErrNotFound) {
		t.Fatalf("lookup of unsent: %v", err)
	}
	if _, err := c.RootAt(ctx, origin, 10); !errors.Is(err, anchor.ErrNotFound) {
		t.Fatalf("root of unsent: %v", err)
	}
	if err := c.Submit(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitReceipt(ctx, p.TxHash); err != nil {
		t.Fatal(err)
	}
	if err := c.Submit(ctx, p); !errors.Is(err, anchor.ErrRejected) {
		t.Errorf("second submit of the same transaction: %v, want ErrRejected", err)
	}
}
