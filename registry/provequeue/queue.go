package provequeue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/registry/migrate"
)

const (
	// QueueName is the River queue of chunk jobs, apart from a registry's queues when the
	// database is shared.
	QueueName = "prove_chunk"
	// DefaultSchema holds River's tables and the chunk proofs unless the URL names another
	// in its search_path parameter.
	DefaultSchema = "comet_prove"
	kind          = "comet_prove_chunk"
	// maxAttempts bounds the retries of a chunk whose worker died or failed; a chunk that
	// cannot be proven (its data does not match) is cancelled at once.
	maxAttempts = 10
)

// ChunkArgs is one chunk's job. The paths are as the workers read them: the same machine
// or a shared volume; the worker reads the CSV's header and its chunk's rows from Offset on.
// Sealed holds the salt and the chunk's task (seal).
type ChunkArgs struct {
	Run      string `json:"run"`
	Index    int    `json:"index"`
	Data     string `json:"data"`
	Header   int64  `json:"header"`
	Offset   int64  `json:"offset"`
	Manifest string `json:"manifest"`
	Model    string `json:"model"`
	Keys     string `json:"keys"`
	Provider string `json:"provider"`
	Sealed   []byte `json:"sealed"`
}

func (ChunkArgs) Kind() string { return kind }

func (ChunkArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueName, MaxAttempts: maxAttempts}
}

// Queue is the chunk queue in one PostgreSQL schema.
type Queue struct {
	pool   *pgxpool.Pool
	schema string
	client *river.Client[pgx.Tx] // inserts only; workers run their own (NewWorker)
}

// Open connects to the PostgreSQL URL and creates the schema, River's tables and the chunk
// proofs table if they are missing; the URL's search_path parameter names the schema.
func Open(ctx context.Context, url string) (*Queue, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("queue url: %w", err)
	}
	schema := pc.ConnConfig.RuntimeParams["search_path"]
	if schema == "" {
		schema = DefaultSchema
	}
	if strings.Contains(schema, ",") {
		return nil, fmt.Errorf("queue url: search_path %q: name one schema", schema)
	}
	pc.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	q := &Queue{pool: pool, schema: schema}
	if err := q.setUp(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if q.client, err = river.NewClient(riverpgxv5.New(pool), &river.Config{Schema: schema}); err != nil {
		pool.Close()
		return nil, fmt.Errorf("queue: river client: %w", err)
	}
	return q, nil
}

// Close closes the connections.
func (q *Queue) Close() { q.pool.Close() }

func (q *Queue) table(name string) string { return pgx.Identifier{q.schema, name}.Sanitize() }

// setUp migrates under an advisory lock, since the planner and every worker open the queue
// and may do so at the same moment. River's migrations take a transaction each, so the lock
// is the session's, on a connection of its own.
func (q *Queue) setUp(ctx context.Context) error {
	conn, err := q.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	defer conn.Release()
	const lock = "hashtext('comet/provequeue')"
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock("+lock+")"); err != nil {
		return fmt.Errorf("queue: lock: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock("+lock+")") }()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{q.schema}.Sanitize()); err != nil {
		return fmt.Errorf("queue: create schema: %w", err)
	}
	if err := migrate.River(ctx, riverpgxv5.New(q.pool), q.schema); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	_, err = conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+q.table("chunk_proofs")+` (
		run TEXT NOT NULL,
		idx INTEGER NOT NULL,
		worker TEXT NOT NULL,
		seconds DOUBLE PRECISION NOT NULL,
		proof JSONB NOT NULL,
		finished_at TIMESTAMPTZ NOT NULL DEFAULT now(),
		PRIMARY KEY (run, idx))`)
	if err != nil {
		return fmt.Errorf("queue: create chunk_proofs: %w", err)
	}
	return nil
}

// Spec is what every chunk of a run shares: where the workers read the data (and where its
// chunks begin in it: proof.ChunkOffsets), the manifest, the model and the keys, and the
// provider the proof is for.
type Spec struct {
	Data, Manifest, Model, Keys, Provider string
	Offsets                               proof.Offsets
}

// Run is one enqueued proving run.
type Run struct {
	ID      string
	Chunks  int
	Started time.Time
	jobs    []int64
}

// Begin names a run of the given number of chunks, whose jobs Add then inserts as their
// tasks are planned (proof.PlanEach), so that workers start on the first chunks while the
// planner reads the rest.
func Begin(chunks int) (*Run, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	return &Run{ID: hex.EncodeToString(id), Chunks: chunks, Started: time.Now()}, nil
}

