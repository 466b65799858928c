package provequeue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/comet-attest/comet/registry/pglock"
)

// A chunk's job is "running" from the moment a worker takes it until that worker stores its
// proof. If the worker dies, River gives the job to another only after RescueAfter, which
// must exceed a chunk's proving time: minutes of idle machines. So each worker, while it
// runs, holds a lease (registry/pglock) named after its River client ID, the name River
// writes into the job's attempted_by; PostgreSQL frees it the moment the worker's session
// ends, which for a killed process is at once. The planner, at each poll, makes available
// again every running chunk of its run whose worker holds no lease. RescueAfter stays the
// fallback for a worker whose machine vanished with its TCP connection half-open, until the
// server's keepalive notices.

// ErrWorkerIDInUse means a live worker on the same queue already has the ID.
var ErrWorkerIDInUse = errors.New("worker id in use")

// pingEvery is how often a worker checks that its lease's session is alive.
const pingEvery = time.Second

// workerLease names the lease of the worker id on the queue in schema (quoted, so that the
// two parts cannot run into each other).
func workerLease(schema, id string) string {
	return "provequeue/worker " + pgx.Identifier{schema}.Sanitize() + " " + id
}

// rescueDeadWorkers makes available again the run's running chunks whose worker holds no
// lease, and returns how many.
func (q *Queue) rescueDeadWorkers(ctx context.Context, run *Run) (int64, error) {
	rows, err := q.pool.Query(ctx, `SELECT id, attempt, coalesce(attempted_by[array_length(attempted_by, 1)], '') FROM `+q.table("river_job")+`
		WHERE kind = $1 AND args->>'run' = $2 AND state = 'running'`, kind, run.ID)
	if err != nil {
		return 0, fmt.Errorf("rescue the chunks of dead workers: %w", err)
	}
	type running struct {
		ID      int64
		Attempt int
		Worker  string
	}
	jobs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[running])
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	names := make([]string, len(jobs))
	for i, j := range jobs {
		names[i] = workerLease(q.schema, j.Worker)
	}
	alive, err := pglock.Held(ctx, q.pool, names)
	if err != nil {
		return 0, fmt.Errorf("rescue the chunks of dead workers: %w", err)
	}
	var ids []int64
	var attempts []int
	for i, j := range jobs {
		if !alive[names[i]] {
			ids, attempts = append(ids, j.ID), append(attempts, j.Attempt)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	// The attempt guards against a job that finished and was taken again meanwhile.
	tag, err := q.pool.Exec(ctx, `UPDATE `+q.table("river_job")+` j SET state = 'available', scheduled_at = now()
		FROM unnest($1::bigint[], $2::int[]) AS d(id, attempt) WHERE j.id = d.id AND j.attempt = d.attempt AND j.state = 'running'`, ids, attempts)
	if err != nil {
		return 0, fmt.Errorf("rescue the chunks of dead workers: %w", err)
	}
	return tag.RowsAffected(), nil
}
