package contract

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/NethermindEth/juno/core/felt"
	"github.com/NethermindEth/starknet.go/curve"
)

//go:embed anchor_abi.json
var abiJSON []byte

// ABIJSON returns the checked-in ABI document, for operators and tools.
func ABIJSON() []byte { return append([]byte(nil), abiJSON...) }

// ErrEncoding marks calldata, results or events that do not fit the ABI.
var ErrEncoding = errors.New("contract: value does not match the ABI")

// The Cairo types the anchor ABI uses, and the Go values that stand for them.
const (
	typeFelt    = "core::felt252"                                     // *felt.Felt
	typeAddress = "core::starknet::contract_address::ContractAddress" // *felt.Felt
	typeU64     = "core::integer::u64"                                // uint64
	typeU128    = "core::integer::u128"                               // member of u256 only
	typeU256    = "core::integer::u256"                               // [32]byte, big-endian
)

// Param is one named, typed input, output or event member.
type Param struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Kind string `json:"kind,omitempty"` // events only: "key" or "data"
}

// Function is one entry point of the contract's interface.
type Function struct {
	Name            string  `json:"name"`
	Inputs          []Param `json:"inputs"`
	Outputs         []Param `json:"outputs"`
	StateMutability string  `json:"state_mutability"`
	// Selector is starknet_keccak(Name), the entry point selector.
	Selector *felt.Felt `json:"-"`
}

// Event is one event variant emitted by the contract.
type Event struct {
	// Name is the variant name, whose starknet_keccak is the first key.
	Name     string
	FullName string
	Members  []Param
	Selector *felt.Felt
}

// ABI is the parsed, checked ABI of the anchor contract.
type ABI struct {
	Functions   map[string]*Function
	Events      map[string]*Event
	Constructor []Param
}

type abiEntry struct {
	Type          string     `json:"type"`
	Name          string     `json:"name"`
	Kind          string     `json:"kind"`
	Items         []Function `json:"items"`
	Inputs        []Param    `json:"inputs"`
	Members       []Param    `json:"members"`
	Variants      []Param    `json:"variants"`
	InterfaceName string     `json:"interface_name"`
}

// ParseABI parses a Cairo 2 ABI document and checks that every type it uses
// is one this package can encode.
func ParseABI(doc []byte) (*ABI, error) {
	var entries []abiEntry
	if err := json.Unmarshal(doc, &entries); err != nil {
		return nil, fmt.Errorf("contract: parse ABI: %w", err)
	}
	a := &ABI{Functions: map[string]*Function{}, Events: map[string]*Event{}}
	structs := map[string]abiEntry{}
	var enums []abiEntry
	for _, e := range entries {
		switch e.Type {
		case "interface":
			for i := range e.Items {
				f := e.Items[i]
				if _, dup := a.Functions[f.Name]; dup {
					return nil, fmt.Errorf("contract: ABI function %q twice", f.Name)
				}
				f.Selector = curve.StarknetKeccak([]byte(f.Name))
				a.Functions[f.Name] = &f
			}
		case "constructor":
			a.Constructor = e.Inputs
		case "event":
			if e.Kind == "enum" {
				enums = append(enums, e)
			} else {
				structs[e.Name] = e
			}
		case "struct":
			if e.Name == typeU256 && !(len(e.Members) == 2 && e.Members[0].Type == typeU128 && e.Members[1].Type == typeU128) {
				return nil, fmt.Errorf("contract: ABI u256 is not (low: u128, high: u128)")
			}
		}
	}
	for _, en := range enums {
		for _, v := range en.Variants {
			st, ok := structs[v.Type]
			if !ok {
				return nil, fmt.Errorf("contract: ABI event variant %q has no struct %q", v.Name, v.Type)
			}
			a.Events[v.Name] = &Event{Name: v.Name, FullName: st.Name, Members: st.Members, Selector: curve.StarknetKeccak([]byte(v.Name))}
		}
	}
	for _, f := range a.Functions {
		if err := checkTypes(f.Inputs); err != nil {
			return nil, fmt.Errorf("contract: function %s: %w", f.Name, err)
		}
		if err := checkTypes(f.Outputs); err != nil {
			return nil, fmt.Errorf("contract: function %s: %w", f.Name, err)
		}
	}
	for _, ev := range a.Events {
		if err := checkTypes(ev.Members); err != nil {
			return nil, fmt.Errorf("contract: event %s: %w", ev.Name, err)
		}
	}
	return a, nil
}

