package starknettest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/NethermindEth/juno/core/felt"
	"github.com/NethermindEth/starknet.go/account"
	"github.com/NethermindEth/starknet.go/curve"
	"github.com/NethermindEth/starknet.go/rpc"
	"github.com/consensys/gnark-crypto/ecc/stark-curve/fr"

	"github.com/comet-attest/comet/chain/contract"
)

// jsDir holds the starknet.js client script, its package.json (an exact
// version) and package-lock.json; .ci/run installs it with npm ci.
var jsDir = filepath.Join("testdata", "js")

type jsTx struct {
	Size       uint64                   `json:"size"`
	Nonce      string                   `json:"nonce"`
	RootBefore []*felt.Felt             `json:"rootBefore"`
	TxHash     *felt.Felt               `json:"txHash"`
	JSHash     *felt.Felt               `json:"jsHash"`
	Tx         rpc.BroadcastInvokeTxnV3 `json:"tx"`
	Receipt    struct {
		ExecutionStatus string `json:"execution_status"`
		FinalityStatus  string `json:"finality_status"`
		BlockNumber     uint64 `json:"block_number"`
		Events          int    `json:"events"`
	} `json:"receipt"`
	RootAfter []*felt.Felt `json:"rootAfter"`
}

type jsOutput struct {
	SpecVersion string     `json:"specVersion"`
	ChainID     *felt.Felt `json:"chainId"`
	BlockNumber uint64     `json:"blockNumber"`
	Batch       struct {
		ChainID     *felt.Felt `json:"chainId"`
		BlockNumber uint64     `json:"blockNumber"`
		Nonce       *felt.Felt `json:"nonce"`
	} `json:"batch"`
	Accounts []struct {
		Address *felt.Felt `json:"address"`
		Txs     []jsTx     `json:"txs"`
	} `json:"accounts"`
	FinalBlockNumber uint64 `json:"finalBlockNumber"`
}

type jsAccount struct {
	Address    string `json:"address"`
	PrivateKey string `json:"privateKey"`
	Anchor     string `json:"anchor"`
	acct       *account.Account
}

