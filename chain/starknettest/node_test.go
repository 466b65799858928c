package starknettest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/NethermindEth/juno/core/felt"
	"github.com/NethermindEth/starknet.go/account"
	"github.com/NethermindEth/starknet.go/client/rpcerr"
	"github.com/NethermindEth/starknet.go/curve"
	"github.com/NethermindEth/starknet.go/rpc"

	"github.com/comet-attest/comet/chain/contract"
)

// recorder stands in for the test so that a violation can be observed
// instead of failing this test.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errs)
}

func provider(t testing.TB, n *Node) *rpc.Provider {
	t.Helper()
	p, err := rpc.NewProvider(context.Background(), n.URL())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func rpcCode(err error) int {
	var re *rpcerr.RPCError
	if errors.As(err, &re) {
		return re.Code
	}
	return 0
}

func TestViolationsFailTheTest(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		breakNode func(n *Node)
		call      func(n *Node, p *rpc.Provider) error
	}{
		{"request params", nil, func(n *Node, _ *rpc.Provider) error {
			body := `{"jsonrpc":"2.0","id":1,"method":"starknet_getNonce","params":["pending","0x1"]}`
			resp, err := http.Post(n.URL(), "application/json", strings.NewReader(body))
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var out rpcResponse
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Error == nil || out.Error.Code != -32602 {
				return fmt.Errorf("answer %+v, %v", out, err)
			}
			return nil
		}},
		{"result type", func(n *Node) {
			n.handle["starknet_blockNumber"] = func([]json.RawMessage) (any, *rpcError) { return "0x5", nil }
		}, func(_ *Node, p *rpc.Provider) error {
			if _, err := p.BlockNumber(ctx); err == nil {
				return errors.New("client got the forbidden result")
			}
			return nil
		}},
		{"confirmed block without parent", func(n *Node) {
			n.handle["starknet_getBlockWithTxHashes"] = func(p []json.RawMessage) (any, *rpcError) {
				b, rerr := n.getBlock(p, false)
				bj := b.(blockJSON)
				bj.ParentHash = nil
				return bj, rerr
			}
		}, func(_ *Node, p *rpc.Provider) error {
			_, _ = p.BlockWithTxHashes(ctx, rpc.WithBlockTag(rpc.BlockTagLatest))
			return nil
		}},
		{"error code not listed", func(n *Node) {
			n.handle["starknet_getNonce"] = func([]json.RawMessage) (any, *rpcError) { return nil, &errHashNotFound }
		}, func(_ *Node, p *rpc.Provider) error {
			_, _ = p.Nonce(ctx, rpc.WithBlockTag(rpc.BlockTagLatest), new(felt.Felt).SetUint64(1))
			return nil
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			n := New(rec, Config{})
			p := provider(t, n)
			if tc.breakNode != nil {
				tc.breakNode(n)
			}
			if err := tc.call(n, p); err != nil {
				t.Fatal(err)
			}
			if rec.count() != 1 || len(n.Violations()) != 1 {
				t.Fatalf("recorded %v, violations %v; want one each", rec.errs, n.Violations())
			}
		})
	}
}

type fixture struct {
	n      *Node
	p      *rpc.Provider
	acct   *account.Account
	anchor *felt.Felt
	codec  *contract.Codec
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	n := New(t, Config{})
	p := provider(t, n)
	ks, pub, _ := account.GetRandomKeys()
	addr := n.AddAccount(pub)
	acct, err := account.NewAccount(p, addr, pub.String(), ks, account.CairoV2)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := contract.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{n: n, p: p, acct: acct, anchor: n.DeployAnchor(addr), codec: codec}
}

func (f *fixture) anchorCall(t *testing.T, size uint64) rpc.InvokeFunctionCall {
	t.Helper()
	args, err := f.codec.AnchorCalldata(contract.Anchored{LogID: contract.LogID("o"), Size: size, Root: [32]byte{31: 7}})
	if err != nil {
		t.Fatal(err)
	}
	return rpc.InvokeFunctionCall{ContractAddress: f.anchor, FunctionName: contract.FnAnchor, CallData: args}
}

