package jobs

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/comet-attest/comet/chain/anchor"
)

// Only a transaction the chain turned down for good is recorded as failed; a size already
// anchored, a transaction to wait for or to send anew, and transient errors are not.
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{fmt.Errorf("estimate: %w", anchor.ErrRejected), true},
		{anchor.ErrReverted, true},
		{anchor.ErrNotOwner, true},
		{anchor.ErrConfig, true},
		{anchor.ErrNotGrowing, false},
		{anchor.ErrNotFound, false},
		{anchor.ErrDropped, false},
		{anchor.ErrPending, false},
		{anchor.ErrUnavailable, false},
		{anchor.ErrNonce, false},
		{fmt.Errorf("%w: %w", anchor.ErrUnavailable, anchor.ErrConfig), false},
		{anchor.ErrInvalidResponse, false},
		{context.Canceled, false},
	} {
		if got := refused(tc.err); got != tc.want {
			t.Errorf("refused(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// A transaction that reverted in a block is a final result; any other error stays one.
func TestReceipt(t *testing.T) {
	reverted := anchor.Receipt{TxHash: "0x1", ExecutionStatus: executionReverted, RevertReason: "size not growing"}
	for _, tc := range []struct {
		name    string
		r       anchor.Receipt
		err     error
		wantErr bool
	}{
		{"accepted", anchor.Receipt{TxHash: "0x1", ExecutionStatus: "SUCCEEDED"}, nil, false},
		{"reverted in a block", reverted, fmt.Errorf("%w: 0x1", anchor.ErrReverted), false},
		{"not growing in a block", reverted, fmt.Errorf("%w: 0x1", anchor.ErrNotGrowing), false},
		{"reverted without a receipt", anchor.Receipt{}, anchor.ErrReverted, true},
		{"pending", anchor.Receipt{TxHash: "0x1"}, anchor.ErrPending, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := receipt(tc.r, tc.err)
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, tc.err)) || r != tc.r {
				t.Errorf("receipt: %+v, %v", r, err)
			}
		})
	}
}