// Add inserts one job per task of run, in one transaction, each carrying the salt and its
// task sealed with key. It is not safe for concurrent use with itself or Cancel on one run.
func (q *Queue) Add(ctx context.Context, key *Key, spec Spec, salt commitment.Salt, run *Run, tasks []proof.ChunkTask) error {
	params := make([]river.InsertManyParams, len(tasks))
	for i, t := range tasks {
		if t.Index < 0 || t.Index >= len(spec.Offsets.Chunks) {
			return fmt.Errorf("enqueue: chunk %d: no offset (%d chunks)", t.Index, len(spec.Offsets.Chunks))
		}
		box, err := key.seal(run.ID, secrets{Salt: salt, Task: t})
		if err != nil {
			return err
		}
		params[i] = river.InsertManyParams{Args: ChunkArgs{Run: run.ID, Index: t.Index, Data: spec.Data,
			Header: spec.Offsets.Header, Offset: spec.Offsets.Chunks[t.Index], Manifest: spec.Manifest,
			Model: spec.Model, Keys: spec.Keys, Provider: spec.Provider, Sealed: box}}
	}
	tx, err := q.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	res, err := q.client.InsertManyTx(ctx, tx, params)
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	for _, r := range res {
		run.jobs = append(run.jobs, r.Job.ID)
	}
	return nil
}

// Progress is a run's state across its workers.
type Progress struct {
	Done, Total int
	// Workers counts the chunks each worker proved, by worker id.
	Workers map[string]int
	// Running is the number of chunks being proven now; Retried the chunks whose jobs took
	// more than one attempt (a worker died or failed on them).
	Running, Retried int
	// Rescued is the chunks this reading gave back to the queue because their worker had
	// died (see liveness.go).
	Rescued int64
	Elapsed time.Duration
}

// Rate is the chunks proven per second since the run started.
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Done) / p.Elapsed.Seconds()
}

// ETA is the time left at the rate so far; 0 before the first chunk.
func (p Progress) ETA() time.Duration {
	r := p.Rate()
	if r == 0 {
		return 0
	}
	return time.Duration(float64(p.Total-p.Done) / r * float64(time.Second)).Round(time.Second)
}

func (p Progress) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chunks %d/%d, %d running", p.Done, p.Total, p.Running)
	if len(p.Workers) > 0 {
		b.WriteString(" (")
		for i, w := range slices.Sorted(maps.Keys(p.Workers)) {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s: %d", w, p.Workers[w])
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, ", %.2f chunks/s", p.Rate())
	if p.Done > 0 && p.Done < p.Total {
		fmt.Fprintf(&b, ", ETA %v", p.ETA())
	}
	if p.Retried > 0 {
		fmt.Fprintf(&b, ", %d retried", p.Retried)
	}
	if p.Rescued > 0 {
		fmt.Fprintf(&b, ", %d taken back from dead workers", p.Rescued)
	}
	return b.String()
}

// ErrChunkFailed means a chunk's job gave up: its data does not match, or every attempt
// failed.
var ErrChunkFailed = errors.New("a chunk could not be proven")

// Progress reads the run's state; a chunk that gave up is ErrChunkFailed with its last error.
// It first gives back to the queue the chunks of workers that died (see liveness.go), and
// counts them in Rescued.
func (q *Queue) Progress(ctx context.Context, run *Run) (Progress, error) {
	p := Progress{Total: run.Chunks, Workers: map[string]int{}, Elapsed: time.Since(run.Started)}
	rescued, err := q.rescueDeadWorkers(ctx, run)
	if err != nil {
		return p, fmt.Errorf("progress: %w", err)
	}
	p.Rescued = rescued
	rows, err := q.pool.Query(ctx, `SELECT worker, count(*) FROM `+q.table("chunk_proofs")+` WHERE run = $1 GROUP BY worker`, run.ID)
	if err != nil {
		return p, fmt.Errorf("progress: %w", err)
	}
	for rows.Next() {
		var w string
		var n int
		if err := rows.Scan(&w, &n); err != nil {
			return p, fmt.Errorf("progress: %w", err)
		}
		p.Workers[w], p.Done = n, p.Done+n
	}
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("progress: %w", err)
	}
	rows, err = q.pool.Query(ctx, `SELECT (args->>'index')::int, state, attempt, coalesce(errors[array_length(errors, 1)]->>'error', '')
		FROM `+q.table("river_job")+` WHERE kind = $1 AND args->>'run' = $2`, kind, run.ID)
	if err != nil {
		return p, fmt.Errorf("progress: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var index, attempt int
		var state, lastErr string
		if err := rows.Scan(&index, &state, &attempt, &lastErr); err != nil {
			return p, fmt.Errorf("progress: %w", err)
		}
		switch state {
		case "running":
			p.Running++
		case "cancelled", "discarded":
			return p, fmt.Errorf("%w: chunk %d: %s", ErrChunkFailed, index, lastErr)
		}
		if attempt > 1 {
			p.Retried++
		}
	}
	return p, rows.Err()
}