// The account's own BuildAndSendInvokeTxn, unmodified, is accepted; the
// node's storage layout matches starknet.go's idea of a variable's slot.
func TestBuildAndSendInvoke(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	resp, err := f.acct.BuildAndSendInvokeTxn(ctx, []rpc.InvokeFunctionCall{f.anchorCall(t, 3)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.p.TransactionReceipt(ctx, resp.Hash)
	if err != nil || r.ExecutionStatus != rpc.TxnExecutionStatusSUCCEEDED || len(r.Events) != 1 {
		t.Fatalf("receipt %+v, %v", r, err)
	}
	// starknet.go's StorageAt takes a variable name and hashes it itself,
	// which must land on the slot the contract package computes.
	v, err := f.p.StorageAt(ctx, f.anchor, "owner", rpc.WithBlockTag(rpc.BlockTagLatest))
	if err != nil || v != f.acct.Address.String() {
		t.Errorf("owner in storage = %s, %v; want %s", v, err, f.acct.Address)
	}
	// Map entries are read with a raw call (StorageAt would hash the key).
	lo, hi := contract.RootSlots(contract.LogID("o"), 3)
	for slot, want := range map[*felt.Felt]string{lo: "0x7", hi: "0x0"} {
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"starknet_getStorageAt","params":[%q,%q,"latest"]}`, f.anchor, slot)
		resp, err := http.Post(f.n.URL(), "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Result string }
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || out.Result != want {
			t.Errorf("storage at root slot = %q, %v; want %s", out.Result, err, want)
		}
	}
	for _, tag := range []rpc.BlockTag{rpc.BlockTagPreConfirmed, rpc.BlockTagLatest} {
		if _, err := f.p.BlockWithTxHashes(ctx, rpc.WithBlockTag(tag)); err != nil {
			t.Errorf("block %s: %v", tag, err)
		}
		if _, err := f.p.BlockWithTxs(ctx, rpc.WithBlockTag(tag)); err != nil {
			t.Errorf("block with txs %s: %v", tag, err)
		}
	}
	if bn, err := f.p.BlockHashAndNumber(ctx); err != nil || bn.Number != 1 {
		t.Errorf("head %+v, %v", bn, err)
	}
	if tx, err := f.p.TransactionByHash(ctx, resp.Hash); err != nil || !tx.Hash.Equal(resp.Hash) {
		t.Errorf("transaction by hash: %v", err)
	}
}

// Transactions with a bad signature or nonce never reach a block.
func TestNodeRejects(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	sendTampered := func(edit func(*rpc.BroadcastInvokeTxnV3)) error {
		nonce, err := f.acct.Nonce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cd, err := f.acct.FmtCalldata([]rpc.FunctionCall{{ContractAddress: f.anchor,
			EntryPointSelector: f.codec.Selector(contract.FnAnchor), Calldata: mustEncode(t, f.codec, 5)}})
		if err != nil {
			t.Fatal(err)
		}
		big := rpc.ResourceBounds{MaxAmount: "0x10000000", MaxPricePerUnit: "0x10000000000"}
		tx := &rpc.BroadcastInvokeTxnV3{Type: rpc.TransactionTypeInvoke, SenderAddress: f.acct.Address, Calldata: cd,
			Version: rpc.TransactionV3, Nonce: nonce, Tip: "0x0", PayMasterData: []*felt.Felt{}, AccountDeploymentData: []*felt.Felt{},
			ResourceBounds: &rpc.ResourceBoundsMapping{L1Gas: big, L1DataGas: big, L2Gas: big},
			NonceDataMode:  rpc.DAModeL1, FeeMode: rpc.DAModeL1}
		if err := f.acct.SignInvokeTransaction(ctx, tx); err != nil {
			t.Fatal(err)
		}
		edit(tx)
		_, err = f.p.AddInvokeTransaction(ctx, tx)
		return err
	}
	tests := []struct {
		name string
		edit func(*rpc.BroadcastInvokeTxnV3)
		code int
	}{
		{"calldata changed after signing", func(tx *rpc.BroadcastInvokeTxnV3) { tx.Calldata[len(tx.Calldata)-1] = new(felt.Felt).SetUint64(9) }, 55},
		{"signature of another key", func(tx *rpc.BroadcastInvokeTxnV3) {
			r, s, _ := curve.SignFelts(new(felt.Felt).SetUint64(1), new(felt.Felt).SetUint64(2))
			tx.Signature = []*felt.Felt{r, s}
		}, 55},
		{"nonce from the future", func(tx *rpc.BroadcastInvokeTxnV3) {
			tx.Nonce = new(felt.Felt).SetUint64(7)
			_ = f.acct.SignInvokeTransaction(ctx, tx)
		}, 52},
		{"bounds below the fee", func(tx *rpc.BroadcastInvokeTxnV3) {
			tx.ResourceBounds.L2Gas.MaxAmount = "0x1"
			_ = f.acct.SignInvokeTransaction(ctx, tx)
		}, 53},
		{"unknown sender", func(tx *rpc.BroadcastInvokeTxnV3) { tx.SenderAddress = new(felt.Felt).SetUint64(77) }, 58},
	}
	for _, tc := range tests {
		if err := sendTampered(tc.edit); rpcCode(err) != tc.code {
			t.Errorf("%s: err %v, want code %d", tc.name, err, tc.code)
		}
	}
	if err := sendTampered(func(*rpc.BroadcastInvokeTxnV3) {}); err != nil {
		t.Errorf("untampered: %v", err)
	}
	if f.n.BlockNumber() != 0 || f.n.Calls("starknet_addInvokeTransaction") != len(tests)+1 {
		t.Errorf("block %d after rejections", f.n.BlockNumber())
	}
}

func mustEncode(t *testing.T, c *contract.Codec, size uint64) []*felt.Felt {
	t.Helper()
	cd, err := c.AnchorCalldata(contract.Anchored{LogID: contract.LogID("o"), Size: size})
	if err != nil {
		t.Fatal(err)
	}
	return cd
}

// The estimate follows the documented fee model exactly.
func TestFeeModel(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	m := DefaultFeeModel()
	r := m.resources(8, 2, 3, 5) // one anchor call: 8 calldata felts, 3 slots, 3 keys + 2 data
	want := new(big.Int).SetUint64(r.l2Gas*m.L2GasPrice + r.l1DataGas*m.L1DataGasPrice)
	if got := m.fee(r); got.Cmp(want) != 0 || got.String() != "9040000000512000" {
		t.Fatalf("fee %s, want %s", got, want)
	}
	resp, err := f.acct.BuildAndSendInvokeTxn(ctx, []rpc.InvokeFunctionCall{f.anchorCall(t, 1)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := f.p.TransactionReceipt(ctx, resp.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if rc.ActualFee.Amount.BigInt(new(big.Int)).Cmp(want) != 0 {
		t.Errorf("actual fee %s, model %s", rc.ActualFee.Amount, want)
	}
}

func TestDecodeMulticall(t *testing.T) {
	one, two := new(felt.Felt).SetUint64(1), new(felt.Felt).SetUint64(2)
	calls, err := decodeMulticall([]*felt.Felt{two, one, one, one, one, two, two, new(felt.Felt)})
	if err != nil || len(calls) != 2 || len(calls[0].calldata) != 1 || len(calls[1].calldata) != 0 {
		t.Fatalf("calls %+v, %v", calls, err)
	}
	for _, bad := range [][]*felt.Felt{{}, {two, one}, {one, one, one, two, one}, {one, one, one, new(felt.Felt), one}} {
		if _, err := decodeMulticall(bad); !errors.Is(err, errMulticall) {
			t.Errorf("%v accepted", bad)
		}
	}
}

func FuzzDecodeMulticall(f *testing.F) {
	f.Add([]byte{1, 5, 6, 2, 7, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		cd := make([]*felt.Felt, len(b))
		for i, v := range b {
			cd[i] = new(felt.Felt).SetUint64(uint64(v))
		}
		calls, err := decodeMulticall(cd)
		if err != nil {
			return
		}
		used := 1
		for _, c := range calls {
			used += 3 + len(c.calldata)
		}
		if used != len(cd) {
			t.Fatalf("calls cover %d of %d felts", used, len(cd))
		}
	})
}
