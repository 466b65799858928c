package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/comet-attest/comet/registry/migrate"
	"github.com/comet-attest/comet/registry/store"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
)

// SubmissionArgs is the job that verifies, signs and logs one submission.
type SubmissionArgs struct {
	SubmissionID string `json:"submission_id"`
}

// Kind is stable: it is stored with every job.
func (SubmissionArgs) Kind() string { return "verify_submission" }

// EvaluationArgs is the job that verifies, signs and logs one evaluation.
type EvaluationArgs struct {
	EvaluationID string `json:"evaluation_id"`
}

// Kind is stable: it is stored with every job.
func (EvaluationArgs) Kind() string { return "verify_evaluation" }

// RevocationArgs is the job that appends one revocation to the log.
type RevocationArgs struct {
	RevocationID string `json:"revocation_id"`
}

// Kind is stable: it is stored with every job.
func (RevocationArgs) Kind() string { return "log_revocation" }

// RequeueStaleArgs is the periodic job that requeues the submissions of dead workers
// (Processor.RequeueStale).
type RequeueStaleArgs struct{}

// Kind is stable: it is stored with every job.
func (RequeueStaleArgs) Kind() string { return "requeue_stale" }

// Processor does the work; *service.Service provides it.
type Processor interface {
	ProcessSubmission(ctx context.Context, id string) error
	// GiveUp settles a submission whose every attempt failed with cause, so that it does not
	// stay "verifying" for ever.
	GiveUp(ctx context.Context, id string, cause error) error
	ProcessEvaluation(ctx context.Context, id string) error
	// GiveUpEvaluation settles an evaluation whose every attempt failed, as GiveUp does a
	// submission.
	GiveUpEvaluation(ctx context.Context, id string, cause error) error
	LogRevocation(ctx context.Context, id string) error
	// RequeueStale gives a fresh job to each submission whose worker stopped renewing its
	// lease.
	RequeueStale(ctx context.Context) error
}

// Options tune the queue.
type Options struct {
	Workers      int
	PollInterval time.Duration
	MaxAttempts  int
	JobTimeout   time.Duration
	RescueAfter  time.Duration
	// LogOwner says this process owns the transparency log and works QueueLog. Exactly one
	// process may append to a tessera POSIX log (two appenders can deadlock on its file
	// locks), so `comet worker` processes leave that queue to `comet serve`.
	LogOwner bool
	// LogCandidate says this process may come to own the log (a replica on PostgreSQL
	// waiting for the log-owner lease): it schedules the log's periodic jobs like an owner,
	// since River's leader may be any process, but works QueueLog only after WorkLog.
	LogCandidate bool
	// RequeueStaleEvery, when positive, adds the periodic job that requeues the submissions
	// of dead workers (Processor.RequeueStale). Every process sharing the queue should set
	// it: River's leader, whichever process that is, schedules it, and any process works it.
	RequeueStaleEvery time.Duration
	// Anchor, when set, adds the periodic anchoring job (see anchor.go); it needs LogOwner
	// or LogCandidate.
	Anchor *AnchorOptions
	Logger *slog.Logger
}

// Queue is the River client and what inserts into it.
type Queue struct {
	rc       riverClient
	insertTx func(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	// controlTx retries or cancels a job in tx (see admin.go).
	controlTx func(ctx context.Context, tx *store.Tx, id int64, op control) (*rivertype.JobRow, error)
	bind      *binding
	st        *store.Store
	// anchorEvery is how often the anchoring job looks whether an anchor is due (0: no
	// anchoring), for a log owner that schedules it itself (ScheduleAnchor).
	anchorEvery time.Duration
}

// riverClient is the part of river.Client that does not depend on the driver's transaction
// type.
type riverClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	Queues() *river.QueueBundle
}

// binding lets the workers, registered before the service exists, reach it once Start has
// been called.
type binding struct{ p Processor }

