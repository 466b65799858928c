package server

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/comet-attest/comet/internal/config"
	"github.com/comet-attest/comet/internal/pgtest"
	"github.com/comet-attest/comet/registry/pglock"
	"github.com/jackc/pgx/v5"
)

// pgConfig is testConfig on a fresh PostgreSQL schema.
func pgConfig(t *testing.T) config.Config {
	cfg := testConfig(t)
	cfg.Database.DSN, cfg.Database.Schema = pgtest.DSN(), pgtest.Schema(t)
	return cfg
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// Two replicas on one PostgreSQL schema and one data directory: the first to start owns the
// log, the other reads it. When the owner's lease session dies while the owner lives on (a
// database restart, a network cut), it stops appending and Serve ends with ErrLeaseLost,
// and the other takes the lease and appends.
func TestReplicaFencesWhenItLosesTheLease(t *testing.T) {
	if testing.Short() {
		t.Skip("two replicas on PostgreSQL, a lease session killed (a few seconds)")
	}
	ctx, cfg := context.Background(), pgConfig(t)
	start := func() *Server {
		s, err := Open(ctx, cfg, quiet)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := start()
	waitFor(t, 5*time.Second, "the first replica owns the log", a.replica.log.Appending)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx, ln) }()

	b := start()
	defer b.Close(ctx)
	waitFor(t, 5*time.Second, "the standby reads the owner's checkpoint", func() bool {
		_, err := b.Service.Checkpoint(ctx)
		return err == nil
	})
	time.Sleep(2 * leaseInterval)
	if b.replica.log.Appending() {
		t.Fatal("two replicas own the log")
	}

	conn, err := pgx.Connect(ctx, pgtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "+
		"((classid::bigint << 32) | objid::bigint) = $1", pglock.Key("log-owner/"+cfg.Database.Schema)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-served:
		if !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("serve ended with %v, want ErrLeaseLost", err)
		}
	case <-time.After(3 * leaseInterval):
		t.Fatal("the replica that lost its lease still serves")
	}
	if a.replica.log.Appending() {
		t.Error("the replica that lost its lease still appends")
	}
	took := waitFor(t, 5*time.Second, "the standby takes the lease over", b.replica.log.Appending)
	t.Logf("standby took over %s after the owner stopped", took.Round(time.Millisecond))
}

// Replicas opened at once on a new database and data directory all open (PostgreSQL does not
// serialise concurrent CREATE ... IF NOT EXISTS: the store's boot lock does) and serve one
// trust root, made once.
func TestReplicasStartTogether(t *testing.T) {
	if testing.Short() {
		t.Skip("three registries opened at once on PostgreSQL")
	}
	ctx, cfg := context.Background(), pgConfig(t)
	servers := make([]*Server, 3)
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i := range servers {
		wg.Go(func() { servers[i], errs[i] = Open(ctx, cfg, quiet) })
	}
	wg.Wait()
	for i, s := range servers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		defer s.Close(ctx)
		if r := s.TrustRoot; r.Version != 1 || r.Fingerprint() != servers[0].TrustRoot.Fingerprint() {
			t.Errorf("replica %d serves trust root version %d %s, replica 0 version 1 %s", i, r.Version, r.Fingerprint(), servers[0].TrustRoot.Fingerprint())
		}
	}
}
