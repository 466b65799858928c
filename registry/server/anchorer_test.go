package server_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/attesttest"
	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/tlog"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/attest/verify"
	"github.com/comet-attest/comet/chain/anchor"
	"github.com/comet-attest/comet/chain/starknettest"
	"github.com/comet-attest/comet/internal/config"
	"github.com/comet-attest/comet/internal/pgtest"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/keyset"
	"github.com/comet-attest/comet/registry/registrytest"
	"github.com/comet-attest/comet/registry/server"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
	"github.com/comet-attest/comet/registry/wire"
)

// anchoredRegistry is a registry serving on loopback with anchoring on, against the
// loopback Starknet node, configured as an operator would (anchor.* keys, key in a file).
type anchoredRegistry struct {
	s    *registrytest.Server
	node *starknettest.Node
	prov *client.Client
	anon *client.Client
	fix  *registrytest.Material
}

var quiet = slog.New(slog.DiscardHandler)

// startAnchoredRegistry starts it; before, when given, is called with the configuration.
func startAnchoredRegistry(t *testing.T, before ...func(config.Config) config.Config) *anchoredRegistry {
	t.Helper()
	ch := starknettest.NewAnchored(t, starknettest.Config{})
	node := ch.Node
	cfg := registrytest.Config(t)
	cfg.Anchor.RPCURL, cfg.Anchor.ChainID, cfg.Anchor.Contract = node.URL(), node.ChainID(), ch.Contract
	cfg.Anchor.Account, cfg.Anchor.KeyFile = ch.Account, ch.KeyFile
	cfg.Anchor.Interval, cfg.Anchor.MaxEntries = 300*time.Millisecond, 2
	for _, f := range before {
		cfg = f(cfg)
	}
	s := registrytest.Serve(t, cfg, nil)
	return &anchoredRegistry{s: s, node: node, prov: s.Provider(t, registrytest.Provider), anon: s.Anon, fix: registrytest.Get(t)}
}

// submit submits the i-th model variant and waits until it is logged.
func (r *anchoredRegistry) submit(t *testing.T, i int) *wire.Submission {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m, p, _, err := r.fix.Variant(i)
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.prov.Submit(ctx, wire.SubmitRequest{ModelName: "model.json", Model: m, Manifest: r.fix.Manifest, Proof: p})
	if err != nil {
		t.Fatal(err)
	}
	if s, err = r.prov.Wait(ctx, s.ID, 20*time.Millisecond, nil); err != nil || s.Status != "logged" {
		t.Fatalf("submission %+v %v", s, err)
	}
	return s
}

