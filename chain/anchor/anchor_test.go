package anchor_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/NethermindEth/juno/core/felt"
	"github.com/NethermindEth/starknet.go/curve"

	"github.com/comet-attest/comet/chain/anchor"
	"github.com/comet-attest/comet/chain/contract"
	"github.com/comet-attest/comet/chain/starknettest"
)

const origin = "comet.example/log"

type env struct {
	node     *starknettest.Node
	cfg      anchor.Config
	account  *felt.Felt
	contract *felt.Felt
}

// newKey makes a Stark keypair with starknet.go's curve helpers and writes
// the private key where Config.PrivateKeyFile can read it.
func newKey(t testing.TB) (pub *felt.Felt, keyFile string) {
	t.Helper()
	priv, pubX, _, err := curve.GetRandomKeys()
	if err != nil {
		t.Fatal(err)
	}
	keyFile = filepath.Join(t.TempDir(), "stark.key")
	if err := os.WriteFile(keyFile, []byte(new(felt.Felt).SetBigInt(priv).String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return new(felt.Felt).SetBigInt(pubX), keyFile
}

func setup(t testing.TB, nc starknettest.Config) *env {
	t.Helper()
	node := starknettest.New(t, nc)
	pub, keyFile := newKey(t)
	acct := node.AddAccount(pub)
	addr := node.DeployAnchor(acct)
	return &env{node: node, account: acct, contract: addr, cfg: anchor.Config{
		RPCURL: node.URL(), AccountAddress: acct.String(), PrivateKeyFile: keyFile,
		ContractAddress: addr.String(), ChainID: node.ChainID(),
		PollInterval: 2 * time.Millisecond, CallTimeout: 2 * time.Second, DroppedAfter: 3,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}}
}

func (e *env) client(t testing.TB) *anchor.Client {
	t.Helper()
	c, err := anchor.New(context.Background(), e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func root(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func TestAnchorAndReadBack(t *testing.T) {
	ctx := context.Background()
	e := setup(t, starknettest.Config{})
	c := e.client(t)

	before := c.RPCCalls()
	start := time.Now()
	r, err := c.Anchor(ctx, origin, 10, root("a"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("anchor latency %s, %d RPC calls, fee %s fri, calldata %d felts", time.Since(start), c.RPCCalls()-before, r.Fee, r.CalldataFelts)
	// nonce, tip (latest block), estimate, add, receipt, transaction
	if got := c.RPCCalls() - before; got != 6 {
		t.Errorf("RPC calls per anchor = %d, want 6", got)
	}
	if !r.Accepted() || r.ExecutionStatus != "SUCCEEDED" || r.BlockNumber != 1 || r.BlockHash == "" ||
		r.Fee == nil || r.Fee.Sign() <= 0 || r.FeeUnit != "FRI" {
		t.Errorf("receipt %+v", r)
	}
	if r.CalldataFelts != 8 || r.Size != 10 || r.Root != root("a") || r.LogID != contract.LogID(origin).String() {
		t.Errorf("receipt call %+v", r)
	}
	if _, err := c.Anchor(ctx, origin, 25, root("b")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Anchor(ctx, "other.example/log", 3, root("c")); err != nil {
		t.Fatal(err)
	}

	for size, want := range map[uint64][32]byte{10: root("a"), 25: root("b")} {
		got, err := c.RootAt(ctx, origin, size)
		if err != nil || got != want {
			t.Errorf("RootAt(%d) = %x, %v", size, got, err)
		}
	}
	if _, err := c.RootAt(ctx, origin, 11); !errors.Is(err, anchor.ErrNotFound) {
		t.Errorf("RootAt(unanchored) err %v", err)
	}
	if latest, err := c.Latest(ctx, origin); err != nil || latest != 25 {
		t.Errorf("Latest = %d, %v", latest, err)
	}
	if latest, err := c.Latest(ctx, "never.example/log"); err != nil || latest != 0 {
		t.Errorf("Latest(unknown) = %d, %v", latest, err)
	}

	evs, err := c.Events(ctx, origin, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Size != 10 || evs[0].Root != root("a") || evs[0].TxHash != r.TxHash ||
		evs[0].BlockNumber != r.BlockNumber || evs[0].BlockHash != r.BlockHash || evs[1].Size != 25 {
		t.Errorf("events %+v", evs)
	}
	if evs, err := c.Events(ctx, origin, 2); err != nil || len(evs) != 1 {
		t.Errorf("events from block 2: %+v, %v", evs, err)
	}
	if v := e.node.Violations(); len(v) != 0 {
		t.Errorf("spec violations: %v", v)
	}
}

func TestEventsPaginate(t *testing.T) {
	ctx := context.Background()
	e := setup(t, starknettest.Config{})
	c := e.client(t)
	const n = 105 // more than one page of 100
	for i := uint64(1); i <= n; i++ {
		p, err := c.Send(ctx, origin, i, root(string(rune(i))))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.WaitReceipt(ctx, p.TxHash); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := c.Events(ctx, origin, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != n || evs[n-1].Size != n {
		t.Fatalf("%d events", len(evs))
	}
	if got := e.node.Calls("starknet_getEvents"); got != 2 {
		t.Errorf("getEvents calls = %d, want 2 pages", got)
	}
}

func TestCheckRootDetectsOtherHistory(t *testing.T) {
	ctx := context.Background()
	e := setup(t, starknettest.Config{})
	c := e.client(t)
	honest := treeRoot([]string{"a", "b", "c", "d", "e"})
	forked := treeRoot([]string{"a", "b", "X", "d", "e"}) // entry 2 rewritten
	if _, err := c.Anchor(ctx, origin, 5, honest); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckRoot(ctx, origin, 5, honest); err != nil {
		t.Errorf("honest checkpoint: %v", err)
	}
	if err := c.CheckRoot(ctx, origin, 5, forked); !errors.Is(err, anchor.ErrMismatch) {
		t.Errorf("forked checkpoint: %v, want ErrMismatch", err)
	}
	if err := c.CheckRoot(ctx, origin, 6, honest); !errors.Is(err, anchor.ErrNotFound) {
		t.Errorf("unanchored size: %v, want ErrNotFound", err)
	}
	// The anchored size can never be re-anchored with the forked root.
	if _, err := c.Anchor(ctx, origin, 5, forked); !errors.Is(err, anchor.ErrNotGrowing) {
		t.Errorf("re-anchor: %v, want ErrNotGrowing", err)
	}
}

func TestRejections(t *testing.T) {
	ctx := context.Background()
	e := setup(t, starknettest.Config{})
	c := e.client(t)
	if _, err := c.Anchor(ctx, origin, 10, root("a")); err != nil {
		t.Fatal(err)
	}
	for _, size := range []uint64{10, 9} {
		_, err := c.Anchor(ctx, origin, size, root("z"))
		if !errors.Is(err, anchor.ErrNotGrowing) || !errors.Is(err, anchor.ErrReverted) || anchor.Retryable(err) {
			t.Errorf("size %d: %v, want ErrNotGrowing, not retryable", size, err)
		}
	}

	// An anchor contract this account does not own.
	otherOwner := e.node.AddAccount(new(felt.Felt).SetUint64(12345))
	cfg := e.cfg
	cfg.ContractAddress = e.node.DeployAnchor(otherOwner).String()
	notOwner, err := anchor.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := notOwner.Anchor(ctx, origin, 11, root("a")); !errors.Is(err, anchor.ErrNotOwner) {
		t.Errorf("not owner: %v", err)
	}

	// The right address with the wrong key: the signature check fails.
	_, otherKey := newKey(t)
	cfg = e.cfg
	cfg.PrivateKeyFile = otherKey
	wrongKey, err := anchor.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrongKey.Anchor(ctx, origin, 11, root("a")); !errors.Is(err, anchor.ErrRejected) || anchor.Retryable(err) {
		t.Errorf("wrong key: %v, want ErrRejected", err)
	}
	if latest, _ := c.Latest(ctx, origin); latest != 10 {
		t.Errorf("latest %d after rejections", latest)
	}
}

func TestConfig(t *testing.T) {
	ctx := context.Background()
	e := setup(t, starknettest.Config{})
	key, err := os.ReadFile(e.cfg.PrivateKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("COMET_TEST_STARK_KEY", string(key))
	tests := []struct {
		name   string
		edit   func(*anchor.Config)
		wantOK bool
	}{
		{"key file", func(*anchor.Config) {}, true},
		{"key from env", func(c *anchor.Config) { c.PrivateKeyFile, c.PrivateKeyEnv = "", "COMET_TEST_STARK_KEY" }, true},
		{"both key sources", func(c *anchor.Config) { c.PrivateKeyEnv = "COMET_TEST_STARK_KEY" }, false},
		{"no key", func(c *anchor.Config) { c.PrivateKeyFile = "" }, false},
		{"env unset", func(c *anchor.Config) { c.PrivateKeyFile, c.PrivateKeyEnv = "", "COMET_TEST_UNSET_VAR" }, false},
		{"missing key file", func(c *anchor.Config) { c.PrivateKeyFile = filepath.Join(t.TempDir(), "none") }, false},
		{"bad address", func(c *anchor.Config) { c.AccountAddress = "0xzz" }, false},
		{"wrong chain", func(c *anchor.Config) { c.ChainID = "SN_MAIN" }, false},
		{"no contract there", func(c *anchor.Config) { c.ContractAddress = "0x1234" }, false},
		{"no url", func(c *anchor.Config) { c.RPCURL = "" }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e.cfg
			tc.edit(&cfg)
			_, err := anchor.New(ctx, cfg)
			if tc.wantOK != (err == nil) {
				t.Fatalf("err = %v", err)
			}
			if err != nil && (!errors.Is(err, anchor.ErrConfig) || anchor.Retryable(err)) {
				t.Errorf("err %v is not a permanent ErrConfig", err)
			}
		})
	}
}

// treeRoot is the RFC 6962 Merkle root of the leaves, as a checkpoint holds it.
func treeRoot(leaves []string) [32]byte {
	hashes := make([][32]byte, len(leaves))
	for i, l := range leaves {
		hashes[i] = sha256.Sum256(append([]byte{0}, l...))
	}
	var rec func(h [][32]byte) [32]byte
	rec = func(h [][32]byte) [32]byte {
		if len(h) == 1 {
			return h[0]
		}
		k := 1
		for k*2 < len(h) {
			k *= 2
		}
		l, r := rec(h[:k]), rec(h[k:])
		return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
	}
	return rec(hashes)
}

// A client without an account reads what the owner anchored and refuses to anchor.
func TestReadOnlyClient(t *testing.T) {
	ctx := context.Background()
	e := setup(t, starknettest.Config{})
	if _, err := e.client(t).Anchor(ctx, "log.example", 7, root("seven")); err != nil {
		t.Fatal(err)
	}
	cfg := e.cfg
	cfg.AccountAddress, cfg.PrivateKeyFile = "", ""
	reader, err := anchor.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := reader.RootAt(ctx, "log.example", 7); err != nil || got != root("seven") {
		t.Fatalf("RootAt = %x, %v", got, err)
	}
	if _, err := reader.Prepare(ctx, "log.example", 8, root("eight")); !errors.Is(err, anchor.ErrConfig) {
		t.Fatalf("a read-only client prepared a transaction: %v", err)
	}
	if v := e.node.Violations(); len(v) != 0 {
		t.Errorf("spec violations: %v", v)
	}
}
