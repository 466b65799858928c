package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/comet-attest/comet/registry/store"
)

// Leases tunes how a process claims the submissions it verifies (Config.Leases). The zero
// value takes none: right where one process works every job and requeues all open ones when
// it starts (the embedded SQLite set-up, Reconcile).
//
// Why not River's rescue alone: it retries a job only once it has been running for
// jobs.rescue_after, which must outlast the longest job a live worker may run (minutes),
// and it cannot tell a dead worker from a slow one. A lease renewed every Heartbeat can: a
// worker that died stops renewing, and StaleAfter later a live process requeues the
// submission. The dead worker's River job stays "running" until River rescues it; working
// it then changes nothing, because verification is idempotent.
type Leases struct {
	Heartbeat  time.Duration // how often a verifying job renews its lease
	StaleAfter time.Duration // a lease not renewed for this long belongs to a dead worker
}

// holder names this process in the leases it holds, for the operator reading them.
var holder = func() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s/%d", h, os.Getpid())
}()

// lease takes the lease on submission id and renews it until the returned release is
// called; without Leases it does nothing.
func (s *Service) lease(ctx context.Context, id string) (release func(), err error) {
	if s.leases.Heartbeat <= 0 {
		return func() {}, nil
	}
	who := holder + "/" + newID("", s.clock())
	beat := func(ctx context.Context) error {
		return s.store.InTx(ctx, func(tx *store.Tx) error { return tx.BeatSubmission(ctx, id, who, s.clock()) })
	}
	if err := beat(ctx); err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(s.leases.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := beat(ctx); err != nil && ctx.Err() == nil {
					s.logger.WarnContext(ctx, "submission lease not renewed", slog.String("submission", id), slog.Any("error", err))
				}
			}
		}
	})
	return func() {
		stop()
		wg.Wait()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		// A lease left behind is harmless: found stale, it requeues a final submission, whose
		// job then does nothing.
		if err := s.store.InTx(rctx, func(tx *store.Tx) error { return tx.ReleaseSubmission(rctx, id, who) }); err != nil {
			s.logger.WarnContext(rctx, "submission lease not released", slog.String("submission", id), slog.Any("error", err))
		}
	}, nil
}

// RequeueStale gives a fresh verification job to every open submission whose worker died:
// one whose lease its holder stopped renewing StaleAfter ago, or whose job a worker started
// StaleAfter ago without ever taking the lease (killed between River's fetch and the first
// heartbeat, which River alone would leave "running" until jobs.rescue_after). The periodic
// job of every process (registry/jobs) calls it, and of several that find one dead worker,
// one requeues its submission.
func (s *Service) RequeueStale(ctx context.Context) error {
	if s.leases.StaleAfter <= 0 {
		return nil
	}
	before := s.clock().Add(-s.leases.StaleAfter)
	stale, err := s.store.StaleSubmissionLeases(ctx, before, 100)
	if err != nil {
		return err
	}
	for _, l := range stale {
		take := func(tx *store.Tx, _ *store.Submission) (bool, error) {
			return tx.TakeStaleLease(ctx, l.SubmissionID, before)
		}
		if err := s.requeue(ctx, l.SubmissionID, take, slog.String("holder", l.Holder), slog.Time("last_beat", l.BeatAt)); err != nil {
			return err
		}
	}
	started, err := s.jobs.StartedSubmissions(ctx, 500)
	if err != nil {
		return err
	}
	for _, j := range started {
		if !j.StartedAt.Before(before) {
			continue
		}
		// Only the submission's current job counts: a job requeued before stays "running"
		// until River rescues it, and its successor is the one to watch.
		take := func(tx *store.Tx, sub *store.Submission) (bool, error) {
			if sub.JobID == nil || *sub.JobID != j.JobID {
				return false, nil
			}
			leased, err := tx.SubmissionLeased(ctx, sub.ID)
			return !leased, err
		}
		if err := s.requeue(ctx, j.SubmissionID, take, slog.Int64("job", j.JobID), slog.Time("started", j.StartedAt)); err != nil {
			return err
		}
	}
	return nil
}

// errLost aborts a requeue that another process made first.
var errLost = errors.New("another process requeued the submission first")

// requeue gives open submission id a new job if take, in the same transaction, finds its
// worker dead and claims it; why says what was found, for the log.
func (s *Service) requeue(ctx context.Context, id string, take func(*store.Tx, *store.Submission) (bool, error), why ...any) error {
	var requeued bool
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		sub, err := tx.Submission(ctx, id)
		if err != nil {
			return err
		}
		took, err := take(tx, sub)
		if err != nil || !took || sub.Status.Final() {
			return err
		}
		jobID, err := s.jobs.EnqueueSubmission(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("enqueue verification: %w", err)
		}
		if sub.JobID == nil {
			err = tx.SetSubmissionJob(ctx, id, jobID)
		} else if moved, rerr := tx.ReplaceSubmissionJob(ctx, id, *sub.JobID, jobID); rerr != nil {
			err = rerr
		} else if !moved {
			err = errLost
		}
		requeued = err == nil
		return err
	})
	if errors.Is(err, errLost) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("requeue stale submission %s: %w", id, err)
	}
	if requeued {
		s.logger.WarnContext(ctx, "requeued the submission of a worker that died", append([]any{slog.String("submission", id)}, why...)...)
	}
	return nil
}

// enqueue gives a submission a verification job in tx and records it.
func (s *Service) enqueue(ctx context.Context, tx *store.Tx, id string) (int64, error) {
	jobID, err := s.jobs.EnqueueSubmission(ctx, tx, id)
	if err != nil {
		return 0, fmt.Errorf("enqueue verification: %w", err)
	}
	return jobID, tx.SetSubmissionJob(ctx, id, jobID)
}
