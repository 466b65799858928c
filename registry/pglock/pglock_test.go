package pglock_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"testing"
	"time"

	"github.com/comet-attest/comet/internal/pgtest"
	"github.com/comet-attest/comet/registry/pglock"
	"github.com/jackc/pgx/v5/pgxpool"
)

const interval = 100 * time.Millisecond

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func pool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), pgtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// acquireSoon starts Acquire and returns a channel that receives its lease.
func acquireSoon(t *testing.T, ctx context.Context, p *pgxpool.Pool, name string) <-chan *pglock.Lease {
	c := make(chan *pglock.Lease, 1)
	go func() {
		l, err := pglock.Acquire(ctx, p, name, interval, quiet())
		if err != nil {
			if ctx.Err() == nil {
				t.Error(err)
			}
			close(c)
			return
		}
		c <- l
	}()
	return c
}

// One holder at a time; the next one takes over within about an interval when the holder
// releases the lease or its session is killed, and a killed holder learns it lost the lease.
func TestOneHolderAndTakeover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := pool(t)
	name := pgtest.Schema(t)
	first, err := pglock.Acquire(ctx, p, name, interval, quiet())
	if err != nil {
		t.Fatal(err)
	}
	other, err := pglock.Acquire(ctx, p, name+"-other", interval, quiet())
	if err != nil {
		t.Fatalf("a lease of another name is independent: %v", err)
	}
	defer other.Release(ctx)

	second := acquireSoon(t, ctx, p, name)
	select {
	case <-second:
		t.Fatal("two holders of one lease")
	case <-time.After(5 * interval):
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	released := time.Now()
	var l *pglock.Lease
	select {
	case l = <-second:
	case <-time.After(5 * time.Second):
		t.Fatal("no takeover within 5 s of a release")
	}
	t.Logf("taken over %s after the release", time.Since(released).Round(time.Millisecond))

	third := acquireSoon(t, ctx, p, name)
	// The holder's session dies as with a crashed holder or a restarted server.
	if _, err := p.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "+
		"((classid::bigint << 32) | objid::bigint) = $1", pglock.Key(name)); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	select {
	case <-l.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("the holder did not notice that its session died")
	}
	noticed := time.Since(killed)
	select {
	case l3 := <-third:
		t.Logf("lost noticed after %s, taken over after %s", noticed.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
		if err := l3.Release(ctx); err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no takeover within 5 s of the holder's death")
	}
	if err := l.Release(ctx); err != nil {
		t.Errorf("release of a lost lease: %v", err)
	}
}

func TestAcquireEndsWithItsContext(t *testing.T) {
	p := pool(t)
	name := pgtest.Schema(t)
	held, err := pglock.Acquire(context.Background(), p, name, interval, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 3*interval)
	defer cancel()
	if _, err := pglock.Acquire(ctx, p, name, interval, quiet()); err == nil {
		t.Fatal("acquired a held lease")
	}
	if _, err := pglock.Acquire(context.Background(), p, name, 0, quiet()); err == nil {
		t.Fatal("accepted a zero interval")
	}
}

// Lock serializes: a second Lock waits for the first's unlock.
func TestLockWaitsForUnlock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := pool(t)
	name := pgtest.Schema(t)
	unlock, err := pglock.Lock(ctx, p, name)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func(), 1)
	go func() {
		u, err := pglock.Lock(ctx, p, name)
		if err != nil {
			t.Error(err)
			close(got)
			return
		}
		got <- u
	}()
	select {
	case <-got:
		t.Fatal("two holders of one lock")
	case <-time.After(3 * interval):
	}
	unlock()
	select {
	case u := <-got:
		u()
	case <-time.After(5 * time.Second):
		t.Fatal("the second Lock still waits after the unlock")
	}
	short, cancelShort := context.WithTimeout(ctx, 0)
	defer cancelShort()
	if _, err := pglock.Lock(short, p, name); err == nil {
		t.Fatal("Lock with an ended context succeeded")
	}
}

// TryAcquire takes a free lease at once and refuses a held one with ErrHeld; Held sees
// exactly the leases held now, by any session.
func TestTryAcquireAndHeld(t *testing.T) {
	ctx := context.Background()
	p := pool(t)
	base := pgtest.Schema(t)
	names := []string{base + "/a", base + "/b", base + "/c"}
	a, err := pglock.TryAcquire(ctx, p, names[0], interval, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pglock.TryAcquire(ctx, p, names[0], interval, quiet()); !errors.Is(err, pglock.ErrHeld) {
		t.Fatalf("a held lease taken again: %v, want ErrHeld", err)
	}
	b, err := pglock.Acquire(ctx, p, names[1], interval, quiet())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		held []string
	}{
		{"two held", names[:2]},
		{"one released", names[1:2]},
		{"none", nil},
	} {
		switch c.name {
		case "one released":
			if err := a.Release(ctx); err != nil {
				t.Fatal(err)
			}
		case "none":
			if err := b.Release(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got, err := pglock.Held(ctx, p, names)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for _, n := range c.held {
			want[n] = true
		}
		if !maps.Equal(got, want) {
			t.Errorf("%s: held %v, want %v", c.name, got, want)
		}
	}
}
