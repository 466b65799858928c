package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/comet-attest/comet/registry/store"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// control is what an operator does to one job.
type control int

const (
	retry control = iota
	cancel
)

// ErrConflict reports a retry or cancel that the job's state does not allow: the store's,
// so that the API and the console answer it alike.
var ErrConflict = store.ErrConflict

// retryFrom and cancelFrom are the states an operator may retry or cancel a job from.
// Retrying a running or finished job would work a submission twice; cancelling a finished
// one would say something untrue of it.
var (
	retryFrom  = []rivertype.JobState{rivertype.JobStateDiscarded, rivertype.JobStateCancelled, rivertype.JobStateRetryable, rivertype.JobStateScheduled}
	cancelFrom = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled}
)

// CanRetry and CanCancel report whether a job in state may be retried or cancelled.
func CanRetry(state rivertype.JobState) bool  { return slices.Contains(retryFrom, state) }
func CanCancel(state rivertype.JobState) bool { return slices.Contains(cancelFrom, state) }

// Retry makes job id available to work now, in tx: a discarded or cancelled job is tried
// again (with one more attempt allowed when it had used them all), a retryable or scheduled
// one without waiting.
func (q *Queue) Retry(ctx context.Context, tx *store.Tx, id int64) (*rivertype.JobRow, error) {
	return q.control(ctx, tx, id, retry)
}

// Cancel cancels job id in tx; a running job is told to stop, and is not tried again
// whatever it returns.
func (q *Queue) Cancel(ctx context.Context, tx *store.Tx, id int64) (*rivertype.JobRow, error) {
	return q.control(ctx, tx, id, cancel)
}

func (q *Queue) control(ctx context.Context, tx *store.Tx, id int64, op control) (*rivertype.JobRow, error) {
	if tx == nil {
		return nil, errors.New("job control: no transaction")
	}
	return q.controlTx(ctx, tx, id, op)
}

// controlWith reads the job in tx too: on SQLite the transaction holds the one connection,
// and a read outside it would wait for it forever.
func controlWith[TTx comparable](ctx context.Context, c *river.Client[TTx], tx TTx, id int64, op control) (*rivertype.JobRow, error) {
	var zero TTx
	if tx == zero {
		return nil, errors.New("job control: the store transaction has no driver transaction for this database")
	}
	j, err := c.JobGetTx(ctx, tx, id)
	if err != nil {
		return nil, fmt.Errorf("job %d: %w", id, err)
	}
	allowed, verb := CanRetry, "retried"
	if op == cancel {
		allowed, verb = CanCancel, "cancelled"
	}
	if !allowed(j.State) {
		return nil, fmt.Errorf("%w: job %d is %s and cannot be %s", ErrConflict, id, j.State, verb)
	}
	if op == cancel {
		j, err = c.JobCancelTx(ctx, tx, id)
	} else {
		j, err = c.JobRetryTx(ctx, tx, id)
	}
	if err != nil {
		return nil, fmt.Errorf("job %d: %w", id, err)
	}
	return j, nil
}

// countCap bounds each state's count: past it the dashboard says "at least".
const countCap = 1000

// Counts returns how many jobs are in each River state, each counted up to countCap.
func (q *Queue) Counts(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	for _, st := range States() {
		res, err := q.rc.JobList(ctx, river.NewJobListParams().States(rivertype.JobState(st)).First(countCap))
		if err != nil {
			return nil, fmt.Errorf("count %s jobs: %w", st, err)
		}
		out[st] = len(res.Jobs)
	}
	return out, nil
}

// CountCap is the most Counts counts in one state.
func CountCap() int { return countCap }
