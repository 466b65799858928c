package anchoring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"

	f_log "github.com/transparency-dev/formats/log"

	"github.com/comet-attest/comet/attest/verify"
	"github.com/comet-attest/comet/chain/anchor"
)

// Checker reads anchored roots from one contract; it implements verify.AnchorChecker.
type Checker struct {
	c        *anchor.Client
	contract string
}

// CheckerConfig says where to read.
type CheckerConfig struct {
	RPCURL   string
	Contract string // the anchor contract, from the trust root
	ChainID  string // when set, the node must be on this chain
	Logger   *slog.Logger
}

// NewChecker connects to the node and checks that it hosts the contract. Its client is
// read-only: a verifier never holds an account.
func NewChecker(ctx context.Context, cfg CheckerConfig) (*Checker, error) {
	c, err := anchor.New(ctx, anchor.Config{
		RPCURL: cfg.RPCURL, ContractAddress: cfg.Contract, ChainID: cfg.ChainID, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("anchor checker: %w", err)
	}
	return &Checker{c: c, contract: cfg.Contract}, nil
}

// RPCCalls is the number of JSON-RPC calls made so far.
func (k *Checker) RPCCalls() uint64 { return k.c.RPCCalls() }

// CheckAnchor implements verify.AnchorChecker: the contract must hold anchored's root for
// anchored's origin at exactly anchored's size.
func (k *Checker) CheckAnchor(ctx context.Context, r *verify.AnchorReceipt, anchored *f_log.Checkpoint) error {
	onChain, err := k.c.RootAt(ctx, anchored.Origin, anchored.Size)
	if errors.Is(err, anchor.ErrNotFound) {
		return fmt.Errorf("contract %s holds no root for %s at size %d, although the receipt names tx %s: %w",
			k.contract, anchored.Origin, anchored.Size, r.TxHash, err)
	}
	if err != nil {
		return fmt.Errorf("read the anchor contract: %w", err)
	}
	if !bytes.Equal(onChain[:], anchored.Hash) {
		return &verify.AnchorMismatch{Size: anchored.Size, Presented: anchored.Hash, Anchored: onChain[:], Receipt: *r}
	}
	return nil
}
