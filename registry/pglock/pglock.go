// Package pglock holds leases on PostgreSQL: session-level advisory locks, each on a
// connection of its own. PostgreSQL releases such a lock when the session ends, so a holder
// that dies (SIGKILL included: its kernel closes the socket) frees it at once, with no expiry
// to tune; a holder that is alive but cut off notices within two intervals (the tick, then
// the ping's timeout), when its ping fails, and must stop what the lease guards (Lost). The
// server may end a session before its holder notices (a restart, pg_terminate_backend), so a
// new holder of an exclusive lease waits that long before it acts.
//
// The registry's log owner is one such lease (Acquire: one replica appends to the log); a
// proving worker's liveness is another (TryAcquire: its name is its own while it lives, and
// Held tells a planner which workers are alive). Lock is the same kind of lock held for a
// moment, for start-up work that processes must not do at once (generating the registry's
// keys, issuing a trust root version).
package pglock

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Lease is a held lease.
type Lease struct {
	conn   *pgx.Conn
	key    int64
	lost   chan struct{}
	stop   context.CancelFunc
	kept   chan struct{}
	logger *slog.Logger
}

// Key is the advisory lock key of the lock named name. Names carry the registry's schema,
// so that registries sharing a database do not share locks.
func Key(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("comet/" + name))
	return int64(h.Sum64())
}

// Lock waits until it holds the lock named name and returns its release.
func Lock(ctx context.Context, pool *pgxpool.Pool, name string) (unlock func(), err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	key := Key(name)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		conn.Release()
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return func() {
		// A connection that cannot unlock is closed, which unlocks it.
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
		conn.Release()
	}, nil
}

// Acquire waits, trying every interval, until it holds the lease named name, or ctx ends.
// The lease lives on a connection taken out of pool for good.
func Acquire(ctx context.Context, pool *pgxpool.Pool, name string, interval time.Duration, logger *slog.Logger) (*Lease, error) {
	logger, err := defaults(interval, logger)
	if err != nil {
		return nil, err
	}
	key := Key(name)
	var conn *pgx.Conn
	for {
		if conn == nil || conn.IsClosed() {
			pc, err := pool.Acquire(ctx)
			if err == nil {
				conn = pc.Hijack()
			} else if ctx.Err() != nil {
				return nil, fmt.Errorf("lease %s: %w", name, err)
			} else {
				logger.WarnContext(ctx, "lease: no connection", slog.String("lease", name), slog.Any("error", err))
			}
		}
		if conn != nil {
			var held bool
			err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&held)
			if err == nil && held {
				return keep(conn, name, key, interval, logger), nil
			}
			if err != nil && ctx.Err() == nil {
				logger.WarnContext(ctx, "lease: try failed", slog.String("lease", name), slog.Any("error", err))
				conn.Close(context.WithoutCancel(ctx))
			}
		}
		select {
		case <-ctx.Done():
			if conn != nil {
				conn.Close(context.WithoutCancel(ctx))
			}
			return nil, fmt.Errorf("lease %s: %w", name, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// defaults checks a lease's interval and fills in its logger.
func defaults(interval time.Duration, logger *slog.Logger) (*slog.Logger, error) {
	if interval <= 0 {
		return nil, errors.New("pglock: the interval must be positive")
	}
	if logger == nil {
		logger = slog.Default()
	}
	return logger, nil
}

// ErrHeld means another session holds the lease TryAcquire asked for.
var ErrHeld = errors.New("lease held by another session")

// TryAcquire is Acquire that tries once: ErrHeld if another session holds the lease.
func TryAcquire(ctx context.Context, pool *pgxpool.Pool, name string, interval time.Duration, logger *slog.Logger) (*Lease, error) {
	logger, err := defaults(interval, logger)
	if err != nil {
		return nil, err
	}
	pc, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("lease %s: %w", name, err)
	}
	conn := pc.Hijack()
	key := Key(name)
	var held bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&held); err != nil || !held {
		conn.Close(context.WithoutCancel(ctx))
		if err == nil {
			err = ErrHeld
		}
		return nil, fmt.Errorf("lease %s: %w", name, err)
	}
	return keep(conn, name, key, interval, logger), nil
}

// Held reports which of the named leases some session of pool's database holds now.
func Held(ctx context.Context, pool *pgxpool.Pool, names []string) (map[string]bool, error) {
	byKey := make(map[int64]string, len(names))
	keys := make([]int64, len(names))
	for i, n := range names {
		keys[i] = Key(n)
		byKey[keys[i]] = n
	}
	// pg_locks shows a bigint advisory key as its two 32-bit halves.
	rows, err := pool.Query(ctx, `SELECT k FROM (SELECT (classid::bigint << 32) | objid::bigint AS k FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 1
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) l WHERE k = ANY($1)`, keys)
	if err != nil {
		return nil, fmt.Errorf("held leases: %w", err)
	}
	held, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("held leases: %w", err)
	}
	out := make(map[string]bool, len(held))
	for _, k := range held {
		out[byKey[k]] = true
	}
	return out, nil
}

// keep pings the lease's connection every interval until Release, and reports the lease
// lost when a ping fails: the session, and the lock with it, may be gone.
func keep(conn *pgx.Conn, name string, key int64, interval time.Duration, logger *slog.Logger) *Lease {
	ctx, stop := context.WithCancel(context.Background())
	l := &Lease{conn: conn, key: key, lost: make(chan struct{}), stop: stop, kept: make(chan struct{}), logger: logger}
	go func() {
		defer close(l.kept)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			pctx, cancel := context.WithTimeout(ctx, interval)
			err := conn.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				logger.Error("lease lost: the database does not answer on its session", slog.String("lease", name), slog.Any("error", err))
				close(l.lost)
				conn.Close(context.Background())
				return
			}
		}
	}()
	return l
}

// Lost is closed when the lease can no longer be vouched for: the holder must stop
// appending at once.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Release gives the lease up.
func (l *Lease) Release(ctx context.Context) error {
	l.stop()
	<-l.kept
	if l.conn.IsClosed() {
		return nil
	}
	_, err := l.conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", l.key)
	return errors.Join(err, l.conn.Close(ctx))
}
