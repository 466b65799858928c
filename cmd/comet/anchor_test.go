package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/comet-attest/comet/registry/wire"

	"github.com/comet-attest/comet/chain/starknettest"
	"github.com/comet-attest/comet/internal/config"
	"github.com/comet-attest/comet/registry/registrytest"
)

// comet anchor status and comet verify --rpc-url against a registry (in-process, on
// loopback) that anchors on the loopback Starknet node.
func TestAnchorStatusAndVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("anchors on the loopback Starknet node and verifies (4 s)")
	}
	ctx := context.Background()
	fix := registrytest.Get(t)
	ch := starknettest.NewAnchored(t, starknettest.Config{})
	cfg := registrytest.Config(t)
	cfg.Anchor = config.Anchor{RPCURL: ch.Node.URL(), ChainID: ch.Node.ChainID(), Contract: ch.Contract, Account: ch.Account,
		KeyFile: ch.KeyFile, Interval: 200 * time.Millisecond, MaxEntries: 1}
	reg := registrytest.Serve(t, cfg, nil)
	url := reg.URL
	prov := reg.Provider(t, registrytest.Provider)
	sub, err := prov.Submit(ctx, wire.SubmitRequest{ModelName: "model.json", Model: fix.Model, Manifest: fix.Manifest, Proof: fix.Proof})
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	if sub, err = prov.Wait(wctx, sub.ID, 20*time.Millisecond, nil); err != nil || sub.Status != "logged" {
		t.Fatalf("submission %+v %v", sub, err)
	}
	dir := t.TempDir()
	modelFile := filepath.Join(dir, "model.json")
	if err := os.WriteFile(modelFile, fix.Model, 0o644); err != nil {
		t.Fatal(err)
	}
	// Each new entry is due at once (max_entries 1): wait until status shows the anchor.
	accepted := regexp.MustCompile(`(?m)^1\s+accepted\s+\d+\s+ACCEPTED_ON_L2\s+0x[0-9a-f]+\s+[0-9a-f]{64}`)
	var out string
	for deadline := time.Now().Add(60 * time.Second); ; { // generous: the anchor waits on a River periodic job, slow on a loaded 2-core machine
		code, o, errOut := runComet(t, "anchor", "status", "--registry", url)
		if code != 0 {
			t.Fatalf("anchor status: exit %d: %s", code, errOut)
		}
		if out = o; accepted.MatchString(out) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("anchor status:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}

	state := filepath.Join(dir, "state")
	code, out, errOut := runComet(t, "verify", modelFile, "--registry", url, "--state-dir", state, "--rpc-url", ch.Node.URL(), "--allow-single-party-setup")
	if code != 0 || !regexp.MustCompile(`(?m)^anchor\s+passed\s+contract holds the root at size 1 in tx 0x`).MatchString(out) {
		t.Fatalf("verify --rpc-url: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runComet(t, "verify", modelFile, "--registry", url, "--state-dir", state, "--rpc-url", ch.Node.URL(), "--allow-single-party-setup", "--require-anchor"); code != 0 {
		t.Fatalf("verify --require-anchor with the chain: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runComet(t, "verify", modelFile, "--registry", url, "--state-dir", state, "--rpc-url", "", "--allow-single-party-setup", "--require-anchor"); code != 2 || !strings.Contains(errOut, "--require-anchor needs --rpc-url") {
		t.Fatalf("verify --require-anchor without the chain: exit %d: %s", code, errOut)
	}
	code, out, errOut = runComet(t, "verify", modelFile, "--registry", url, "--state-dir", state, "--rpc-url", "", "--allow-single-party-setup")
	if code != 0 || !regexp.MustCompile(`(?m)^anchor\s+not checked\s+offline`).MatchString(out) {
		t.Fatalf("verify without --rpc-url: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "anchor                                 passed") {
		t.Errorf("anchor passed offline:\n%s", out)
	}
}