// awaitAnchor waits until the API lists an accepted anchor of at least size.
func (r *anchoredRegistry) awaitAnchor(t *testing.T, size int64) wire.Anchor {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second) // generous: the anchor waits on a River periodic job, slow on a loaded 2-core machine
	for {
		l, err := r.anon.Anchors(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range l.Items {
			if a.Status == "accepted" && a.TreeSize >= size {
				return a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no accepted anchor of size ≥ %d: %+v", size, l.Items)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *anchoredRegistry) verifier(t *testing.T, withChain bool) (*verify.Verifier, *anchor.Client) {
	t.Helper()
	ctx := context.Background()
	raw, err := r.anon.TrustRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root, err := trustroot.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if root.Starknet == nil || root.Starknet.Contract == "" {
		t.Fatalf("the trust root pins no anchor contract: %s", raw)
	}
	var opts []verify.Option
	var rd *anchor.Client
	if withChain {
		rd, err = anchor.New(ctx, anchor.Config{RPCURL: r.node.URL(), ContractAddress: root.Starknet.Contract, ChainID: root.Starknet.ChainID})
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, verify.WithAnchorReader(rd))
	}
	v, err := verify.NewVerifier(root, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v, rd
}

// A replica on PostgreSQL anchors though a `comet worker`, which does not anchor, started
// first and so leads River, which inserts periodic jobs in its leader only: the log owner
// schedules anchoring itself.
func TestReplicaAnchorsWhileAWorkerLeads(t *testing.T) {
	if testing.Short() {
		t.Skip("a worker and a replica on PostgreSQL, anchoring on the loopback node")
	}
	ctx := context.Background()
	r := startAnchoredRegistry(t, func(cfg config.Config) config.Config {
		cfg.Database.DSN, cfg.Database.Schema = pgtest.DSN(), pgtest.Schema(t)
		w, err := server.Open(ctx, cfg, server.Options{Logger: quiet, Worker: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close(ctx) })
		return cfg
	})
	r.anchorsTwice(t)
}

// Anchoring goes on after the first anchor: each periodic job that finds nothing due, or
// anchors, completes, and a completed job must not keep the next from being queued (River's
// default unique states counted completed jobs, so a registry anchored once and then not
// until its job cleaner ran a day later).
func TestRegistryAnchorsAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("anchors twice on the loopback Starknet node (4 s)")
	}
	startAnchoredRegistry(t).anchorsTwice(t)
}

// anchorsTwice logs two models and waits for their anchor, then two more and another anchor.
func (r *anchoredRegistry) anchorsTwice(t *testing.T) {
	t.Helper()
	r.submit(t, 1)
	r.submit(t, 2)
	first := r.awaitAnchor(t, 2)
	r.submit(t, 3)
	r.submit(t, 4)
	if second := r.awaitAnchor(t, first.TreeSize+2); second.TxHash == first.TxHash {
		t.Fatalf("second anchor %+v is the first", second)
	}
}

// The registry end to end with anchoring on: submissions are logged, the job anchors the
// checkpoint on the node, the API lists it, the bundle carries the receipt, and a client
// with the RPC URL checks it against the contract (offline it is "not checked"). Then the
// registry's log is swapped for a fork after anchoring, and the client catches it.
func TestRegistryAnchorsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("anchors on the loopback Starknet node end to end (5 s)")
	}
	ctx := context.Background()
	r := startAnchoredRegistry(t)
	s1 := r.submit(t, 1)
	r.submit(t, 2)
	start := time.Now()
	a := r.awaitAnchor(t, 2)
	t.Logf("anchored size %d in tx %s, block %d, %s (%s after the second entry was logged)", a.TreeSize, a.TxHash, *a.BlockNumber, a.Finality, time.Since(start))
	if a.TxHash == "" || a.BlockNumber == nil || a.Finality != "ACCEPTED_ON_L2" {
		t.Fatalf("anchor %+v", a)
	}

	l, err := r.anon.Lookup(ctx, s1.ModelSHA256)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := r.anon.Bundle(ctx, l.Attestation.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := bundle.ParseAnchorReceipt(b.Anchor)
	if err != nil {
		t.Fatalf("bundle anchor %s: %v", b.Anchor, err)
	}
	if rc.TxHash != a.TxHash || rc.Network != r.node.ChainID() || rc.TreeSize < 2 || rc.BlockNumber == nil {
		t.Errorf("receipt %+v, anchor %+v", rc, a)
	}
	policy, _ := verify.NewPolicy(verify.WithModelSHA256(s1.ModelSHA256), verify.AllowSingleParty())
	v, rd := r.verifier(t, true)
	calls := rd.RPCCalls()
	rep, err := v.Verify(ctx, b, policy)
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	t.Logf("verification: %d RPC calls to connect, %d to check the anchor", calls, rd.RPCCalls()-calls)
	if line, _ := rep.Line(verify.CheckAnchor); line.Status != verify.Passed {
		t.Fatalf("anchor line %+v", line)
	}
	offline, _ := r.verifier(t, false)
	rep, _ = offline.Verify(ctx, b, policy)
	if line, _ := rep.Line(verify.CheckAnchor); line.Status != verify.NotChecked || !strings.Contains(line.Detail, "offline") {
		t.Errorf("offline anchor line %+v", line)
	}

	t.Run("log swapped after anchoring", func(t *testing.T) {
		// The registry keeps its database (and the anchor record) but serves a forked log,
		// signed with the same log key, in which entry 1 differs.
		fork, forkCP := r.forkLog(t, rc.TreeSize)
		svc := r.serviceOn(t, fork)
		fb, err := svc.Bundle(ctx, l.Attestation.ID)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := v.Verify(ctx, fb, policy)
		if !errors.Is(err, verify.ErrFailed) {
			t.Fatalf("the forked log verified:\n%s", rep)
		}
		if line, _ := rep.Line(verify.CheckAnchor); line.Status != verify.Failed || !strings.Contains(line.Detail, "not consistent with the anchored checkpoint") {
			t.Errorf("anchor line %+v\n%s", line, rep)
		}
		if line, _ := rep.Line(verify.CheckInclusion); line.Status != verify.Passed {
			t.Errorf("inclusion in the fork should hold (entry 0 is unchanged): %+v", line)
		}
		if len(rep.Evidence) == 0 || rep.Evidence[0].Smaller == nil || rep.Evidence[0].Larger == nil {
			t.Errorf("no split-view evidence: %+v", rep.Evidence)
		}

		// The registry also rewrites its anchor record to the fork's checkpoint at the anchored
		// size: now every proof in the bundle holds, and only the chain tells the truth.
		all, _ := r.s.Store.Anchors(ctx, 0)
		var rec store.Anchor
		for _, x := range all {
			if uint64(x.TreeSize) == rc.TreeSize {
				rec = x
			}
		}
		rec.Root, rec.Checkpoint = fmt.Sprintf("%x", forkCP.hash), string(forkCP.raw)
		if err := r.s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.SaveAnchor(ctx, &rec) }); err != nil {
			t.Fatal(err)
		}
		if fb, err = svc.Bundle(ctx, l.Attestation.ID); err != nil {
			t.Fatal(err)
		}
		rep, err = v.Verify(ctx, fb, policy)
		if !errors.Is(err, verify.ErrAnchorMismatch) {
			t.Fatalf("the rewritten anchor verified (%v):\n%s", err, rep)
		}
		if line, _ := rep.Line(verify.CheckConsistency); line.Status != verify.Passed {
			t.Errorf("the fork is self-consistent: %+v", line)
		}
		ev := rep.AnchorEvidence
		if len(ev) != 1 || string(ev[0].Checkpoint) != string(forkCP.raw) || ev[0].Size != rc.TreeSize || fmt.Sprintf("%x", ev[0].Anchored) != rc.Root {
			t.Errorf("anchor evidence %+v", ev)
		}
		// Offline the same bundle is not passed, only not checked.
		rep, _ = offline.Verify(ctx, fb, policy)
		if line, _ := rep.Line(verify.CheckAnchor); line.Status != verify.NotChecked {
			t.Errorf("offline %+v", line)
		}
	})
	if v := r.node.Violations(); len(v) > 0 {
		t.Errorf("spec violations: %v", v)
	}
}

