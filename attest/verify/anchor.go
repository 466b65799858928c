package verify

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/comet-attest/comet/attest/bundle"
	f_log "github.com/transparency-dev/formats/log"
)

// AnchorChain is the only chain an AnchorReceipt may name.
const AnchorChain = "starknet"

// maxReceipt bounds an anchor receipt; real ones are a few hundred bytes.
const maxReceipt = 4 << 10

var (
	// ErrAnchorReceipt reports a receipt that cannot be parsed or that does not describe
	// the bundle's anchored checkpoint.
	ErrAnchorReceipt = errors.New("bad anchor receipt")
	// ErrAnchorMismatch is what an AnchorChecker wraps when the chain holds another root
	// at the anchored size; *AnchorMismatch is the evidence.
	ErrAnchorMismatch = errors.New("anchored root differs from the log's checkpoint")
)

var (
	hexFeltRE = regexp.MustCompile(`^0x[0-9a-f]{1,64}$`)
	hex64RE   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// AnchorReceipt is the bundle's anchor object (bundle.Bundle.Anchor): where and in which
// transaction the checkpoint of TreeSize with Root was anchored.
type AnchorReceipt struct {
	Chain       string  `json:"chain"`             // AnchorChain
	Network     string  `json:"network,omitempty"` // chain id, e.g. SN_SEPOLIA
	Contract    string  `json:"contract"`          // anchor contract address, hex felt
	TxHash      string  `json:"tx_hash"`           // hex felt
	BlockNumber *uint64 `json:"block_number,omitempty"`
	TreeSize    uint64  `json:"tree_size"`
	Root        string  `json:"root"` // 64 lower-case hex characters
	Finality    string  `json:"finality,omitempty"`
}

// ParseAnchorReceipt decodes and checks the shape of an anchor receipt.
func ParseAnchorReceipt(raw json.RawMessage) (*AnchorReceipt, error) {
	if len(raw) > maxReceipt {
		return nil, fmt.Errorf("%w: %d bytes is over the %d byte limit", ErrAnchorReceipt, len(raw), maxReceipt)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var r AnchorReceipt
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAnchorReceipt, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrAnchorReceipt)
	}
	switch {
	case r.Chain != AnchorChain:
		return nil, fmt.Errorf("%w: chain %q, want %q", ErrAnchorReceipt, r.Chain, AnchorChain)
	case !hexFeltRE.MatchString(r.Contract):
		return nil, fmt.Errorf("%w: contract %q is not a lower-case hex felt", ErrAnchorReceipt, r.Contract)
	case !hexFeltRE.MatchString(r.TxHash):
		return nil, fmt.Errorf("%w: tx_hash %q is not a lower-case hex felt", ErrAnchorReceipt, r.TxHash)
	case r.TreeSize == 0:
		return nil, fmt.Errorf("%w: tree_size 0", ErrAnchorReceipt)
	case !hex64RE.MatchString(r.Root):
		return nil, fmt.Errorf("%w: root %q is not 64 lower-case hex characters", ErrAnchorReceipt, r.Root)
	}
	return &r, nil
}

// AnchorMismatch is evidence that the log signed a checkpoint whose root differs from the
// one anchored on chain at the same size.
type AnchorMismatch struct {
	Checkpoint []byte // the log-signed checkpoint
	Size       uint64
	Presented  []byte // the checkpoint's root
	Anchored   []byte // the contract's root at Size
	Receipt    AnchorReceipt
}

func (e *AnchorMismatch) Error() string {
	return fmt.Sprintf("%v: at size %d the contract %s holds %x, the log's checkpoint says %x", ErrAnchorMismatch, e.Size, e.Receipt.Contract, e.Anchored, e.Presented)
}
func (e *AnchorMismatch) Unwrap() error { return ErrAnchorMismatch }

// checkAnchor ties the receipt to a checkpoint the log signed (the bundle's, or the
// consistency checkpoint proven to be its prefix) and asks the AnchorChecker whether the
// chain holds that root at that size. It never passes without the chain.
func (v *Verifier) checkAnchor(ctx context.Context, x *run, b *bundle.Bundle, p Policy, cp *f_log.Checkpoint) {
	missing := func(detail string) {
		if p.requireAnchor {
			x.fail(CheckAnchor, errors.New(detail))
		} else {
			x.skip(CheckAnchor, detail)
		}
	}
	if b.Anchor == nil {
		missing(fmt.Sprintf("not yet anchored: the bundle carries no anchor receipt (entry %d is newer than the last anchor)", b.Index))
		return
	}
	r, err := ParseAnchorReceipt(b.Anchor)
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
		x.fail(CheckAnchor, fmt.Errorf("%w: receipt names contract %s, the trust root pins %s", ErrAnchorReceipt, r.Contract, sn.Contract))
		return
	}
	where := fmt.Sprintf("size %d in tx %s", r.TreeSize, r.TxHash)
	if v.anchor == nil {
		missing("offline: no chain access to read the contract; receipt for " + where + " not checked")
		return
	}
	if err := v.anchor.CheckAnchor(ctx, r, anchored); err != nil {
		var m *AnchorMismatch
		if errors.As(err, &m) {
			m.Checkpoint = raw
			x.r.AnchorEvidence = append(x.r.AnchorEvidence, m)
		}
		x.fail(CheckAnchor, err)
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
func (v *Verifier) anchoredCheckpoint(b *bundle.Bundle, r *AnchorReceipt, cp *f_log.Checkpoint) ([]byte, *f_log.Checkpoint, error) {
	raw, anchored := b.Checkpoint, cp
	switch {
	case r.TreeSize <= b.Index:
		return nil, nil, fmt.Errorf("%w: anchor at size %d does not cover entry %d", ErrAnchorReceipt, r.TreeSize, b.Index)
	case r.TreeSize > cp.Size:
		return nil, nil, fmt.Errorf("%w: anchor at size %d is beyond the bundle's checkpoint of size %d", ErrAnchorReceipt, r.TreeSize, cp.Size)
	case r.TreeSize < cp.Size:
		if b.Consistency == nil {
			return nil, nil, fmt.Errorf("%w: no consistency proof from the anchored checkpoint of size %d to the bundle's of size %d", ErrAnchorReceipt, r.TreeSize, cp.Size)
		}
		cc, err := v.VerifyCheckpoint(b.Consistency.Checkpoint)
		if err != nil {
			return nil, nil, fmt.Errorf("anchored checkpoint: %w", err)
		}
		if cc.Checkpoint.Size != r.TreeSize {
			return nil, nil, fmt.Errorf("%w: anchor at size %d, the bundled anchored checkpoint has size %d", ErrAnchorReceipt, r.TreeSize, cc.Checkpoint.Size)
		}
		if err := v.VerifyConsistency(b.Consistency.Checkpoint, b.Checkpoint, b.Consistency.Hashes); err != nil {
			return nil, nil, fmt.Errorf("the bundle's checkpoint of size %d is not consistent with the anchored checkpoint of size %d: %w", cp.Size, r.TreeSize, err)
		}
		raw, anchored = b.Consistency.Checkpoint, &cc.Checkpoint
	}
	if got := hex.EncodeToString(anchored.Hash); got != r.Root {
		return nil, nil, fmt.Errorf("%w: receipt root %s, the log's checkpoint of size %d has %s", ErrAnchorReceipt, r.Root, r.TreeSize, got)
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