// New builds the queue over the store's database. Jobs can be inserted at once; they are
// worked after Start.
func New(st *store.Store, o Options) (*Queue, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	b := &binding{}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &submissionWorker{b: b, logger: o.Logger}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &evaluationWorker{b: b, logger: o.Logger}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &revocationWorker{b: b}); err != nil {
		return nil, err
	}
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.Workers}}
	if o.LogOwner {
		queues[QueueLog] = logQueue
	}
	cfg := &river.Config{
		Queues:               queues,
		Workers:              workers,
		FetchPollInterval:    o.PollInterval,
		FetchCooldown:        min(o.PollInterval, river.FetchCooldownDefault),
		JobTimeout:           o.JobTimeout,
		RescueStuckJobsAfter: o.RescueAfter,
		MaxAttempts:          o.MaxAttempts,
		Logger:               o.Logger,
		Schema:               st.Schema(),
	}
	if o.RequeueStaleEvery > 0 {
		if err := river.AddWorkerSafely(workers, &requeueStaleWorker{b: b}); err != nil {
			return nil, err
		}
		// Unique per period, not while running: a run that died with its process would
		// otherwise block every later one until River rescued it, minutes on.
		cfg.PeriodicJobs = append(cfg.PeriodicJobs, river.NewPeriodicJob(
			river.PeriodicInterval(o.RequeueStaleEvery),
			func() (river.JobArgs, *river.InsertOpts) {
				return RequeueStaleArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: o.RequeueStaleEvery}}
			},
			&river.PeriodicJobOpts{RunOnStart: true},
		))
	}
	if o.Anchor != nil {
		if !o.LogOwner && !o.LogCandidate {
			return nil, errors.New("jobs: anchoring runs only in a process that owns the log or may come to")
		}
		if err := addAnchoring(cfg, workers, st, *o.Anchor); err != nil {
			return nil, err
		}
	}
	q := &Queue{bind: b, st: st}
	if o.Anchor != nil {
		q.anchorEvery = anchorCheckEvery(*o.Anchor)
	}
	switch st.Dialect() {
	case migrate.SQLite:
		c, err := river.NewClient(riversqlite.New(st.SQLiteDB()), cfg)
		if err != nil {
			return nil, fmt.Errorf("river client: %w", err)
		}
		q.rc = c
		q.insertTx = func(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			return insertWith(ctx, c, tx.SQL, args, opts)
		}
		q.controlTx = func(ctx context.Context, tx *store.Tx, id int64, op control) (*rivertype.JobRow, error) {
			return controlWith(ctx, c, tx.SQL, id, op)
		}
	case migrate.Postgres:
		c, err := river.NewClient(riverpgxv5.New(st.PgxPool()), cfg)
		if err != nil {
			return nil, fmt.Errorf("river client: %w", err)
		}
		q.rc = c
		q.insertTx = func(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			return insertWith(ctx, c, tx.PGX, args, opts)
		}
		q.controlTx = func(ctx context.Context, tx *store.Tx, id int64, op control) (*rivertype.JobRow, error) {
			return controlWith(ctx, c, tx.PGX, id, op)
		}
	default:
		return nil, fmt.Errorf("jobs: unknown dialect %q", st.Dialect())
	}
	return q, nil
}

func insertWith[TTx comparable](ctx context.Context, c *river.Client[TTx], tx TTx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	var zero TTx
	if tx == zero {
		return nil, errors.New("insert job: the store transaction has no driver transaction for this database")
	}
	return c.InsertTx(ctx, tx, args, opts)
}

// Start works jobs with p until Stop.
func (q *Queue) Start(ctx context.Context, p Processor) error {
	q.bind.p = p
	if err := q.rc.Start(ctx); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	return nil
}

// Stop waits for running jobs to finish (as long as ctx allows) and stops.
func (q *Queue) Stop(ctx context.Context) error { return q.rc.Stop(ctx) }

// EnqueueSubmission inserts the verification job of a submission in tx.
func (q *Queue) EnqueueSubmission(ctx context.Context, tx *store.Tx, submissionID string) (int64, error) {
	r, err := q.insertTx(ctx, tx, SubmissionArgs{SubmissionID: submissionID}, nil)
	if err != nil {
		return 0, err
	}
	return r.Job.ID, nil
}

// EnqueueEvaluation inserts the verification job of an evaluation in tx.
func (q *Queue) EnqueueEvaluation(ctx context.Context, tx *store.Tx, evaluationID string) (int64, error) {
	r, err := q.insertTx(ctx, tx, EvaluationArgs{EvaluationID: evaluationID}, nil)
	if err != nil {
		return 0, err
	}
	return r.Job.ID, nil
}

// StartedSubmissions lists up to limit verification jobs in River's running state, oldest
// first.
func (q *Queue) StartedSubmissions(ctx context.Context, limit int) ([]store.StartedJob, error) {
	params := river.NewJobListParams().States(rivertype.JobStateRunning).Kinds(SubmissionArgs{}.Kind()).
		OrderBy(river.JobListOrderByID, river.SortOrderAsc).First(limit)
	res, err := q.rc.JobList(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("list running verification jobs: %w", err)
	}
	out := make([]store.StartedJob, 0, len(res.Jobs))
	for _, j := range res.Jobs {
		var args SubmissionArgs
		if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
			return nil, fmt.Errorf("job %d: args: %w", j.ID, err)
		}
		started := j.CreatedAt
		if j.AttemptedAt != nil {
			started = *j.AttemptedAt
		}
		out = append(out, store.StartedJob{JobID: j.ID, SubmissionID: args.SubmissionID, StartedAt: started})
	}
	return out, nil
}

// QueueLog holds the jobs that append to the log or read its checkpoints (revocations,
// anchoring): only the process that owns the log works it.
const QueueLog = "log"

// EnqueueRevocation inserts the job that logs a revocation in tx.
func (q *Queue) EnqueueRevocation(ctx context.Context, tx *store.Tx, revocationID string) (int64, error) {
	r, err := q.insertTx(ctx, tx, RevocationArgs{RevocationID: revocationID}, &river.InsertOpts{Queue: QueueLog})
	if err != nil {
		return 0, err
	}
	return r.Job.ID, nil
}

