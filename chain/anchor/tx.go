package anchor

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/NethermindEth/juno/core/felt"
	"github.com/NethermindEth/starknet.go/rpc"
	"github.com/NethermindEth/starknet.go/utils"

	"github.com/comet-attest/comet/chain/contract"
)

// Pending is a signed anchor transaction. Its TxHash is final before it is
// broadcast, so a caller can record it first and, after a crash, ask
// LookupTx instead of sending again.
type Pending struct {
	TxHash string
	Origin string
	Size   uint64
	Root   [32]byte
	Nonce  uint64
	// CalldataFelts is the length of the account's __execute__ calldata.
	CalldataFelts int
	// EstimatedFee is the node's fee estimate in fri; MaxFee is what the
	// resource bounds allow (the estimate times FeeMultiplier, squared as
	// both amount and price are scaled).
	EstimatedFee *big.Int
	MaxFee       *big.Int

	tx *rpc.BroadcastInvokeTxnV3
}

// Receipt is what became of an anchor transaction.
type Receipt struct {
	TxHash          string
	BlockNumber     uint64
	BlockHash       string // empty while PRE_CONFIRMED
	FinalityStatus  string // PRE_CONFIRMED, ACCEPTED_ON_L2 or ACCEPTED_ON_L1
	ExecutionStatus string // SUCCEEDED or REVERTED
	RevertReason    string
	Fee             *big.Int // actual fee, in FeeUnit
	FeeUnit         string
	CalldataFelts   int
	// LogID, Size and Root are what the transaction anchored, decoded from
	// its calldata as the node returns it.
	LogID string
	Size  uint64
	Root  [32]byte
}

// Accepted reports whether the transaction is in an accepted block.
func (r Receipt) Accepted() bool {
	return r.FinalityStatus == string(rpc.TxnFinalityStatusAcceptedOnL2) ||
		r.FinalityStatus == string(rpc.TxnFinalityStatusAcceptedOnL1)
}

func zeroBounds() *rpc.ResourceBoundsMapping {
	z := rpc.ResourceBounds{MaxAmount: "0x0", MaxPricePerUnit: "0x0"}
	return &rpc.ResourceBoundsMapping{L1Gas: z, L1DataGas: z, L2Gas: z}
}

// Prepare builds the INVOKE v3 transaction anchoring root at size for the
// log origin: it takes the account's nonce, estimates tip and fee, and signs
// (as account.BuildAndSendInvokeTxn does, without sending). Nothing is
// broadcast.
func (c *Client) Prepare(ctx context.Context, origin string, size uint64, root [32]byte) (*Pending, error) {
	if c.acct == nil {
		return nil, fmt.Errorf("%w: a read-only client (no account configured) cannot anchor", ErrConfig)
	}
	args, err := c.codec.AnchorCalldata(contract.Anchored{LogID: contract.LogID(origin), Size: size, Root: root})
	if err != nil {
		return nil, err
	}
	calldata, err := c.acct.FmtCalldata([]rpc.FunctionCall{{
		ContractAddress: c.anchor, EntryPointSelector: c.codec.Selector(contract.FnAnchor), Calldata: args,
	}})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	nonce, err := do(ctx, c, "get nonce", c.acct.Nonce)
	if err != nil {
		return nil, err
	}
	tip, err := do(ctx, c, "estimate tip", func(ctx context.Context) (rpc.U64, error) {
		return rpc.EstimateTip(ctx, c.provider, 1.0)
	})
	if err != nil {
		return nil, err
	}
	tx := utils.BuildInvokeTxn(c.address, nonce, calldata, zeroBounds(), &utils.TxnOptions{Tip: tip})
	// The estimate needs a signed transaction; the bounds enter the hash, so
	// it is signed again once they are known.
	if err := c.acct.SignInvokeTransaction(ctx, tx); err != nil {
		return nil, fmt.Errorf("%w: sign: %w", ErrConfig, err)
	}
	est, err := do(ctx, c, "estimate fee", func(ctx context.Context) ([]rpc.FeeEstimation, error) {
		return c.provider.EstimateFee(ctx, []rpc.BroadcastTxn{tx}, []rpc.SimulationFlag{}, rpc.WithBlockTag(rpc.BlockTagPreConfirmed))
	})
	if err != nil {
		return nil, err
	}
	if len(est) != 1 || est[0].OverallFee == nil {
		return nil, fmt.Errorf("%w: %d fee estimates for one transaction", ErrInvalidResponse, len(est))
	}
	tx.ResourceBounds = utils.FeeEstToResBoundsMap(est[0], c.cfg.FeeMultiplier)
	tx.Version = rpc.TransactionV3
	if err := c.acct.SignInvokeTransaction(ctx, tx); err != nil {
		return nil, fmt.Errorf("%w: sign: %w", ErrConfig, err)
	}
	hash, err := c.acct.TransactionHashInvoke(tx)
	if err != nil {
		return nil, fmt.Errorf("%w: hash: %w", ErrConfig, err)
	}
	maxFee, err := utils.ResBoundsMapToOverallFee(tx.ResourceBounds, 1, tx.Tip)
	if err != nil {
		return nil, fmt.Errorf("%w: resource bounds: %w", ErrInvalidResponse, err)
	}
	return &Pending{
		TxHash: hexHash(hash), Origin: origin, Size: size, Root: root, Nonce: nonce.Uint64(),
		CalldataFelts: len(calldata), EstimatedFee: est[0].OverallFee.BigInt(new(big.Int)),
		MaxFee: maxFee.BigInt(new(big.Int)), tx: tx,
	}, nil
}