func checkTypes(ps []Param) error {
	for _, p := range ps {
		switch p.Type {
		case typeFelt, typeAddress, typeU64, typeU256:
		default:
			return fmt.Errorf("%w: unsupported type %q", ErrEncoding, p.Type)
		}
	}
	return nil
}

// Encode serializes values in the order and types of ps (Cairo Serde).
func Encode(ps []Param, values ...any) ([]*felt.Felt, error) {
	if len(values) != len(ps) {
		return nil, fmt.Errorf("%w: %d values for %d parameters", ErrEncoding, len(values), len(ps))
	}
	out := make([]*felt.Felt, 0, len(ps)+1)
	for i, p := range ps {
		switch p.Type {
		case typeFelt, typeAddress:
			v, ok := values[i].(*felt.Felt)
			if !ok || v == nil {
				return nil, fmt.Errorf("%w: %s wants *felt.Felt, got %T", ErrEncoding, p.Name, values[i])
			}
			out = append(out, new(felt.Felt).Set(v))
		case typeU64:
			v, ok := values[i].(uint64)
			if !ok {
				return nil, fmt.Errorf("%w: %s wants uint64, got %T", ErrEncoding, p.Name, values[i])
			}
			out = append(out, new(felt.Felt).SetUint64(v))
		case typeU256:
			v, ok := values[i].([32]byte)
			if !ok {
				return nil, fmt.Errorf("%w: %s wants [32]byte, got %T", ErrEncoding, p.Name, values[i])
			}
			out = append(out, new(felt.Felt).SetBytes(v[16:]), new(felt.Felt).SetBytes(v[:16]))
		default:
			return nil, fmt.Errorf("%w: unsupported type %q", ErrEncoding, p.Type)
		}
	}
	return out, nil
}

var (
	maxU64  = new(big.Int).SetUint64(^uint64(0))
	maxU128 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
)

// Decode parses data as exactly the values of ps, rejecting range overflows
// and trailing felts; the Go types are those Encode takes.
func Decode(ps []Param, data []*felt.Felt) ([]any, error) {
	out := make([]any, 0, len(ps))
	pos := 0
	next := func(name string) (*felt.Felt, error) {
		if pos >= len(data) || data[pos] == nil {
			return nil, fmt.Errorf("%w: %s missing (have %d felts)", ErrEncoding, name, len(data))
		}
		pos++
		return data[pos-1], nil
	}
	for _, p := range ps {
		switch p.Type {
		case typeFelt, typeAddress:
			f, err := next(p.Name)
			if err != nil {
				return nil, err
			}
			out = append(out, new(felt.Felt).Set(f))
		case typeU64:
			f, err := next(p.Name)
			if err != nil {
				return nil, err
			}
			if f.BigInt(new(big.Int)).Cmp(maxU64) > 0 {
				return nil, fmt.Errorf("%w: %s = %s overflows u64", ErrEncoding, p.Name, f)
			}
			out = append(out, f.Uint64())
		case typeU256:
			low, err := next(p.Name + ".low")
			if err != nil {
				return nil, err
			}
			high, err := next(p.Name + ".high")
			if err != nil {
				return nil, err
			}
			var v [32]byte
			for i, half := range []*felt.Felt{high, low} {
				b := half.BigInt(new(big.Int))
				if b.Cmp(maxU128) > 0 {
					return nil, fmt.Errorf("%w: %s = %s overflows u128", ErrEncoding, p.Name, half)
				}
				b.FillBytes(v[16*i : 16*i+16])
			}
			out = append(out, v)
		default:
			return nil, fmt.Errorf("%w: unsupported type %q", ErrEncoding, p.Type)
		}
	}
	if pos != len(data) {
		return nil, fmt.Errorf("%w: %d trailing felts", ErrEncoding, len(data)-pos)
	}
	return out, nil
}

// Split returns the key and data members of an event, in ABI order.
func (e *Event) Split() (keys, data []Param) {
	for _, m := range e.Members {
		if m.Kind == "key" {
			keys = append(keys, m)
		} else {
			data = append(data, m)
		}
	}
	return keys, data
}
