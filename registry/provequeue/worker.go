package provequeue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/registry/pglock"
)

// WorkerOptions tune a worker; the zero value is usable.
type WorkerOptions struct {
	// ID names the worker in the planner's progress; "" means host-pid.
	ID string
	// Chunks is the number of chunks proven at once; 0 means 1, since one Groth16 proof
	// already uses every core.
	Chunks int
	// RescueAfter is how long a chunk may run before it is taken to be lost with its worker
	// and given to another; 0 means DefaultRescueAfter. It must exceed a chunk's proving time.
	RescueAfter time.Duration
	Logger      *slog.Logger
}

// DefaultRescueAfter is WorkerOptions.RescueAfter's default.
const DefaultRescueAfter = 30 * time.Minute

// Worker proves chunk jobs until stopped.
type Worker struct {
	client *river.Client[pgx.Tx]
	q      *Queue
	id     string
	log    *slog.Logger
	lease  *pglock.Lease
}

// NewWorker makes a worker on the queue that opens the jobs' secrets with key.
func (q *Queue) NewWorker(key *Key, o WorkerOptions) (*Worker, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rescue := o.RescueAfter
	if rescue <= 0 {
		rescue = DefaultRescueAfter
	}
	id := o.ID
	if id == "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, err
		}
		id = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &chunkWorker{q: q, key: key, id: id, timeout: rescue, log: log, keys: map[string]*setup.Keys{}}); err != nil {
		return nil, err
	}
	c, err := river.NewClient(riverpgxv5.New(q.pool), &river.Config{
		ID:      id,
		Queues:  map[string]river.QueueConfig{QueueName: {MaxWorkers: max(o.Chunks, 1)}},
		Workers: workers,
		Schema:  q.schema,
		// River rescues only jobs past their timeout, and a dead worker's chunk must be
		// rescued; proving ignores the cancellation, and the proof is stored all the same.
		JobTimeout:           rescue,
		RescueStuckJobsAfter: rescue,
		Logger:               log,
	})
	if err != nil {
		return nil, fmt.Errorf("worker: river client: %w", err)
	}
	return &Worker{client: c, q: q, id: id, log: log}, nil
}

// Start takes the worker's lease (see liveness.go; ErrWorkerIDInUse if a live worker on the
// queue has its ID) and starts fetching jobs.
func (w *Worker) Start(ctx context.Context) error {
	lease, err := pglock.TryAcquire(ctx, w.q.pool, workerLease(w.q.schema, w.id), pingEvery, w.log)
	if errors.Is(err, pglock.ErrHeld) {
		return fmt.Errorf("%w: a live worker on queue schema %q is named %q; give each worker its own --id", ErrWorkerIDInUse, w.q.schema, w.id)
	}
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	if err := w.client.Start(ctx); err != nil {
		return errors.Join(err, lease.Release(context.WithoutCancel(ctx)))
	}
	w.lease = lease
	return nil
}

// Lost is closed if the worker's lease was lost while it ran (its database session ended):
// the planner may have given its chunks to others, and it should stop.
func (w *Worker) Lost() <-chan struct{} { return w.lease.Lost() }

// Stop waits for the chunks in flight, until ctx is done, and gives the lease up.
func (w *Worker) Stop(ctx context.Context) error {
	return errors.Join(w.client.Stop(ctx), w.lease.Release(context.WithoutCancel(ctx)))
}

type chunkWorker struct {
	river.WorkerDefaults[ChunkArgs]
	q   *Queue
	key *Key
	id  string
	log *slog.Logger
	// timeout is the rescue delay: see NewWorker.
	timeout time.Duration

	mu   sync.Mutex
	keys map[string]*setup.Keys // proving keys by directory and shape, loaded once
}

func (w *chunkWorker) Timeout(*river.Job[ChunkArgs]) time.Duration { return w.timeout }

func (w *chunkWorker) provingKeys(ctx context.Context, dir string, s circuit.Shape) (*setup.Keys, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	id := dir + "\x00" + s.String()
	if k, ok := w.keys[id]; ok {
		return k, nil
	}
	k, err := setup.Load(ctx, dir, s, setup.Proving)
	if err != nil {
		return nil, err
	}
	w.keys[id] = k
	return k, nil
}

// Work proves one chunk and stores its proof in the transaction that completes the job, so
// that a chunk is done exactly when its proof is stored.
func (w *chunkWorker) Work(ctx context.Context, job *river.Job[ChunkArgs]) error {
	a := job.Args
	// A key error is retried: another worker, holding the right key, may take the job.
	s, err := w.key.open(a.Run, a.Index, a.Sealed)
	if err != nil {
		return err
	}
	man, err := commitment.LoadManifest(a.Manifest)
	if err != nil {
		return err
	}
	m, err := model.Load(ctx, a.Model)
	if err != nil {
		return err
	}
	keys, err := w.provingKeys(ctx, a.Keys, circuit.ShapeOf(man.Header, m.FitIntercept))
	if err != nil {
		return err
	}
	w.log.Info("proving chunk", "run", a.Run, "chunk", a.Index, "attempt", job.Attempt)
	start := time.Now()
	req := proof.Request{Manifest: man, Model: m, Salt: s.Salt, Rows: proof.CSVSourceAt(a.Data, man, a.Header, a.Offset), Provider: a.Provider}
	cp, err := proof.ProveChunk(ctx, keys, req, s.Task)
	if errors.Is(err, proof.ErrData) || errors.Is(err, proof.ErrStatement) || errors.Is(err, setup.ErrMismatch) {
		return river.JobCancel(err) // no worker can prove this chunk
	}
	if err != nil {
		return err
	}
	took := time.Since(start)
	// Past the timeout ctx is cancelled, but a proof made is worth keeping: its job may
	// already have been given to another worker, and the first proof stored stands.
	ctx = context.WithoutCancel(ctx)
	data, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	tx, err := w.q.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store chunk proof: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// A rescued chunk may be proven twice; the first proof stored stands.
	if _, err := tx.Exec(ctx, `INSERT INTO `+w.q.table("chunk_proofs")+` (run, idx, worker, seconds, proof) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (run, idx) DO NOTHING`, a.Run, a.Index, w.id, took.Seconds(), data); err != nil {
		return fmt.Errorf("store chunk proof: %w", err)
	}
	if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
		return fmt.Errorf("complete chunk job: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store chunk proof: %w", err)
	}
	w.log.Info("chunk proven", "run", a.Run, "chunk", a.Index, "seconds", took.Seconds())
	return nil
}