// Submit broadcasts a prepared transaction. A node that already holds it
// answers ErrRejected (duplicate): ask LookupTx.
func (c *Client) Submit(ctx context.Context, p *Pending) error {
	resp, err := do(ctx, c, "add invoke transaction", func(ctx context.Context) (rpc.AddInvokeTransactionResponse, error) {
		return c.provider.AddInvokeTransaction(ctx, p.tx)
	})
	if err != nil {
		return err
	}
	if resp.Hash == nil || hexHash(resp.Hash) != p.TxHash {
		return fmt.Errorf("%w: node says it received %v, the signed transaction is %s", ErrInvalidResponse, resp.Hash, p.TxHash)
	}
	c.log.DebugContext(ctx, "anchor transaction sent", "tx", p.TxHash, "origin", p.Origin, "size", p.Size, "nonce", p.Nonce)
	return nil
}

// Send prepares and submits; the Pending it returns carries the hash to
// record before waiting.
func (c *Client) Send(ctx context.Context, origin string, size uint64, root [32]byte) (*Pending, error) {
	p, err := c.Prepare(ctx, origin, size, root)
	if err != nil {
		return nil, err
	}
	if err := c.Submit(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// Anchor anchors root at size for the log origin in one transaction and
// waits until a block accepts it. A reverted transaction returns its receipt
// with an error wrapping ErrReverted.
func (c *Client) Anchor(ctx context.Context, origin string, size uint64, root [32]byte) (Receipt, error) {
	p, err := c.Send(ctx, origin, size, root)
	if err != nil {
		return Receipt{}, err
	}
	return c.WaitReceipt(ctx, p.TxHash)
}

// LookupTx tells what became of a transaction: a Receipt once it is in a
// block (with an error wrapping ErrReverted if it reverted), ErrPending while
// the node holds it unexecuted, ErrNotFound when the node does not know it
// (never arrived, or dropped: safe to send a new one).
func (c *Client) LookupTx(ctx context.Context, txHash string) (Receipt, error) {
	h, err := new(felt.Felt).SetString(txHash)
	if err != nil {
		return Receipt{}, fmt.Errorf("%w: transaction hash %q", ErrConfig, txHash)
	}
	rc, err := do(ctx, c, "get receipt", func(ctx context.Context) (*rpc.TransactionReceiptWithBlockInfo, error) {
		return c.provider.TransactionReceipt(ctx, h)
	})
	if errors.Is(err, ErrNotFound) {
		// No receipt: received but not executed, or unknown.
		st, serr := do(ctx, c, "get status", func(ctx context.Context) (*rpc.TxnStatusResult, error) {
			return c.provider.TransactionStatus(ctx, h)
		})
		if serr != nil {
			return Receipt{}, serr
		}
		return Receipt{TxHash: txHash, FinalityStatus: string(st.FinalityStatus)},
			fmt.Errorf("%w: %s is %s", ErrPending, txHash, st.FinalityStatus)
	}
	if err != nil {
		return Receipt{}, err
	}
	r := Receipt{
		TxHash: txHash, BlockNumber: uint64(rc.BlockNumber),
		FinalityStatus: string(rc.FinalityStatus), ExecutionStatus: string(rc.ExecutionStatus),
		RevertReason: rc.RevertReason, FeeUnit: string(rc.ActualFee.Unit),
	}
	if rc.BlockHash != nil {
		r.BlockHash = hexHash(rc.BlockHash)
	}
	if rc.ActualFee.Amount != nil {
		r.Fee = rc.ActualFee.Amount.BigInt(new(big.Int))
	}
	if err := c.fillCall(ctx, h, &r); err != nil {
		return r, err
	}
	if rc.ExecutionStatus == rpc.TxnExecutionStatusREVERTED {
		return r, fmt.Errorf("%w: %s: %s", revertKind(rc.RevertReason), txHash, rc.RevertReason)
	}
	return r, nil
}

// fillCall reads the transaction back and checks that it is this account's
// anchor call on this contract, so a recorded hash cannot be mistaken for
// another transaction's.
func (c *Client) fillCall(ctx context.Context, h *felt.Felt, r *Receipt) error {
	bt, err := do(ctx, c, "get transaction", func(ctx context.Context) (*rpc.BlockTransaction, error) {
		return c.provider.TransactionByHash(ctx, h)
	})
	if err != nil {
		return err
	}
	inv, ok := bt.Transaction.(rpc.InvokeTxnV3)
	if !ok || !inv.SenderAddress.Equal(c.address) {
		return fmt.Errorf("%w: %s is not an INVOKE v3 transaction of account %s", ErrInvalidResponse, r.TxHash, c.address)
	}
	cd := inv.Calldata
	// Cairo 2 multicall with one call: [1, to, selector, len, args...].
	if len(cd) < 4 || !cd[0].Equal(new(felt.Felt).SetUint64(1)) || !cd[1].Equal(c.anchor) ||
		!cd[2].Equal(c.codec.Selector(contract.FnAnchor)) || cd[3].Uint64() != uint64(len(cd)-4) {
		return fmt.Errorf("%w: %s is not a single anchor() call on %s", ErrInvalidResponse, r.TxHash, c.anchor)
	}
	a, err := c.codec.DecodeAnchorCalldata(cd[4:])
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidResponse, r.TxHash, err)
	}
	r.CalldataFelts, r.LogID, r.Size, r.Root = len(cd), hexHash(a.LogID), a.Size, a.Root
	return nil
}

