package anchoring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/comet-attest/comet/chain/anchor"
	"github.com/comet-attest/comet/registry/jobs"
)

// Chain anchors through one chain/anchor client; it implements jobs.Anchorer.
type Chain struct {
	c   *anchor.Client
	log *slog.Logger
}

// New connects to the node cfg names (see anchor.New).
func New(ctx context.Context, cfg anchor.Config) (*Chain, error) {
	c, err := anchor.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("anchoring: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Chain{c: c, log: log}, nil
}

// Client is the underlying client (for its RPC call count and reads).
func (ch *Chain) Client() *anchor.Client { return ch.c }

// prepared is a signed transaction waiting to be broadcast.
type prepared struct {
	c *anchor.Client
	p *anchor.Pending
}

func (p prepared) TxHash() string { return p.p.TxHash }

func (p prepared) Submit(ctx context.Context) error { return mapErr(p.c.Submit(ctx, p.p)) }

// Prepare implements jobs.Anchorer.
func (ch *Chain) Prepare(ctx context.Context, origin string, size uint64, root [32]byte) (jobs.PreparedAnchor, error) {
	p, err := ch.c.Prepare(ctx, origin, size, root)
	if err != nil {
		return nil, mapErr(err)
	}
	ch.log.InfoContext(ctx, "anchoring transaction prepared", slog.String("tx", p.TxHash), slog.Uint64("size", size),
		slog.Int("calldata_felts", p.CalldataFelts), slog.String("estimated_fee_fri", p.EstimatedFee.String()),
		slog.String("max_fee_fri", p.MaxFee.String()))
	return prepared{c: ch.c, p: p}, nil
}

// Lookup implements jobs.Anchorer.
func (ch *Chain) Lookup(ctx context.Context, txHash string) (jobs.AnchorReceipt, error) {
	return receipt(ch.c.LookupTx(ctx, txHash))
}

// Wait implements jobs.Anchorer.
func (ch *Chain) Wait(ctx context.Context, txHash string) (jobs.AnchorReceipt, error) {
	return receipt(ch.c.WaitReceipt(ctx, txHash))
}

// RootAt implements jobs.Anchorer.
func (ch *Chain) RootAt(ctx context.Context, origin string, size uint64) ([32]byte, error) {
	r, err := ch.c.RootAt(ctx, origin, size)
	return r, mapErr(err)
}

// receipt turns a chain receipt into the job's: a reverted transaction is a receipt, not an
// error, as it is final.
func receipt(r anchor.Receipt, err error) (jobs.AnchorReceipt, error) {
	out := jobs.AnchorReceipt{TxHash: r.TxHash, BlockNumber: r.BlockNumber, Finality: r.FinalityStatus}
	if errors.Is(err, anchor.ErrReverted) && r.ExecutionStatus == "REVERTED" {
		out.Reverted, out.Reason = true, r.RevertReason
		return out, nil
	}
	if err != nil {
		return jobs.AnchorReceipt{}, mapErr(err)
	}
	return out, nil
}

// mapErr adds the job's sentinel to an error of the client, keeping the chain's error too.
func mapErr(err error) error {
	var kind error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, anchor.ErrNotGrowing):
		kind = jobs.ErrAlreadyAnchored
	case errors.Is(err, anchor.ErrPending):
		kind = jobs.ErrTxPending
	case errors.Is(err, anchor.ErrNotFound), errors.Is(err, anchor.ErrDropped):
		kind = jobs.ErrTxUnknown
	case anchor.Retryable(err):
		return err
	case errors.Is(err, anchor.ErrRejected), errors.Is(err, anchor.ErrReverted), errors.Is(err, anchor.ErrConfig):
		kind = jobs.ErrRefused
	default:
		return err
	}
	return fmt.Errorf("%w: %w", kind, err)
}