// ErrNotFound reports an unknown job id.
var ErrNotFound = river.ErrNotFound

// Job reads one job.
func (q *Queue) Job(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	j, err := q.rc.JobGet(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("job %d: %w", id, err)
	}
	return j, nil
}

// ListParams narrows a list of jobs.
type ListParams struct {
	State  string // a River job state, or empty for all
	Kind   string
	Limit  int
	Cursor string // from the previous page's next cursor
}

// List returns one page of jobs, newest first, and the cursor of the next page.
func (q *Queue) List(ctx context.Context, p ListParams) ([]*rivertype.JobRow, string, error) {
	limit := p.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	params := river.NewJobListParams().OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(limit)
	if p.State != "" {
		params = params.States(rivertype.JobState(p.State))
	}
	if p.Kind != "" {
		params = params.Kinds(p.Kind)
	}
	if p.Cursor != "" {
		var c river.JobListCursor
		if err := c.UnmarshalText([]byte(p.Cursor)); err != nil {
			return nil, "", fmt.Errorf("%w: cursor: %w", ErrBadCursor, err)
		}
		params = params.After(&c)
	}
	res, err := q.rc.JobList(ctx, params)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs: %w", err)
	}
	next := ""
	if len(res.Jobs) == limit && res.LastCursor != nil {
		b, err := res.LastCursor.MarshalText()
		if err != nil {
			return nil, "", err
		}
		next = string(b)
	}
	return res.Jobs, next, nil
}

// ErrBadCursor reports a list cursor that this queue did not make: the store's, so that
// every list refuses a forged cursor alike.
var ErrBadCursor = store.ErrBadCursor

// States lists River's job states, for validating a filter.
func States() []string {
	return []string{
		string(rivertype.JobStateAvailable), string(rivertype.JobStateCancelled), string(rivertype.JobStateCompleted),
		string(rivertype.JobStateDiscarded), string(rivertype.JobStatePending), string(rivertype.JobStateRetryable),
		string(rivertype.JobStateRunning), string(rivertype.JobStateScheduled),
	}
}

type submissionWorker struct {
	river.WorkerDefaults[SubmissionArgs]
	b      *binding
	logger *slog.Logger
}

func (w *submissionWorker) Work(ctx context.Context, job *river.Job[SubmissionArgs]) error {
	return lastAttempt(ctx, w.logger, job.JobRow, "submission", job.Args.SubmissionID, w.b.p.ProcessSubmission, w.b.p.GiveUp)
}

type evaluationWorker struct {
	river.WorkerDefaults[EvaluationArgs]
	b      *binding
	logger *slog.Logger
}

func (w *evaluationWorker) Work(ctx context.Context, job *river.Job[EvaluationArgs]) error {
	return lastAttempt(ctx, w.logger, job.JobRow, "evaluation", job.Args.EvaluationID, w.b.p.ProcessEvaluation, w.b.p.GiveUpEvaluation)
}

// lastAttempt runs process, and when the job's last attempt fails settles the record with
// giveUp: a submission or an evaluation must not stay "verifying" for ever.
func lastAttempt(ctx context.Context, logger *slog.Logger, job *rivertype.JobRow, what, id string,
	process func(context.Context, string) error, giveUp func(context.Context, string, error) error) error {
	err := process(ctx, id)
	if err != nil && job.Attempt >= job.MaxAttempts {
		logger.ErrorContext(ctx, what+" failed on its last attempt", slog.String(what, id), slog.Any("error", err))
		if rerr := giveUp(ctx, id, err); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	return err
}

type revocationWorker struct {
	river.WorkerDefaults[RevocationArgs]
	b *binding
}

func (w *revocationWorker) Work(ctx context.Context, job *river.Job[RevocationArgs]) error {
	return w.b.p.LogRevocation(ctx, job.Args.RevocationID)
}

type requeueStaleWorker struct {
	river.WorkerDefaults[RequeueStaleArgs]
	b *binding
}

func (w *requeueStaleWorker) Work(ctx context.Context, _ *river.Job[RequeueStaleArgs]) error {
	return w.b.p.RequeueStale(ctx)
}

// singletonPeriodic inserts args on QueueLog every interval (and at start), at most one at a
// time. Completed jobs must not count: River's default unique states include "completed",
// and a finished run would then block every later insert until the job cleaner removed it
// (a day by default).
func singletonPeriodic(every time.Duration, args river.JobArgs) *river.PeriodicJob {
	return river.NewPeriodicJob(
		river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) { return args, singletonOpts() },
		&river.PeriodicJobOpts{RunOnStart: true},
	)
}

// singletonOpts insert a job on QueueLog unless one with the same args is in singletonStates.
func singletonOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: QueueLog, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: singletonStates}}
}

// singletonStates are the states in which a periodic job blocks another: River's required
// four and retryable, not completed.
var singletonStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateScheduled, rivertype.JobStateRetryable,
}
