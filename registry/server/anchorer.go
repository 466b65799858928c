package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/comet-attest/comet/chain/anchor"
	"github.com/comet-attest/comet/internal/config"
	"github.com/comet-attest/comet/registry/jobs"
)

// newStarknetAnchorer builds the anchoring client from the anchor configuration; the private
// key is read from the file or environment variable it names, never from the file itself.
func newStarknetAnchorer(ctx context.Context, cfg config.Config, logger *slog.Logger) (jobs.Anchorer, error) {
	keyFile := ""
	if cfg.Anchor.KeyFile != "" {
		keyFile = cfg.Path(cfg.Anchor.KeyFile)
	}
	c, err := anchor.New(ctx, anchor.Config{
		RPCURL: cfg.Anchor.RPCURL, AccountAddress: cfg.Anchor.Account, ContractAddress: cfg.Anchor.Contract, ChainID: cfg.Anchor.ChainID,
		PrivateKeyFile: keyFile, PrivateKeyEnv: cfg.Anchor.KeyEnv, Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("anchoring: %w", err)
	}
	return c, nil
}

// anchorOptions are the anchoring job's options from the configuration.
func anchorOptions(cfg config.Config, a jobs.Anchorer, l jobs.Checkpointer, logger *slog.Logger) *jobs.AnchorOptions {
	return &jobs.AnchorOptions{Anchorer: a, Log: l, Origin: cfg.Log.Origin, Interval: cfg.Anchor.Interval,
		MaxEntries: cfg.Anchor.MaxEntries, Logger: logger}
}
