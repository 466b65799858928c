package contract

import (
	"errors"
	"math/big"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/NethermindEth/juno/core/felt"
	"github.com/NethermindEth/starknet.go/utils"
)

func newCodec(t testing.TB) *Codec {
	t.Helper()
	c, err := NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSelectorsMatchStarknetGo(t *testing.T) {
	c := newCodec(t)
	for _, fn := range []string{FnAnchor, FnRootAt, FnLatest, FnOwner} {
		if got, want := c.Selector(fn), utils.GetSelectorFromNameFelt(fn); !got.Equal(want) {
			t.Errorf("selector(%s) = %s, want %s", fn, got, want)
		}
	}
	// A published value: the ERC-20 transfer selector.
	if got := utils.GetSelectorFromNameFelt("transfer").String(); got != "0x83afd3f4caedc6eebf44246fe54e38c95e3179a5ec9ea81740eca5b482d12e" {
		t.Errorf("transfer selector %s", got)
	}
	if c.Selector("nope") != nil {
		t.Error("selector of unknown entry point")
	}
}

func TestAnchorRoundTrip(t *testing.T) {
	c := newCodec(t)
	var root [32]byte
	for i := range root {
		root[i] = byte(i + 1)
	}
	a := Anchored{LogID: LogID("example.com/log"), Size: 1 << 40, Root: root}
	cd, err := c.AnchorCalldata(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(cd) != 4 {
		t.Fatalf("calldata has %d felts, want 4 (log_id, size, root.low, root.high)", len(cd))
	}
	if cd[2].String() != "0x1112131415161718191a1b1c1d1e1f20" || cd[3].String() != "0x102030405060708090a0b0c0d0e0f10" {
		t.Errorf("u256 halves %s %s", cd[2], cd[3])
	}
	back, err := c.DecodeAnchorCalldata(cd)
	if err != nil {
		t.Fatal(err)
	}
	if !back.LogID.Equal(a.LogID) || back.Size != a.Size || back.Root != a.Root {
		t.Errorf("round trip %+v != %+v", back, a)
	}
	keys, data, err := c.AnchoredEvent(a)
	if err != nil {
		t.Fatal(err)
	}
	if !keys[0].Equal(utils.GetSelectorFromNameFelt(EvAnchored)) || len(keys) != 3 || len(data) != 2 {
		t.Fatalf("event keys %v data %v", keys, data)
	}
	ev, err := c.DecodeAnchoredEvent(keys, data)
	if err != nil || ev.Size != a.Size || ev.Root != a.Root {
		t.Fatalf("event round trip %+v %v", ev, err)
	}
}

func TestDecodeRejects(t *testing.T) {
	c := newCodec(t)
	one := new(felt.Felt).SetUint64(1)
	big64 := new(felt.Felt).SetBytes([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0}) // 2^64
	u129 := new(felt.Felt).SetBytes(append([]byte{1}, make([]byte, 16)...))
	for name, cd := range map[string][]*felt.Felt{
		"short":         {one, one, one},
		"trailing":      {one, one, one, one, one},
		"u64 overflow":  {one, big64, one, one},
		"u128 overflow": {one, one, u129, one},
		"nil felt":      {one, nil, one, one},
	} {
		if _, err := c.DecodeAnchorCalldata(cd); !errors.Is(err, ErrEncoding) {
			t.Errorf("%s: err %v, want ErrEncoding", name, err)
		}
	}
	if _, err := c.DecodeAnchoredEvent([]*felt.Felt{one, one, one}, []*felt.Felt{one, one}); !errors.Is(err, ErrEncoding) {
		t.Errorf("foreign event accepted: %v", err)
	}
	if _, err := c.EncodeInputs(FnAnchor, one, "x", [32]byte{}); !errors.Is(err, ErrEncoding) {
		t.Errorf("wrong Go type accepted: %v", err)
	}
}

func TestStorageSlots(t *testing.T) {
	id := LogID("a")
	lo, hi := RootSlots(id, 7)
	lo2, _ := RootSlots(id, 8)
	if lo.Equal(lo2) || lo.Equal(LatestSlot(id)) || lo.Equal(OwnerSlot()) {
		t.Error("storage slots collide")
	}
	if d := new(felt.Felt).Sub(hi, lo); !d.IsOne() {
		t.Errorf("u256 high slot is not low+1")
	}
	if OwnerSlot().BigInt(new(big.Int)).Cmp(storageModulus) >= 0 {
		t.Error("address not reduced")
	}
}

// TestABIMatchesCairo keeps the hand-written ABI in step with src/lib.cairo:
// every interface function with its parameter names and types, the event's
// members, the storage names and the revert messages.
func TestABIMatchesCairo(t *testing.T) {
	src, err := os.ReadFile("src/lib.cairo")
	if err != nil {
		t.Fatal(err)
	}
	cairo := string(src)
	short := map[string]string{
		"felt252": typeFelt, "u64": typeU64, "u256": typeU256,
		"starknet::ContractAddress": typeAddress, "ContractAddress": typeAddress,
	}
	trait := regexp.MustCompile(`fn (\w+)\((?:ref )?self: @?TContractState((?:, \w+: [\w:]+)*)\)(?: -> ([\w:]+))?;`)
	found := map[string]bool{}
	c := newCodec(t)
	for _, m := range trait.FindAllStringSubmatch(cairo, -1) {
		f, ok := c.ABI().Functions[m[1]]
		if !ok {
			t.Errorf("Cairo fn %s not in ABI", m[1])
			continue
		}
		found[m[1]] = true
		var params []string
		if m[2] != "" {
			params = strings.Split(strings.TrimPrefix(m[2], ", "), ", ")
		}
		if len(params) != len(f.Inputs) {
			t.Errorf("%s: Cairo has %d params, ABI %d", m[1], len(params), len(f.Inputs))
			continue
		}
		for i, p := range params {
			name, typ, _ := strings.Cut(p, ": ")
			if f.Inputs[i].Name != name || f.Inputs[i].Type != short[typ] {
				t.Errorf("%s param %d: Cairo %s, ABI %+v", m[1], i, p, f.Inputs[i])
			}
		}
		if (m[3] == "") != (len(f.Outputs) == 0) || (m[3] != "" && f.Outputs[0].Type != short[m[3]]) {
			t.Errorf("%s returns %q in Cairo, ABI %+v", m[1], m[3], f.Outputs)
		}
	}
	for name := range c.ABI().Functions {
		if !found[name] {
			t.Errorf("ABI function %s not in Cairo trait", name)
		}
	}
	for _, s := range []string{storageOwner + ": ContractAddress", storageRoots + ": Map<(felt252, u64), u256>",
		storageLatest + ": Map<felt252, u64>", "'" + RevertNotOwner + "'", "'" + RevertNotGrowing + "'",
		"#[key]\n        pub log_id: felt252", "#[key]\n        pub size: u64", "pub root: u256", "Anchored: Anchored"} {
		if !strings.Contains(cairo, s) {
			t.Errorf("Cairo source lacks %q", s)
		}
	}
}

func FuzzDecodeAnchorCalldata(f *testing.F) {
	c := newCodec(f)
	f.Add([]byte{1, 2, 3}, uint8(4))
	f.Fuzz(func(t *testing.T, seed []byte, n uint8) {
		data := make([]*felt.Felt, int(n%8))
		for i := range data {
			b := append([]byte{byte(i)}, seed...)
			data[i] = new(felt.Felt).SetBytes(b)
		}
		a, err := c.DecodeAnchorCalldata(data)
		if err != nil {
			return
		}
		again, err := c.AnchorCalldata(a)
		if err != nil || len(again) != len(data) {
			t.Fatalf("decoded calldata does not re-encode: %v", err)
		}
		for i := range again {
			if !again[i].Equal(data[i]) {
				t.Fatalf("felt %d changed on re-encode", i)
			}
		}
		if _, err := c.DecodeAnchoredEvent(data, data); err == nil && len(data) == 0 {
			t.Fatal("empty event accepted")
		}
	})
}
