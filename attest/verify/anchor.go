package verify

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/comet-attest/comet/attest/bundle"
	f_log "github.com/transparency-dev/formats/log"
)

// ErrAnchorMismatch is wrapped by *AnchorMismatch: the chain holds another root at the
// anchored size.
var ErrAnchorMismatch = errors.New("anchored root differs from the log's checkpoint")

// AnchorMismatch is evidence that the log signed a checkpoint whose root differs from the
// one anchored on chain at the same size.
type AnchorMismatch struct {
	Checkpoint []byte // the log-signed checkpoint
	Size       uint64
	Presented  []byte // the checkpoint's root
	Anchored   []byte // the contract's root at Size
	Receipt    bundle.AnchorReceipt
}

func (e *AnchorMismatch) Error() string {
	return fmt.Sprintf("%v: at size %d the contract %s holds %x, the log's checkpoint says %x", ErrAnchorMismatch, e.Size, e.Receipt.Contract, e.Anchored, e.Presented)
}
func (e *AnchorMismatch) Unwrap() error { return ErrAnchorMismatch }

// checkAnchor ties the receipt to a checkpoint the log signed (the bundle's, or the
// consistency checkpoint proven to be its prefix) and reads from the chain whether the
// contract holds that root at that size. It never passes without the chain.
func (v *Verifier) checkAnchor(ctx context.Context, x *run, b *bundle.Bundle, p Policy, cp *f_log.Checkpoint) {
	missing := func(detail string) {
		if p.requireAnchor {
			x.fail(CheckAnchor, errors.New(detail))
		} else {
			x.skip(CheckAnchor, detail)
		}
	}
	if b.Anchor == nil {
		if sn := v.root.Starknet; sn == nil || sn.Contract == "" {
			missing("no anchoring: the trust root names no anchor contract, so this registry does not anchor its log")
		} else {
			missing(fmt.Sprintf("not yet anchored: the bundle carries no anchor receipt (entry %d is newer than the last anchor)", b.Index))
		}
		return
	}
	r, err := bundle.ParseAnchorReceipt(b.Anchor)
	if err != nil {
		x.fail(CheckAnchor, err)
		return
	}
	if cp == nil {
		missing("needs a verified checkpoint")
		return
	}
	raw, anchored, err := v.anchoredCheckpoint(b, r, cp)
	if err != nil {
		x.fail(CheckAnchor, err)
		return
	}
	if sn := v.root.Starknet; sn != nil && sn.Contract != "" && !sameFelt(sn.Contract, r.Contract) {
		x.fail(CheckAnchor, fmt.Errorf("%w: receipt names contract %s, the trust root pins %s", bundle.ErrAnchorReceipt, r.Contract, sn.Contract))
		return
	}
	where := fmt.Sprintf("size %d in tx %s", r.TreeSize, r.TxHash)
	if v.anchor == nil {
		missing("offline: no chain access to read the contract; receipt for " + where + " not checked")
		return
	}
	onChain, err := v.anchor.RootAt(ctx, anchored.Origin, anchored.Size)
	if err != nil {
		x.fail(CheckAnchor, fmt.Errorf("read contract %s for the root of %s at size %d, which the receipt says tx %s anchored: %w",
			r.Contract, anchored.Origin, anchored.Size, r.TxHash, err))
		return
	}
	if !bytes.Equal(onChain[:], anchored.Hash) {
		m := &AnchorMismatch{Checkpoint: raw, Size: anchored.Size, Presented: anchored.Hash, Anchored: onChain[:], Receipt: *r}
		x.r.AnchorEvidence = append(x.r.AnchorEvidence, m)
		x.fail(CheckAnchor, m)
		return
	}
	detail := "contract holds the root at " + where
	if r.BlockNumber != nil {
		detail += fmt.Sprintf(", block %d", *r.BlockNumber)
	}
	if r.Finality != "" {
		detail += ", " + r.Finality
	}
	if anchored.Size != cp.Size {
		detail += fmt.Sprintf("; checkpoint of size %d is consistent with it", cp.Size)
	}
	x.pass(CheckAnchor, detail)
}

// anchoredCheckpoint returns the log-signed checkpoint the receipt anchors, after checking
// that it is the bundle's own or consistent with it.
func (v *Verifier) anchoredCheckpoint(b *bundle.Bundle, r *bundle.AnchorReceipt, cp *f_log.Checkpoint) ([]byte, *f_log.Checkpoint, error) {
	raw, anchored := b.Checkpoint, cp
	switch {
	case r.TreeSize <= b.Index:
		return nil, nil, fmt.Errorf("%w: anchor at size %d does not cover entry %d", bundle.ErrAnchorReceipt, r.TreeSize, b.Index)
	case r.TreeSize > cp.Size:
		return nil, nil, fmt.Errorf("%w: anchor at size %d is beyond the bundle's checkpoint of size %d", bundle.ErrAnchorReceipt, r.TreeSize, cp.Size)
	case r.TreeSize < cp.Size:
		if b.Consistency == nil {
			return nil, nil, fmt.Errorf("%w: no consistency proof from the anchored checkpoint of size %d to the bundle's of size %d", bundle.ErrAnchorReceipt, r.TreeSize, cp.Size)
		}
		cc, err := v.VerifyCheckpoint(b.Consistency.Checkpoint)
		if err != nil {
			return nil, nil, fmt.Errorf("anchored checkpoint: %w", err)
		}
		if cc.Checkpoint.Size != r.TreeSize {
			return nil, nil, fmt.Errorf("%w: anchor at size %d, the bundled anchored checkpoint has size %d", bundle.ErrAnchorReceipt, r.TreeSize, cc.Checkpoint.Size)
		}
		if err := v.VerifyConsistency(b.Consistency.Checkpoint, b.Checkpoint, b.Consistency.Hashes); err != nil {
			return nil, nil, fmt.Errorf("the bundle's checkpoint of size %d is not consistent with the anchored checkpoint of size %d: %w", cp.Size, r.TreeSize, err)
		}
		raw, anchored = b.Consistency.Checkpoint, &cc.Checkpoint
	}
	if got := hex.EncodeToString(anchored.Hash); got != r.Root {
		return nil, nil, fmt.Errorf("%w: receipt root %s, the log's checkpoint of size %d has %s", bundle.ErrAnchorReceipt, r.Root, r.TreeSize, got)
	}
	return raw, anchored, nil
}

// sameFelt compares two hex felts ignoring case and leading zeros.
func sameFelt(a, b string) bool {
	norm := func(s string) string {
		s = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "0x")
		return strings.TrimLeft(s, "0")
	}
	return norm(a) == norm(b)
}
