// Package anchoringtest sets up, for tests, a loopback Starknet node (chain/starknettest)
// with an owner account whose private key is in a file and a deployed anchor contract: what
// an operator's anchor.* configuration names. It is test support only.
package anchoringtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/NethermindEth/juno/core/felt"
	"github.com/NethermindEth/starknet.go/curve"

	"github.com/comet-attest/comet/chain/starknettest"
)

// Chain is a node with an anchoring account and contract.
type Chain struct {
	Node     *starknettest.Node
	Account  string // owner account address, hex felt
	Contract string // anchor contract address, hex felt
	KeyFile  string // the account's private key, hex, mode 0600
}

// New starts the node (stopped when the test ends), registers a fresh account and deploys
// an anchor contract it owns.
func New(tb testing.TB, cfg starknettest.Config) *Chain {
	tb.Helper()
	node := starknettest.New(tb, cfg)
	priv, pubX, _, err := curve.GetRandomKeys()
	if err != nil {
		tb.Fatal(err)
	}
	keyFile := filepath.Join(tb.TempDir(), "stark.key")
	if err := os.WriteFile(keyFile, []byte(new(felt.Felt).SetBigInt(priv).String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	acct := node.AddAccount(new(felt.Felt).SetBigInt(pubX))
	return &Chain{Node: node, Account: acct.String(), Contract: node.DeployAnchor(acct).String(), KeyFile: keyFile}
}