// starknet.js, a client this project did not write, reads the chain, calls
// root_at, and sends INVOKE v3 transactions that its Account signs; the node
// takes its by-name params, its batch and its signatures, whichever half of
// the curve order s falls in, and all three hashes of each transaction (the
// node's, starknet.js's and starknet.go's, which chain/anchor uses) agree.
func TestStarknetJS(t *testing.T) {
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "starknet", "package.json")); err != nil {
		if testing.Short() {
			t.Skip("starknet.js is not installed (-short)")
		}
		t.Fatalf("starknet.js is not installed: run `npm ci --prefix chain/starknettest/testdata/js` (.ci/run does): %v", err)
	}
	nodeJS, err := exec.LookPath("node")
	if err != nil {
		if testing.Short() {
			t.Skip("Node.js is not installed (-short)")
		}
		t.Fatalf("the starknet.js test needs Node.js (node) on PATH: %v", err)
	}
	ctx := context.Background()
	n := New(t, Config{})
	p := provider(t, n)
	codec, err := contract.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	// Fixed keys make the signatures, and so how many have a high s, the same
	// on every run: 16 of them, each high with probability one half.
	var accounts []jsAccount
	for i := range 4 {
		priv := curve.StarknetKeccak(fmt.Appendf(nil, "comet.starknettest.js.%d", i)).BigInt(new(big.Int))
		pubX, _ := curve.PrivateKeyToPoint(priv)
		pub := new(felt.Felt).SetBigInt(pubX)
		addr := n.AddAccount(pub)
		acct, err := account.NewAccount(p, addr, pub.String(), account.SetNewMemKeystore(pub.String(), priv), account.CairoV2)
		if err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, jsAccount{Address: addr.String(), PrivateKey: fmt.Sprintf("%#x", priv),
			Anchor: n.DeployAnchor(addr).String(), acct: acct})
	}
	abi, err := filepath.Abs(filepath.Join("..", "contract", "anchor_abi.json"))
	if err != nil {
		t.Fatal(err)
	}
	root := [32]byte{0: 0xc0, 1: 0xff, 2: 0xee, 31: 0x01}
	logID := contract.LogID("starknet.js test log")
	sizes := []uint64{1, 2, 5, 9}
	dir := t.TempDir()
	cfg, err := json.Marshal(map[string]any{"url": n.URL(), "abi": abi, "logId": logID.String(),
		"root": fmt.Sprintf("%#x", root), "sizes": sizes, "accounts": accounts})
	if err != nil {
		t.Fatal(err)
	}
	cfgPath, outPath := filepath.Join(dir, "config.json"), filepath.Join(dir, "out.json")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(runCtx, nodeJS, "anchor.mjs", cfgPath, outPath)
	cmd.Dir = jsDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("starknet.js script: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	var got jsOutput
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("script output: %v\n%s", err, raw)
	}

	if got.SpecVersion != SpecVersion || !got.ChainID.Equal(n.chain) || got.BlockNumber != 0 {
		t.Errorf("spec %q, chain %s, block %d; want %s, %s, 0", got.SpecVersion, got.ChainID, got.BlockNumber, SpecVersion, n.chain)
	}
	if !got.Batch.ChainID.Equal(n.chain) || got.Batch.BlockNumber != 0 || !got.Batch.Nonce.IsZero() {
		t.Errorf("batched reads %+v", got.Batch)
	}
	high, low := 0, 0
	halfOrder := new(big.Int).Rsh(fr.Modulus(), 1)
	rootLow, rootHigh := new(felt.Felt).SetBytes(root[16:]), new(felt.Felt).SetBytes(root[:16])
	for i, a := range got.Accounts {
		want := accounts[i]
		if a.Address.String() != want.Address || len(a.Txs) != len(sizes) {
			t.Fatalf("account %d: %s with %d transactions", i, a.Address, len(a.Txs))
		}
		for j, tx := range a.Txs {
			name := fmt.Sprintf("account %d size %d", i, tx.Size)
			goHash, err := want.acct.TransactionHashInvoke(&tx.Tx)
			if err != nil {
				t.Fatalf("%s: starknet.go hash: %v", name, err)
			}
			if !tx.TxHash.Equal(tx.JSHash) || !tx.TxHash.Equal(goHash) {
				t.Errorf("%s: hashes differ: node %s, starknet.js %s, starknet.go %s", name, tx.TxHash, tx.JSHash, goHash)
			}
			args, err := codec.AnchorCalldata(contract.Anchored{LogID: logID, Size: sizes[j], Root: root})
			if err != nil {
				t.Fatal(err)
			}
			goCalldata, err := want.acct.FmtCalldata([]rpc.FunctionCall{{ContractAddress: hexFelt(t, want.Anchor),
				EntryPointSelector: codec.Selector(contract.FnAnchor), Calldata: args}})
			if err != nil {
				t.Fatal(err)
			}
			if !sameFelts(tx.Tx.Calldata, goCalldata) {
				t.Errorf("%s: starknet.js calldata %v, chain/contract's %v", name, tx.Tx.Calldata, goCalldata)
			}
			if tx.Nonce != fmt.Sprint(j) && tx.Nonce != hexU64(uint64(j)) {
				t.Errorf("%s: nonce %s, want %d", name, tx.Nonce, j)
			}
			r := tx.Receipt
			if r.ExecutionStatus != "SUCCEEDED" || r.FinalityStatus != "ACCEPTED_ON_L2" || r.Events != 1 || r.BlockNumber == 0 {
				t.Errorf("%s: receipt %+v", name, r)
			}
			if !sameFelts(tx.RootBefore, []*felt.Felt{new(felt.Felt), new(felt.Felt)}) || !sameFelts(tx.RootAfter, []*felt.Felt{rootLow, rootHigh}) {
				t.Errorf("%s: root_at before %v, after %v", name, tx.RootBefore, tx.RootAfter)
			}
			if len(tx.Tx.Signature) != 2 {
				t.Fatalf("%s: signature %v", name, tx.Tx.Signature)
			}
			if tx.Tx.Signature[1].BigInt(new(big.Int)).Cmp(halfOrder) > 0 {
				high++
			} else {
				low++
			}
		}
	}
	if len(got.Accounts) != len(accounts) || got.FinalBlockNumber != n.BlockNumber() {
		t.Errorf("%d accounts, final block %d (node %d)", len(got.Accounts), got.FinalBlockNumber, n.BlockNumber())
	}
	t.Logf("starknet.js signatures the node accepted: %d with high s, %d with low s", high, low)
	if high == 0 || low == 0 {
		t.Errorf("signatures: %d high s, %d low s; the test must exercise both", high, low)
	}
}

func sameFelts(a, b []*felt.Felt) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}
