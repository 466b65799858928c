package anchoring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/NethermindEth/juno/core/felt"
	"github.com/NethermindEth/starknet.go/curve"
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

// NewChecker connects to the node and checks that it hosts the contract.
//
// chain/anchor builds every client around an account; a Checker only calls views, so it
// gives the client a throwaway key (in a temporary file, removed at once) for an account
// that never signs anything.
func NewChecker(ctx context.Context, cfg CheckerConfig) (*Checker, error) {
	priv, _, _, err := curve.GetRandomKeys()
	if err != nil {
		return nil, fmt.Errorf("anchor checker: %w", err)
	}
	f, err := os.CreateTemp("", "comet-anchor-reader-*.key")
	if err != nil {
		return nil, fmt.Errorf("anchor checker: %w", err)
	}
	defer os.Remove(f.Name())
	_, werr := f.WriteString(new(felt.Felt).SetBigInt(priv).String())
	if err := errors.Join(werr, f.Close()); err != nil {
		return nil, fmt.Errorf("anchor checker: %w", err)
	}
	c, err := anchor.New(ctx, anchor.Config{
		RPCURL: cfg.RPCURL, ContractAddress: cfg.Contract, ChainID: cfg.ChainID,
		AccountAddress: "0x1", PrivateKeyFile: f.Name(), Logger: cfg.Logger,
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
