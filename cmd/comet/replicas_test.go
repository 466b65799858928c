package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/attest/verify"
	"github.com/comet-attest/comet/internal/pgtest"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/wire"
	"github.com/jackc/pgx/v5"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api"
	tclient "github.com/transparency-dev/tessera/client"
	"github.com/transparency-dev/tessera/fsck"
)

// ownerLine is what a replica logs once it holds the log-owner lease and appends.
const ownerLine = "log owner: appending"

// Three comet serve replicas and a comet worker on one PostgreSQL schema and one log
// directory, submissions streaming through all three. The lease holder is SIGKILLed twice
// while others' signed attestations wait for it to log them; each time another replica takes the lease within 10 s and logs what the
// dead one signed but did not log, and never do two live replicas own the log. In the end
// every acknowledged submission is logged exactly once (no gap, no duplicate), tessera's fsck
// accepts the log as a standby serves it, and every replica, standby or holder, serves
// bundles that verify.
func TestReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("three comet serve replicas and a worker on PostgreSQL, the log owner SIGKILLed twice (about a minute)")
	}
	// One provider key streams through every replica, and checkAllLogged polls one replica
	// for all of it: above the default rate limit of one key, which each replica keeps alone.
	t.Setenv("COMET_SERVER_RATE_PER_SECOND", "1000")
	t.Setenv("COMET_SERVER_RATE_BURST", "1000")
	c := startPGCluster(t) // its comet serve started first and alone: it holds the lease
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	unloggedQ := "SELECT count(*) FROM " + pgx.Identifier{c.schema, "attestations"}.Sanitize() + " WHERE log_index IS NULL"

	var (
		mu       sync.Mutex
		reps     = []*registryProcess{c.reg, startRegistry(t, c.bin, c.config), startRegistry(t, c.bin, c.config)}
		provs    = make([]*client.Client, len(reps))
		accepted = map[string]bool{}
		next     int
	)
	hc := &http.Client{Timeout: 10 * time.Second}
	for i, r := range reps {
		provs[i], _ = client.New(r.url, c.provKey, hc)
	}
	// owners lists the live replicas that say they own the log: never more than one.
	owners := func() []int {
		mu.Lock()
		defer mu.Unlock()
		var o []int
		for i, r := range reps {
			if strings.Contains(r.log(), ownerLine) {
				o = append(o, i)
			}
		}
		if len(o) > 1 {
			t.Errorf("replicas %v all own the log", o)
		}
		return o
	}
	for len(owners()) == 0 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond) // the first holder's grace (server.takeoverGrace)
	}
	if o := owners(); len(o) != 1 || o[0] != 0 {
		t.Fatalf("the first replica should own the log, owners %v:\n%s", o, c.reg.log())
	}

	// Three clients stream, each through a replica of its own while three are alive.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for slot := range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				i := next
				next++
				prov := provs[slot%len(provs)]
				mu.Unlock()
				m, p, _, err := c.fix.Variant(3000 + i)
				if err != nil {
					t.Error(err)
					return
				}
				s, err := prov.Submit(ctx, wire.SubmitRequest{ModelName: "model.json", Model: m, Manifest: c.fix.Manifest, Proof: p})
				if err != nil {
					time.Sleep(20 * time.Millisecond) // its replica was just killed: not acknowledged
					continue
				}
				mu.Lock()
				accepted[s.ID] = true
				mu.Unlock()
			}
		})
	}
	acceptedN := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(accepted)
	}
	waitAccepted := func(n int) {
		for acceptedN() < n {
			if ctx.Err() != nil {
				t.Fatalf("%d submissions acknowledged, waiting for %d", acceptedN(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	var takeovers []time.Duration
	for round := range 2 {
		waitAccepted(acceptedN() + 30)
		h := owners()[0]
		holder := reps[h]
		// Kill it while it has work to log: attestations that the others signed.
		var unlogged int
		for unlogged == 0 {
			if err := conn.QueryRow(ctx, unloggedQ).Scan(&unlogged); err != nil {
				t.Fatal(err)
			}
		}
		if err := holder.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-holder.done
		killed := time.Now()
		mu.Lock()
		reps = append(reps[:h:h], reps[h+1:]...)
		provs = append(provs[:h:h], provs[h+1:]...)
		mu.Unlock()
		for len(owners()) == 0 {
			if time.Since(killed) > 10*time.Second {
				t.Fatalf("round %d: no replica took the log-owner lease within 10 s of the holder's death", round)
			}
			time.Sleep(5 * time.Millisecond)
		}
		took := time.Since(killed)
		takeovers = append(takeovers, took)
		t.Logf("round %d: holder SIGKILLed with %d signed attestations to log, %d acknowledged so far; another replica took over in %s",
			round, unlogged, acceptedN(), took.Round(time.Millisecond))
		// Back to three replicas: the restarted one waits for the lease.
		r := startRegistry(t, c.bin, c.config)
		p, _ := client.New(r.url, c.provKey, hc)
		mu.Lock()
		reps, provs = append(reps, r), append(provs, p)
		mu.Unlock()
	}
	waitAccepted(acceptedN() + 20)
	close(stop)
	wg.Wait()
	t.Logf("takeovers after SIGKILL: %v", takeovers)

	// Read back through a standby, which serves the log from the shared directory.
	o := owners()
	standby := reps[(o[0]+1)%len(reps)]
	admin, _ := client.New(standby.url, c.adminKey, nil)
	prov, _ := client.New(standby.url, c.provKey, nil)
	checkAllLogged(t, standby, admin, prov, accepted)

	raw, err := prov.TrustRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root, err := trustroot.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, err := fnote.NewVerifier(root.LogKey.String())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(standby.url + "/v1/log/")
	f, err := tclient.NewHTTPFetcher(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := fsck.New(root.LogOrigin, v, f, leafHashes, fsck.Opts{N: 1}).Check(ctx); err != nil {
		t.Fatalf("tessera fsck of the log after two takeovers: %v", err)
	}

	verifier, err := verify.NewVerifier(root)
	if err != nil {
		t.Fatal(err)
	}
	var checked int
	for id := range accepted {
		if checked == 2*len(reps) {
			break
		}
		r := reps[checked%len(reps)]
		cl, _ := client.New(r.url, c.provKey, nil)
		s, err := cl.Submission(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := cl.Bundle(ctx, s.AttestationID)
		if err != nil {
			t.Fatalf("bundle of %s from %s: %v", s.AttestationID, r.url, err)
		}
		b, err := bundle.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		p, err := verify.NewPolicy(verify.WithModelSHA256(s.ModelSHA256), verify.WithProvider("acme-legal"), verify.AllowSingleParty())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := verifier.Verify(ctx, b, p); err != nil {
			t.Errorf("bundle of %s from %s: %v", s.AttestationID, r.url, err)
		}
		checked++
	}
	if strings.Contains(c.worker.log(), "log opened") {
		t.Errorf("comet worker opened the log:\n%s", c.worker.log())
	}
	for _, r := range reps {
		r.stop(t)
	}
	c.worker.stop(t)
}

// leafHashes is tessera cmd/fsck's leaf hasher (in its main package, not importable): an
// entry bundle's entries as RFC 6962 leaf hashes.
func leafHashes(b []byte) ([][]byte, error) {
	var eb api.EntryBundle
	if err := eb.UnmarshalText(b); err != nil {
		return nil, err
	}
	out := make([][]byte, len(eb.Entries))
	for i, e := range eb.Entries {
		out[i] = rfc6962.DefaultHasher.HashLeaf(e)
	}
	return out, nil
}
