package starknettest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/NethermindEth/juno/core/felt"
	"github.com/NethermindEth/starknet.go/curve"
)

// Anchored is a node with an owner account, whose private key is in a file, and an anchor
// contract it owns: what an operator's anchoring configuration names.
type Anchored struct {
	Node     *Node
	Account  string // owner account address, hex felt
	Contract string // anchor contract address, hex felt
	KeyFile  string // the account's private key, hex, mode 0600
}

// NewAnchored starts a node (stopped when the test ends), registers a fresh account and
// deploys an anchor contract it owns. The key goes to a file, not into the result alone,
// because that is how a registry reads it (anchor.Config.PrivateKeyFile).
func NewAnchored(tb testing.TB, cfg Config) *Anchored {
	tb.Helper()
	node := New(tb, cfg)
	priv, pubX, _, err := curve.GetRandomKeys()
	if err != nil {
		tb.Fatal(err)
	}
	keyFile := filepath.Join(tb.TempDir(), "stark.key")
	if err := os.WriteFile(keyFile, []byte(new(felt.Felt).SetBigInt(priv).String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	acct := node.AddAccount(new(felt.Felt).SetBigInt(pubX))
	return &Anchored{Node: node, Account: acct.String(), Contract: node.DeployAnchor(acct).String(), KeyFile: keyFile}
}
