package starknettest

import (
	"errors"
	"fmt"

	"github.com/NethermindEth/juno/core/felt"

	"github.com/comet-attest/comet/chain/contract"
)

// state is contract storage and account nonces at one point of the chain.
type state struct {
	storage map[felt.Felt]map[felt.Felt]felt.Felt
	nonces  map[felt.Felt]uint64
}

func newState() *state {
	return &state{storage: map[felt.Felt]map[felt.Felt]felt.Felt{}, nonces: map[felt.Felt]uint64{}}
}

func (s *state) clone() *state {
	c := newState()
	for addr, slots := range s.storage {
		m := make(map[felt.Felt]felt.Felt, len(slots))
		for k, v := range slots {
			m[k] = v
		}
		c.storage[addr] = m
	}
	for a, nonce := range s.nonces {
		c.nonces[a] = nonce
	}
	return c
}

func (s *state) read(addr, key *felt.Felt) *felt.Felt {
	v := s.storage[*addr][*key]
	return &v
}

func (s *state) write(addr, key, val *felt.Felt) {
	m, ok := s.storage[*addr]
	if !ok {
		m = map[felt.Felt]felt.Felt{}
		s.storage[*addr] = m
	}
	m[*key] = *val
}

type event struct {
	from       *felt.Felt
	keys, data []*felt.Felt
}

type call struct {
	to, selector *felt.Felt
	calldata     []*felt.Felt
}

var errMulticall = errors.New("invalid multicall calldata")

// decodeMulticall parses the Cairo 2 account __execute__ calldata that
// starknet.go's account.FmtCallDataCairo2 writes:
// [n, (to, selector, len, data[len])...].
func decodeMulticall(cd []*felt.Felt) ([]call, error) {
	if len(cd) == 0 {
		return nil, fmt.Errorf("%w: empty", errMulticall)
	}
	n := cd[0].Uint64()
	if !cd[0].Equal(feltU64(n)) || n > uint64(len(cd)) {
		return nil, fmt.Errorf("%w: %s calls", errMulticall, cd[0])
	}
	calls := make([]call, 0, n)
	pos := 1
	for i := uint64(0); i < n; i++ {
		if pos+3 > len(cd) {
			return nil, fmt.Errorf("%w: call %d truncated", errMulticall, i)
		}
		l := cd[pos+2].Uint64()
		if !cd[pos+2].Equal(feltU64(l)) || l > uint64(len(cd)-pos-3) {
			return nil, fmt.Errorf("%w: call %d length %s", errMulticall, i, cd[pos+2])
		}
		calls = append(calls, call{to: cd[pos], selector: cd[pos+1], calldata: cd[pos+3 : pos+3+int(l)]})
		pos += 3 + int(l)
	}
	if pos != len(cd) {
		return nil, fmt.Errorf("%w: %d trailing felts", errMulticall, len(cd)-pos)
	}
	return calls, nil
}

// outcome is the effect of running a transaction's calls.
type outcome struct {
	writes int
	events []event
	revert string // empty when it succeeded
}

func (o outcome) eventFelts() int {
	total := 0
	for _, e := range o.events {
		total += len(e.keys) + len(e.data)
	}
	return total
}

// execute runs an account's multicall on st, which it changes only when
// every call succeeds.
func (n *Node) execute(st *state, sender *felt.Felt, calldata []*felt.Felt) outcome {
	calls, err := decodeMulticall(calldata)
	if err != nil {
		return outcome{revert: err.Error()}
	}
	scratch := st.clone()
	var out outcome
	for _, c := range calls {
		_, writes, evs, revert := n.invoke(scratch, sender, c)
		if revert != "" {
			return outcome{revert: revert}
		}
		out.writes += writes
		out.events = append(out.events, evs...)
	}
	*st = *scratch
	return out
}

// invoke runs one call of an anchor contract; revert is the failure reason.
func (n *Node) invoke(st *state, caller *felt.Felt, c call) (ret []*felt.Felt, writes int, evs []event, revert string) {
	if !n.anchors[*c.to] {
		return nil, 0, nil, fmt.Sprintf("Requested contract address %s is not deployed.", c.to)
	}
	fn, ok := n.codec.FunctionBySelector(c.selector)
	if !ok {
		return nil, 0, nil, fmt.Sprintf("Entry point %s not found in contract.", c.selector)
	}
	fail := func(msg string) (ret []*felt.Felt, writes int, evs []event, revert string) {
		return nil, 0, nil, contractFailure(c.to, c.selector, msg)
	}
	switch fn.Name {
	case contract.FnAnchor:
		a, err := n.codec.DecodeAnchorCalldata(c.calldata)
		if err != nil {
			return fail("Failed to deserialize param #1")
		}
		if !caller.Equal(st.read(c.to, contract.OwnerSlot())) {
			return fail(contract.RevertNotOwner)
		}
		if a.Size <= st.read(c.to, contract.LatestSlot(a.LogID)).Uint64() {
			return fail(contract.RevertNotGrowing)
		}
		lo, hi := contract.RootSlots(a.LogID, a.Size)
		enc, err := n.codec.EncodeOutputs(contract.FnRootAt, a.Root) // u256 as (low, high)
		if err != nil {
			return fail(err.Error())
		}
		st.write(c.to, lo, enc[0])
		st.write(c.to, hi, enc[1])
		st.write(c.to, contract.LatestSlot(a.LogID), feltU64(a.Size))
		keys, data, err := n.codec.AnchoredEvent(a)
		if err != nil {
			return fail(err.Error())
		}
		return nil, 3, []event{{from: c.to, keys: keys, data: data}}, ""
	case contract.FnRootAt:
		args, err := n.codec.DecodeInputs(fn.Name, c.calldata)
		if err != nil {
			return fail("Failed to deserialize param #1")
		}
		lo, hi := contract.RootSlots(args[0].(*felt.Felt), args[1].(uint64))
		return []*felt.Felt{st.read(c.to, lo), st.read(c.to, hi)}, 0, nil, ""
	case contract.FnLatest:
		args, err := n.codec.DecodeInputs(fn.Name, c.calldata)
		if err != nil {
			return fail("Failed to deserialize param #1")
		}
		return []*felt.Felt{st.read(c.to, contract.LatestSlot(args[0].(*felt.Felt)))}, 0, nil, ""
	case contract.FnOwner:
		if len(c.calldata) != 0 {
			return fail("Input too long for arguments")
		}
		return []*felt.Felt{st.read(c.to, contract.OwnerSlot())}, 0, nil, ""
	}
	return fail("unknown entry point " + fn.Name)
}

// contractFailure formats a Cairo assert failure the way sequencers report
// it: the failing short string as a felt and as text.
func contractFailure(addr, selector *felt.Felt, msg string) string {
	return fmt.Sprintf("Error in the called contract (contract address: %s, class hash: %s, selector: %s):\n"+
		"Execution failed. Failure reason:\n%s ('%s').", addr, anchorClassHash, selector,
		new(felt.Felt).SetBytes([]byte(msg)), msg)
}
