package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
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
	bin := buildComet(t)
	fix := registrytest.Get(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "registry.yaml")
	schema := pgtest.Schema(t)
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
`, filepath.Join(dir, "registry"), pgtest.DSN(), schema, fix.KeysDir)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	adminKey := strings.TrimSpace(mustRun(t, bin, nil, "admin", "init", "--create", "--config", config))
	reg := startRegistry(t, bin, config)
	worker := startWorker(t, bin, config)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, _ := client.New(reg.url, adminKey, nil)
	anon, _ := client.New(reg.url, "", nil)
	r, err := anon.Register(ctx, wire.RegisterRequest{ID: "acme-legal", Contact: "ops@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ProviderAction(ctx, "acme-legal", "approve", ""); err != nil {
		t.Fatal(err)
	}
	prov, _ := client.New(reg.url, r.Key, nil)
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
	m := regexp.MustCompile(`River client started" client_id=(\S+)`).FindStringSubmatch(worker.log())
	if m == nil {
		t.Fatalf("no River client id in the worker's log:\n%s", worker.log())
	}
	conn, err := pgx.Connect(ctx, pgtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var byWorker int
	q := "SELECT count(*) FROM " + pgx.Identifier{schema, "river_job"}.Sanitize() + " WHERE $1 = ANY(attempted_by)"
	if err := conn.QueryRow(ctx, q, m[1]).Scan(&byWorker); err != nil {
		t.Fatal(err)
	}
	if byWorker == 0 {
		t.Errorf("comet worker (%s) worked none of the %d jobs", m[1], total)
	}
	t.Logf("comet worker worked %d of %d submission jobs", byWorker, total)
	// The log has one writer: two tessera appenders on one directory can deadlock.
	if strings.Contains(worker.log(), "log opened") {
		t.Errorf("comet worker opened the log:\n%s", worker.log())
	}
	worker.stop(t)
	reg.stop(t)
}

// startWorker starts `comet worker` and waits until it says it works jobs.
func startWorker(t *testing.T, bin, config string) *registryProcess {
	t.Helper()
	return startComet(t, bin, regexp.MustCompile(`working jobs`), "worker", "--config", config)
}
