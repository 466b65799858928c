package contract

import (
	"fmt"
	"math/big"

	"github.com/NethermindEth/juno/core/felt"
	"github.com/NethermindEth/starknet.go/curve"
)

// Entry points, the event and the revert messages of src/lib.cairo.
const (
	FnAnchor   = "anchor"
	FnRootAt   = "root_at"
	FnLatest   = "latest"
	FnOwner    = "owner"
	EvAnchored = "Anchored"

	// RevertNotOwner and RevertNotGrowing are the short strings the contract's
	// asserts fail with; a node reports them inside the revert reason.
	RevertNotOwner   = "caller is not owner"
	RevertNotGrowing = "size not growing"
)

// Storage variable names of src/lib.cairo. The ABI does not describe storage,
// so these are the one thing here not read from anchor_abi.json; a test checks
// them against the Cairo source.
const (
	storageOwner  = "owner"
	storageRoots  = "roots"
	storageLatest = "latest"
)

// LogID is the felt252 that identifies a log on chain: starknet_keccak of its
// checkpoint origin line.
func LogID(origin string) *felt.Felt {
	return curve.StarknetKeccak([]byte(origin))
}

// Anchored is the payload of anchor() and of the Anchored event.
type Anchored struct {
	LogID *felt.Felt
	Size  uint64
	Root  [32]byte
}

// Codec encodes and decodes the anchor contract's calls, results and events
// from its ABI.
type Codec struct {
	abi      *ABI
	anchored *Event
}

// NewCodec parses the embedded ABI and checks it has the entry points and
// event, with the signatures, that this package's typed helpers assume.
func NewCodec() (*Codec, error) {
	a, err := ParseABI(abiJSON)
	if err != nil {
		return nil, err
	}
	want := map[string][2]int{FnAnchor: {3, 0}, FnRootAt: {2, 1}, FnLatest: {1, 1}, FnOwner: {0, 1}}
	for name, io := range want {
		f, ok := a.Functions[name]
		if !ok || len(f.Inputs) != io[0] || len(f.Outputs) != io[1] {
			return nil, fmt.Errorf("%w: ABI entry point %q missing or with another signature", ErrEncoding, name)
		}
	}
	ev, ok := a.Events[EvAnchored]
	if !ok {
		return nil, fmt.Errorf("%w: ABI has no %s event", ErrEncoding, EvAnchored)
	}
	if keys, data := ev.Split(); len(keys) != 2 || len(data) != 1 {
		return nil, fmt.Errorf("%w: %s event is not (key log_id, key size, root)", ErrEncoding, EvAnchored)
	}
	return &Codec{abi: a, anchored: ev}, nil
}

// ABI returns the parsed ABI.
func (c *Codec) ABI() *ABI { return c.abi }

func (c *Codec) function(name string) (*Function, error) {
	f, ok := c.abi.Functions[name]
	if !ok {
		return nil, fmt.Errorf("%w: no entry point %q", ErrEncoding, name)
	}
	return f, nil
}

// Selector returns the entry point selector of fn, or nil if the ABI lacks it.
func (c *Codec) Selector(fn string) *felt.Felt {
	f, ok := c.abi.Functions[fn]
	if !ok {
		return nil
	}
	return new(felt.Felt).Set(f.Selector)
}

// FunctionBySelector resolves an entry point selector, as a node must.
func (c *Codec) FunctionBySelector(sel *felt.Felt) (*Function, bool) {
	for _, f := range c.abi.Functions {
		if f.Selector.Equal(sel) {
			return f, true
		}
	}
	return nil, false
}

// EncodeInputs serializes the arguments of fn.
func (c *Codec) EncodeInputs(fn string, values ...any) ([]*felt.Felt, error) {
	f, err := c.function(fn)
	if err != nil {
		return nil, err
	}
	out, err := Encode(f.Inputs, values...)
	if err != nil {
		return nil, fmt.Errorf("%s inputs: %w", fn, err)
	}
	return out, nil
}

// DecodeInputs parses the calldata of fn.
func (c *Codec) DecodeInputs(fn string, data []*felt.Felt) ([]any, error) {
	f, err := c.function(fn)
	if err != nil {
		return nil, err
	}
	out, err := Decode(f.Inputs, data)
	if err != nil {
		return nil, fmt.Errorf("%s inputs: %w", fn, err)
	}
	return out, nil
}

// EncodeOutputs serializes the return values of fn.
func (c *Codec) EncodeOutputs(fn string, values ...any) ([]*felt.Felt, error) {
	f, err := c.function(fn)
	if err != nil {
		return nil, err
	}
	out, err := Encode(f.Outputs, values...)
	if err != nil {
		return nil, fmt.Errorf("%s outputs: %w", fn, err)
	}
	return out, nil
}

