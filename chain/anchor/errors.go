package anchor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/NethermindEth/starknet.go/client/rpcerr"

	"github.com/comet-attest/comet/chain/contract"
)

// Sentinel errors. Every error the client returns wraps exactly one of them
// (ErrNotGrowing and ErrNotOwner also wrap ErrReverted), except that the
// caller's own context errors are passed through as they are.
var (
	// ErrConfig: the configuration or the deployment is wrong (bad key, wrong
	// chain, contract not deployed, node speaks another spec version).
	ErrConfig = errors.New("anchor: configuration")
	// ErrUnavailable: the node could not be reached or answered with an
	// internal error or too slowly. Retryable.
	ErrUnavailable = errors.New("anchor: node unavailable")
	// ErrNonce: the node refused the transaction's nonce, usually because
	// another transaction of the account is in flight. Retryable.
	ErrNonce = errors.New("anchor: nonce refused")
	// ErrRejected: the node refused the transaction (signature, resources,
	// version). Retrying the same transaction will not help.
	ErrRejected = errors.New("anchor: transaction rejected")
	// ErrReverted: the transaction was executed (or simulated) and reverted.
	ErrReverted = errors.New("anchor: transaction reverted")
	// ErrNotGrowing: the contract already holds this or a larger size for the
	// log. Check RootAt before anything else.
	ErrNotGrowing = fmt.Errorf("%w: %s", ErrReverted, contract.RevertNotGrowing)
	// ErrNotOwner: the account is not the contract's owner.
	ErrNotOwner = fmt.Errorf("%w: %s", ErrReverted, contract.RevertNotOwner)
	// ErrPending: the transaction is known but not yet in a block. Retryable
	// (wait again; do not resend).
	ErrPending = errors.New("anchor: transaction pending")
	// ErrDropped: a sent transaction is no longer known to the node. Retryable
	// (build and send a new one).
	ErrDropped = errors.New("anchor: transaction dropped")
	// ErrNotFound: no such transaction, or nothing anchored at that size.
	ErrNotFound = errors.New("anchor: not found")
	// ErrMismatch: the root anchored at a size differs from the one a
	// checkpoint presents: the log showed a history other than the anchored one.
	ErrMismatch = errors.New("anchor: root differs from the anchored root")
	// ErrInvalidResponse: the node answered with data that does not fit the
	// contract's ABI or the transaction asked about.
	ErrInvalidResponse = errors.New("anchor: invalid response")
)

// Retryable reports whether the operation that returned err may succeed if
// tried again later.
func Retryable(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNonce) ||
		errors.Is(err, ErrPending) || errors.Is(err, ErrDropped)
}

// classify wraps an error from starknet.go with the sentinel it stands for.
// parent is the caller's context: a deadline of the client's own per-call
// timeout is ErrUnavailable, the caller's own cancellation is passed through.
func classify(parent context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if parent.Err() != nil {
		return fmt.Errorf("anchor: %s: %w", op, errors.Join(parent.Err(), err))
	}
	var re *rpcerr.RPCError
	if !errors.As(err, &re) {
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
	}
	var kind error
	switch re.Code {
	case 20: // contract not found: a wrong address in the configuration
		kind = ErrConfig
	case 24, 29: // block or transaction not found
		kind = ErrNotFound
	case 40, 41: // contract error in a call, execution error in an estimate
		kind = revertKind(re.Error())
		if strings.Contains(re.Error(), "validation failed") {
			kind = ErrRejected // __validate__ (signature) failed in the estimate
		}
	case 52:
		kind = ErrNonce
	case 53, 54, 55, 56, 58, 59, 61, 64, 65:
		kind = ErrRejected
	default: // JSON-RPC internal errors, transport failures, unexpected codes
		kind = ErrUnavailable
	}
	return fmt.Errorf("%w: %s: %w", kind, op, err)
}

// revertKind names the contract assert a revert reason reports, if any.
func revertKind(reason string) error {
	switch {
	case strings.Contains(reason, contract.RevertNotGrowing):
		return ErrNotGrowing
	case strings.Contains(reason, contract.RevertNotOwner):
		return ErrNotOwner
	}
	return ErrReverted
}