// WaitReceipt polls until the transaction is in an accepted block. It
// returns ErrPending (wrapping the context's error) if ctx ends first,
// ErrDropped if the node stops knowing the transaction, and the receipt with
// an error wrapping ErrReverted if it reverted. Transient node errors are
// logged and polled through.
func (c *Client) WaitReceipt(ctx context.Context, txHash string) (Receipt, error) {
	start := time.Now()
	t := time.NewTicker(c.cfg.PollInterval)
	defer t.Stop()
	unknown := 0
	var last error
	for {
		r, err := c.LookupTx(ctx, txHash)
		switch {
		case ctx.Err() != nil:
			return Receipt{TxHash: txHash}, fmt.Errorf("%w: %s after %s: %w", ErrPending, txHash, time.Since(start).Round(time.Millisecond), errors.Join(ctx.Err(), last))
		case err == nil && r.Accepted():
			c.log.DebugContext(ctx, "anchor transaction accepted", "tx", txHash, "block", r.BlockNumber, "wait", time.Since(start))
			return r, nil
		case errors.Is(err, ErrReverted):
			return r, err
		case errors.Is(err, ErrNotFound):
			if unknown++; unknown >= c.cfg.DroppedAfter {
				return Receipt{TxHash: txHash}, fmt.Errorf("%w: %s unknown to the node after %d polls", ErrDropped, txHash, unknown)
			}
		case err == nil, errors.Is(err, ErrPending):
			unknown = 0
		case Retryable(err):
			c.log.DebugContext(ctx, "anchor receipt poll failed", "tx", txHash, "err", err)
		default:
			return r, err
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return Receipt{TxHash: txHash}, fmt.Errorf("%w: %s after %s: %w", ErrPending, txHash, time.Since(start).Round(time.Millisecond), errors.Join(ctx.Err(), last))
		case <-t.C:
		}
	}
}