// DecodeOutputs parses the return values of fn.
func (c *Codec) DecodeOutputs(fn string, data []*felt.Felt) ([]any, error) {
	f, err := c.function(fn)
	if err != nil {
		return nil, err
	}
	out, err := Decode(f.Outputs, data)
	if err != nil {
		return nil, fmt.Errorf("%s outputs: %w", fn, err)
	}
	return out, nil
}

// AnchorCalldata is the calldata of anchor(log_id, size, root).
func (c *Codec) AnchorCalldata(a Anchored) ([]*felt.Felt, error) {
	if a.LogID == nil {
		return nil, fmt.Errorf("%w: nil log id", ErrEncoding)
	}
	return c.EncodeInputs(FnAnchor, a.LogID, a.Size, a.Root)
}

// DecodeAnchorCalldata parses the calldata of anchor().
func (c *Codec) DecodeAnchorCalldata(data []*felt.Felt) (Anchored, error) {
	v, err := c.DecodeInputs(FnAnchor, data)
	if err != nil {
		return Anchored{}, err
	}
	return Anchored{LogID: v[0].(*felt.Felt), Size: v[1].(uint64), Root: v[2].([32]byte)}, nil
}

// AnchoredEvent is the keys and data of the Anchored event for a.
func (c *Codec) AnchoredEvent(a Anchored) (keys, data []*felt.Felt, err error) {
	km, dm := c.anchored.Split()
	k, err := Encode(km, a.LogID, a.Size)
	if err != nil {
		return nil, nil, fmt.Errorf("%s keys: %w", EvAnchored, err)
	}
	d, err := Encode(dm, a.Root)
	if err != nil {
		return nil, nil, fmt.Errorf("%s data: %w", EvAnchored, err)
	}
	return append([]*felt.Felt{new(felt.Felt).Set(c.anchored.Selector)}, k...), d, nil
}

// DecodeAnchoredEvent parses an Anchored event; it fails for any other event.
func (c *Codec) DecodeAnchoredEvent(keys, data []*felt.Felt) (Anchored, error) {
	if len(keys) == 0 || keys[0] == nil || !keys[0].Equal(c.anchored.Selector) {
		return Anchored{}, fmt.Errorf("%w: not an %s event", ErrEncoding, EvAnchored)
	}
	km, dm := c.anchored.Split()
	k, err := Decode(km, keys[1:])
	if err != nil {
		return Anchored{}, fmt.Errorf("%s keys: %w", EvAnchored, err)
	}
	d, err := Decode(dm, data)
	if err != nil {
		return Anchored{}, fmt.Errorf("%s data: %w", EvAnchored, err)
	}
	return Anchored{LogID: k[0].(*felt.Felt), Size: k[1].(uint64), Root: d[0].([32]byte)}, nil
}

// AnchoredFilter is the starknet_getEvents key filter for one log's Anchored
// events: the event selector, then the log id, any size.
func (c *Codec) AnchoredFilter(logID *felt.Felt) [][]*felt.Felt {
	return [][]*felt.Felt{{new(felt.Felt).Set(c.anchored.Selector)}, {new(felt.Felt).Set(logID)}}
}

// storageModulus is 2^251 - 256: Cairo reduces storage base addresses by it.
var storageModulus = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 251), big.NewInt(256))

// storageAddress is Cairo's address of a storage variable or map entry:
// pedersen(...pedersen(sn_keccak(name), k1)..., kn) mod 2^251-256.
func storageAddress(name string, keys ...*felt.Felt) *felt.Felt {
	h := curve.StarknetKeccak([]byte(name))
	for _, k := range keys {
		h = curve.Pedersen(h, k)
	}
	b := h.BigInt(new(big.Int))
	return new(felt.Felt).SetBigInt(b.Mod(b, storageModulus))
}

// OwnerSlot is the storage address of the owner.
func OwnerSlot() *felt.Felt { return storageAddress(storageOwner) }

// LatestSlot is the storage address of a log's latest anchored size.
func LatestSlot(logID *felt.Felt) *felt.Felt { return storageAddress(storageLatest, logID) }

// RootSlots are the storage addresses of the low and high halves of the
// root anchored for a log at size (a u256 takes two consecutive slots).
func RootSlots(logID *felt.Felt, size uint64) (low, high *felt.Felt) {
	low = storageAddress(storageRoots, logID, new(felt.Felt).SetUint64(size))
	return low, new(felt.Felt).Add(low, new(felt.Felt).SetUint64(1))
}
