package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/comet-attest/comet/internal/hexdigest"
)

// AnchorChain is the only chain an AnchorReceipt may name.
const AnchorChain = "starknet"

// maxReceipt bounds an anchor receipt; real ones are a few hundred bytes.
const maxReceipt = 4 << 10

// ErrAnchorReceipt reports a receipt that cannot be parsed; package verify wraps it too for
// a receipt that does not describe the bundle's anchored checkpoint.
var ErrAnchorReceipt = errors.New("bad anchor receipt")

var hexFeltRE = regexp.MustCompile(`^0x[0-9a-f]{1,64}$`)

// AnchorReceipt is the bundle's anchor object (Bundle.Anchor): where and in which
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

// ParseAnchorReceipt decodes and checks the shape of an anchor receipt. Whether it describes
// a checkpoint the log signed, and whether the chain holds it, is package verify's to check.
func ParseAnchorReceipt(raw json.RawMessage) (*AnchorReceipt, error) {
	var r AnchorReceipt
	if err := decodeStrict(raw, maxReceipt, &r, ErrAnchorReceipt); err != nil {
		return nil, err
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
	case !hexdigest.Valid(r.Root):
		return nil, fmt.Errorf("%w: root %q is not 64 lower-case hex characters", ErrAnchorReceipt, r.Root)
	}
	return &r, nil
}