// batch is how many planned chunks Prove queues in one transaction.
const batch = 32

// Prove has run's chunks proven by the queue's workers. plan hands each chunk's task to
// emit, in order, as it is planned (proof.PlanEach); Prove queues them in batches while the
// workers prove the first ones, and calls report with the run's progress every interval. It
// returns the chunk proofs in order once every chunk is proven and plan has returned nil
// (plan checks the data's sums only at its end). Otherwise it stops plan, withdraws the run
// (Cancel) and returns the first error.
func (q *Queue) Prove(ctx context.Context, key *Key, spec Spec, salt commitment.Salt, run *Run,
	plan func(context.Context, func(proof.ChunkTask) error) error, every time.Duration, report func(Progress)) ([]proof.ChunkProof, error) {
	waitCtx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	planCtx, stopPlanning := context.WithCancel(ctx)
	defer stopPlanning()
	planned := make(chan error, 1)
	go func() {
		var tasks []proof.ChunkTask
		flush := func() error {
			err := q.Add(planCtx, key, spec, salt, run, tasks)
			tasks = tasks[:0]
			return err
		}
		err := plan(planCtx, func(t proof.ChunkTask) error {
			if tasks = append(tasks, t); len(tasks) == batch {
				return flush()
			}
			return nil
		})
		if err == nil && len(tasks) > 0 {
			err = flush()
		}
		if err != nil {
			stopWaiting()
		}
		planned <- err
	}()
	proofs, err := q.Wait(waitCtx, run, every, report)
	if err != nil {
		stopPlanning()
	}
	// The planner's own error stands before the cancellation it caused in the wait.
	if planErr := <-planned; planErr != nil && (err == nil || !errors.Is(planErr, context.Canceled)) {
		err = planErr
	}
	if err != nil {
		// A signal may have ended ctx; the withdrawal still needs the database.
		return nil, errors.Join(err, q.Cancel(context.WithoutCancel(ctx), run))
	}
	return proofs, nil
}

// Wait polls the run every interval, calling report with its progress, until every chunk is
// proven, and returns the chunk proofs in order.
func (q *Queue) Wait(ctx context.Context, run *Run, every time.Duration, report func(Progress)) ([]proof.ChunkProof, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		p, err := q.Progress(ctx, run)
		if err != nil {
			return nil, err
		}
		report(p)
		if p.Done == p.Total {
			return q.proofs(ctx, run)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (q *Queue) proofs(ctx context.Context, run *Run) ([]proof.ChunkProof, error) {
	rows, err := q.pool.Query(ctx, `SELECT proof FROM `+q.table("chunk_proofs")+` WHERE run = $1 ORDER BY idx`, run.ID)
	if err != nil {
		return nil, fmt.Errorf("chunk proofs: %w", err)
	}
	defer rows.Close()
	var out []proof.ChunkProof
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("chunk proofs: %w", err)
		}
		var cp proof.ChunkProof
		if err := json.Unmarshal(data, &cp); err != nil {
			return nil, fmt.Errorf("chunk proof %d: %w", len(out), err)
		}
		out = append(out, cp)
	}
	return out, rows.Err()
}

// Cancel withdraws a run that will not be assembled (its planner failed or was stopped):
// its unfinished jobs are cancelled, so that no worker spends time on them, and its proofs
// are forgotten.
func (q *Queue) Cancel(ctx context.Context, run *Run) error {
	tx, err := q.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("cancel run: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for _, id := range run.jobs {
		if _, err := q.client.JobCancelTx(ctx, tx, id); err != nil {
			return fmt.Errorf("cancel run: job %d: %w", id, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("cancel run: %w", err)
	}
	return q.Forget(ctx, run)
}

// Forget deletes the run's chunk proofs once its bundle is written; River's cleaner removes
// its finished jobs.
func (q *Queue) Forget(ctx context.Context, run *Run) error {
	if _, err := q.pool.Exec(ctx, `DELETE FROM `+q.table("chunk_proofs")+` WHERE run = $1`, run.ID); err != nil {
		return fmt.Errorf("forget run: %w", err)
	}
	return nil
}
