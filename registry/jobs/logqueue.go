package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// logQueue is how QueueLog is worked: two workers, so that a long anchoring run does not
// hold revocations back.
var logQueue = river.QueueConfig{MaxWorkers: 2}

// WorkLog starts working QueueLog in a running queue whose process has just taken the
// log-owner lease (Options.LogCandidate; PostgreSQL only). Only the lease holder works that
// queue, so a job on it still "running" now ran in a holder that died: it is made available
// at once rather than left to River's rescue, jobs.rescue_after later, since a periodic
// singleton (anchoring) blocks its next runs while one is running. There is no way back: a
// replica that loses the lease must stop appending at once, and does so by exiting, River's
// jobs with it.
func (q *Queue) WorkLog(ctx context.Context, logger *slog.Logger) error {
	pool := q.st.PgxPool()
	if pool == nil {
		return errors.New("work the log queue: the log-owner lease is PostgreSQL's")
	}
	table := pgx.Identifier{"river_job"}
	if schema := q.st.Schema(); schema != "" {
		table = pgx.Identifier{schema, "river_job"}
	}
	tag, err := pool.Exec(ctx, "UPDATE "+table.Sanitize()+" SET state = 'available', scheduled_at = now() WHERE queue = $1 AND state = 'running'", QueueLog)
	if err != nil {
		return fmt.Errorf("work the log queue: rescue the last holder's jobs: %w", err)
	}
	if n := tag.RowsAffected(); n > 0 {
		logger.WarnContext(ctx, "rescued log jobs that the last log owner left running", slog.Int64("jobs", n))
	}
	if err := q.rc.Queues().Add(QueueLog, logQueue); err != nil {
		return fmt.Errorf("work the log queue: %w", err)
	}
	return nil
}

// AnchorEvery is how often the anchoring job looks whether an anchor is due; 0 without
// anchoring.
func (q *Queue) AnchorEvery() time.Duration { return q.anchorEvery }

// ScheduleAnchor inserts the anchoring job unless one waits or runs. The log owner calls it
// on a schedule of its own, beside River's periodic job: River's leader inserts periodic
// jobs, and the leader may be a `comet worker`, which does not anchor.
func (q *Queue) ScheduleAnchor(ctx context.Context) error {
	if _, err := q.rc.Insert(ctx, AnchorArgs{}, singletonOpts()); err != nil {
		return fmt.Errorf("schedule anchoring: %w", err)
	}
	return nil
}

func anchorCheckEvery(o AnchorOptions) time.Duration {
	o.setDefaults()
	return o.CheckEvery
}
