package provequeue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// A chunk's job is "running" from the moment a worker takes it until that worker stores its
// proof. If the worker dies, River gives the job to another only after RescueAfter, which
// must exceed a chunk's proving time: minutes of idle machines. So each worker, while it
// runs, holds a PostgreSQL session advisory lock named after its River client ID (the name
// River writes into the job's attempted_by), on a connection of its own; PostgreSQL frees the
// lock the moment that connection ends, which for a killed process is at once. The planner,
// at each poll, makes available again every running chunk of its run whose worker holds no
// lock. RescueAfter stays the fallback for a worker whose machine vanished with its TCP
// connection half-open, until the server's keepalive notices.

// ErrWorkerIDInUse means a live worker on the same queue already has the ID.
var ErrWorkerIDInUse = errors.New("worker id in use")

// livenessKey is the SQL expression of the advisory lock key for a worker, given the text
// expressions of the queue's schema and of the worker's ID; quote_ident keeps the two apart
// whatever characters they hold.
const livenessKey = "hashtextextended('comet/provequeue/worker ' || quote_ident(%s) || ' ' || %s, 0)"

// pingEvery is how often a worker checks that its liveness lock's connection is alive.
const pingEvery = time.Second

// liveness holds a worker's lock until Release, and closes Lost if the lock's session ends
// while the worker runs: its chunks may then be given to others, so the worker must stop.
type liveness struct {
	conn *pgx.Conn
	lost chan struct{}
	stop chan struct{}
	done chan struct{}
}

func (q *Queue) holdLiveness(ctx context.Context, id string, log *slog.Logger) (*liveness, error) {
	// A connection of its own, outside the pool, whose health checks and idle limits would
	// otherwise end the session and free the lock.
	conn, err := pgx.ConnectConfig(ctx, q.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("worker liveness lock: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock("+fmt.Sprintf(livenessKey, "$1::text", "$2::text")+")", q.schema, id).Scan(&ok); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("worker liveness lock: %w", err)
	}
	if !ok {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("%w: a live worker on queue schema %q is named %q; give each worker its own --id", ErrWorkerIDInUse, q.schema, id)
	}
	l := &liveness{conn: conn, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(pingEvery)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
			}
			pctx, cancel := context.WithTimeout(context.Background(), 5*pingEvery)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				log.Error("worker: lost the liveness lock's connection; its chunks may be given to other workers, so it stops", slog.Any("error", err))
				close(l.lost)
				return
			}
		}
	}()
	return l, nil
}

// release ends the lock's session, which frees the lock.
func (l *liveness) release() {
	close(l.stop)
	<-l.done
	_ = l.conn.Close(context.Background())
}

// rescueDeadWorkers makes available again the run's running chunks whose worker holds no
// liveness lock, and returns how many.
func (q *Queue) rescueDeadWorkers(ctx context.Context, run *Run) (int64, error) {
	key := fmt.Sprintf(livenessKey, "$3::text", "j.attempted_by[array_length(j.attempted_by, 1)]")
	tag, err := q.pool.Exec(ctx, `UPDATE `+q.table("river_job")+` j SET state = 'available', scheduled_at = now()
		WHERE j.kind = $1 AND j.args->>'run' = $2 AND j.state = 'running' AND NOT EXISTS (
			SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
				AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
				AND ((l.classid::bigint << 32) | l.objid::bigint) = `+key+`)`, kind, run.ID, q.schema)
	if err != nil {
		return 0, fmt.Errorf("rescue the chunks of dead workers: %w", err)
	}
	return tag.RowsAffected(), nil
}
