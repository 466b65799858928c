package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/comet-attest/comet/registry/wire"

	"github.com/comet-attest/comet/internal/pgtest"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/registrytest"
	"github.com/jackc/pgx/v5"
)

// Beyond one machine: the registry on PostgreSQL with a separate `comet worker` process
// pulling the same River queue. The worker verifies and signs, comet serve alone appends to
// the log; every submission completes, each is logged once, and the worker did part of the
// work.
func TestWorkerOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("comet serve and comet worker as processes on PostgreSQL")
	}
	c := startPGCluster(t)
	reg, worker, prov, fix, schema := c.reg, c.worker, c.prov, c.fix, c.schema
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const total = 24
	ids := make([]string, total)
	for i := range ids {
		m, p, _, err := fix.Variant(1000 + i)
		if err != nil {
			t.Fatal(err)
		}
		s, err := prov.Submit(ctx, wire.SubmitRequest{ModelName: "model.json", Model: m, Manifest: fix.Manifest, Proof: p})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = s.ID
	}
	seen := map[int64]bool{}
	for _, id := range ids {
		s, err := prov.Wait(ctx, id, 20*time.Millisecond, nil)
		if err != nil {
			t.Fatalf("submission %s: %v\nserve:\n%s\nworker:\n%s", id, err, reg.log(), worker.log())
		}
		if s.Status != "logged" || s.LogIndex == nil || seen[*s.LogIndex] {
			t.Fatalf("submission %s ended %s at %v (%s: %s)", id, s.Status, s.LogIndex, s.FailedCheck, s.Message)
		}
		seen[*s.LogIndex] = true
	}
	for i := range int64(total) {
		if !seen[i] {
			t.Errorf("log index %d holds no submission: the log has a gap or a duplicate", i)
		}
	}
	// River records which client attempted each job: the worker must have taken a share.
	workerID := riverClientID(t, worker)
	conn, err := pgx.Connect(ctx, pgtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var byWorker int
	q := "SELECT count(*) FROM " + pgx.Identifier{schema, "river_job"}.Sanitize() + " WHERE $1 = ANY(attempted_by)"
	if err := conn.QueryRow(ctx, q, workerID).Scan(&byWorker); err != nil {
		t.Fatal(err)
	}
	if byWorker == 0 {
		t.Errorf("comet worker (%s) worked none of the %d jobs", workerID, total)
	}
	t.Logf("comet worker worked %d of %d submission jobs", byWorker, total)
	// The log has one writer: two tessera appenders on one directory can deadlock.
	if strings.Contains(worker.log(), "log opened") {
		t.Errorf("comet worker opened the log:\n%s", worker.log())
	}
	worker.stop(t)
	reg.stop(t)
}

// pgCluster is comet serve and one comet worker as processes on one PostgreSQL schema,
// with an approved provider.
type pgCluster struct {
	bin, config, schema string
	fix                 *registrytest.Material
	reg, worker         *registryProcess
	admin, prov         *client.Client
	adminKey, provKey   string // for clients of other processes
}

func startPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	c := &pgCluster{bin: buildComet(t), fix: registrytest.Get(t), schema: pgtest.Schema(t)}
	dir := t.TempDir()
	c.config = filepath.Join(dir, "registry.yaml")
	cfg := fmt.Sprintf(`data_dir: %s
database:
  dsn: %s
  schema: %s
registry:
  circuit_keys_dir: %s
log:
  checkpoint_interval: 100ms
jobs:
  poll_interval: 20ms
`, filepath.Join(dir, "registry"), pgtest.DSN(), c.schema, c.fix.KeysDir)
	if err := os.WriteFile(c.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	c.adminKey = strings.TrimSpace(mustRun(t, c.bin, nil, "admin", "init", "--create", "--config", c.config))
	c.reg = startRegistry(t, c.bin, c.config)
	c.worker = startWorker(t, c.bin, c.config)
	ctx := context.Background()
	c.admin, _ = client.New(c.reg.url, c.adminKey, nil)
	anon, _ := client.New(c.reg.url, "", nil)
	r, err := anon.Register(ctx, wire.RegisterRequest{ID: "acme-legal", Contact: "ops@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.admin.ProviderAction(ctx, "acme-legal", "approve", ""); err != nil {
		t.Fatal(err)
	}
	c.provKey = r.Key
	c.prov, _ = client.New(c.reg.url, r.Key, nil)
	return c
}

// riverClientID is the id River gave a process's client, which river_job.attempted_by
// records.
func riverClientID(t *testing.T, p *registryProcess) string {
	t.Helper()
	m := regexp.MustCompile(`River client started" client_id=(\S+)`).FindStringSubmatch(p.log())
	if m == nil {
		t.Fatalf("no River client id in the log:\n%s", p.log())
	}
	return m[1]
}

// startWorker starts `comet worker` and waits until it says it works jobs.
func startWorker(t *testing.T, bin, config string) *registryProcess {
	t.Helper()
	return startComet(t, bin, regexp.MustCompile(`working jobs`), "worker", "--config", config)
}

// A comet worker SIGKILLed while it verifies: River would leave its jobs "running" until
// jobs.rescue_after (10 minutes), but their submissions' leases stop being renewed (or, killed
// before the first heartbeat, were never taken) and a live process requeues them after
// jobs.stale_after (15 s). Every acknowledged submission is
// logged exactly once, the killed worker's within a minute of the kill.
func TestWorkerKilledMidJob(t *testing.T) {
	if testing.Short() {
		t.Skip("SIGKILLs comet worker mid-job on PostgreSQL (about 30 s)")
	}
	c := startPGCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// The verification jobs a client is working now: the last to attempt them.
	running := "SELECT args->>'submission_id' FROM " + pgx.Identifier{c.schema, "river_job"}.Sanitize() +
		" WHERE state = 'running' AND kind = 'verify_submission' AND attempted_by[array_upper(attempted_by, 1)] = $1"
	runningOn := func(clientID string) []string {
		rows, err := conn.Query(ctx, running, clientID)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}

	var (
		mu       sync.Mutex
		accepted = map[string]bool{}
		next     = 0
	)
	submit := func(n int) {
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for {
					mu.Lock()
					if n == 0 {
						mu.Unlock()
						return
					}
					n--
					i := next
					next++
					mu.Unlock()
					m, p, _, err := c.fix.Variant(2000 + i)
					if err != nil {
						t.Error(err)
						return
					}
					s, err := c.prov.Submit(ctx, wire.SubmitRequest{ModelName: "model.json", Model: m, Manifest: c.fix.Manifest, Proof: p})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					accepted[s.ID] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}

	// Kill the worker while it holds open submissions; a kill that lands between two jobs
	// proves nothing, so try again with a fresh worker.
	var (
		stuck  []string
		killed time.Time
	)
	for round := 0; len(stuck) == 0; round++ {
		if round == 5 {
			t.Fatal("in 5 rounds, never caught the worker mid-job")
		}
		if round > 0 {
			c.worker = startWorker(t, c.bin, c.config)
		}
		workerID := riverClientID(t, c.worker)
		streaming := make(chan struct{})
		go func() { defer close(streaming); submit(40) }()
		for len(runningOn(workerID)) == 0 && ctx.Err() == nil {
			time.Sleep(2 * time.Millisecond)
		}
		if err := c.worker.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-c.worker.done
		killed = time.Now()
		for _, id := range runningOn(workerID) {
			if s, err := c.prov.Submission(ctx, id); err == nil && s.Status != "logged" && s.Status != "rejected" {
				stuck = append(stuck, id)
			}
		}
		<-streaming
		t.Logf("round %d: the killed worker left %d open submissions in running jobs", round, len(stuck))
	}
	var recovered time.Duration
	for _, id := range stuck {
		s, err := c.prov.Wait(ctx, id, 20*time.Millisecond, nil)
		if err != nil {
			t.Fatalf("submission %s of the killed worker: %v\nserve:\n%s", id, err, c.reg.log())
		}
		if s.Status != "logged" {
			t.Fatalf("submission %s ended %s (%s: %s)", id, s.Status, s.FailedCheck, s.Message)
		}
		recovered = max(recovered, time.Since(killed))
	}
	t.Logf("the killed worker's %d submissions logged %.1f s after the kill (jobs.stale_after 15 s)", len(stuck), recovered.Seconds())
	if recovered > time.Minute {
		t.Errorf("recovery took %s, want under a minute", recovered)
	}
	checkAllLogged(t, c.reg, c.admin, c.prov, accepted)
	c.reg.stop(t)
}