type signedCP struct {
	raw  []byte
	hash []byte
}

// forkLog builds, with the registry's own log key, a log that agrees with the registry's on
// entry 0 and differs on entry 1, with one entry more than the anchored size. It returns
// the fork and its checkpoint at the anchored size.
func (r *anchoredRegistry) forkLog(t *testing.T, anchored uint64) (*tlog.Log, signedCP) {
	t.Helper()
	ctx := context.Background()
	k, err := keys.LoadFile(r.s.Config.Path(filepath.Join("keys", "log.key")))
	if err != nil {
		t.Fatal(err)
	}
	l, _ := attesttest.Log(t, filepath.Join(t.TempDir(), "fork"), k, tlog.Options{})
	first, err := r.s.Log.Entry(ctx, 0, anchored)
	if err != nil {
		t.Fatal(err)
	}
	var cp signedCP
	for i := range anchored + 1 {
		e := first
		if i > 0 {
			e = fmt.Appendf(nil, "forged entry %d", i)
		}
		idx, err := l.Append(ctx, e)
		if err != nil || idx != i {
			t.Fatalf("fork append %d: %d %v", i, idx, err)
		}
		raw, c, err := l.AwaitCheckpoint(ctx, idx)
		if err != nil {
			t.Fatal(err)
		}
		if c.Size == anchored {
			cp = signedCP{raw: raw, hash: c.Hash}
		}
	}
	if cp.raw == nil {
		t.Fatal("no fork checkpoint at the anchored size")
	}
	return l, cp
}

// serviceOn is the registry's service over another log: what a registry that swapped its
// log would serve.
func (r *anchoredRegistry) serviceOn(t *testing.T, l *tlog.Log) *service.Service {
	t.Helper()
	svc, err := service.New(service.Config{Store: r.s.Store, Log: l, Signer: r.s.Service.Signer(), Proofs: keyset.NewChecker(r.s.Keys),
		Jobs: r.s.Queue, Logger: quiet, Chain: service.ChainInfo{Network: r.s.Config.Anchor.ChainID, Contract: r.s.Config.Anchor.Contract},
		MaxRelativeGradient: r.s.Config.Registry.MaxRelativeGradient})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}
