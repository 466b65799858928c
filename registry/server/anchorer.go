package server

import (
	"context"
	"errors"
	"log/slog"

	"github.com/comet-attest/comet/chain/anchor"
	"github.com/comet-attest/comet/internal/config"
	"github.com/comet-attest/comet/registry/jobs"
)

// starknetAnchorer adapts chain/anchor's client to the job's Anchorer.
type starknetAnchorer struct{ c *anchor.Client }

func newStarknetAnchorer(ctx context.Context, cfg config.Config, logger *slog.Logger) (*starknetAnchorer, error) {
	c, err := anchor.New(ctx, anchor.Config{
		RPCURL: cfg.Anchor.RPCURL, AccountAddress: cfg.Anchor.Account, ContractAddress: cfg.Anchor.Contract, ChainID: cfg.Anchor.ChainID,
		PrivateKeyFile: cfg.Path(cfg.Anchor.KeyFile), PrivateKeyEnv: cfg.Anchor.KeyEnv, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	return &starknetAnchorer{c: c}, nil
}

func (a *starknetAnchorer) Send(ctx context.Context, origin string, size uint64, root [32]byte) (string, error) {
	p, err := a.c.Send(ctx, origin, size, root)
	if err != nil {
		return "", err
	}
	return p.TxHash, nil
}

func (a *starknetAnchorer) Receipt(ctx context.Context, txHash string) (jobs.AnchorReceipt, bool, error) {
	r, err := a.c.WaitReceipt(ctx, txHash)
	out := jobs.AnchorReceipt{TxHash: txHash, BlockNumber: r.BlockNumber, Finality: r.FinalityStatus}
	switch {
	case errors.Is(err, anchor.ErrDropped), errors.Is(err, anchor.ErrNotFound):
		return out, false, nil
	case errors.Is(err, anchor.ErrReverted):
		out.Reverted, out.Reason = true, r.RevertReason
		return out, true, nil
	case err != nil:
		return out, false, err
	}
	return out, true, nil
}
