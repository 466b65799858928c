package service

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/comet-attest/comet/registry/store"
)

// Reconciled counts what Reconcile repaired.
type Reconciled struct {
	Attestations int // signed but not recorded as logged: appended (or found) and recorded
	Revocations  int
	Evaluations  int // signed but not recorded as logged
	Requeued     int // open submissions and evaluations given a fresh job
}

// Reconcile makes the log and the database agree after a crash: every stored attestation
// and revocation without a log index is appended (the log returns the existing index of a
// leaf it already holds, so nothing is logged twice) and recorded. With requeueOpen, every
// submission that is neither logged nor rejected gets a fresh job: right for the embedded
// set-up, where this process is the only worker and a job left "running" died with the last
// one; duplicate jobs are harmless because the work is idempotent.
func (s *Service) Reconcile(ctx context.Context, requeueOpen bool) (Reconciled, error) {
	r, err := s.logPending(ctx)
	if err != nil {
		return r, err
	}
	if requeueOpen {
		open, err := s.store.OpenSubmissions(ctx, 1_000_000)
		if err != nil {
			return r, err
		}
		for _, sub := range open {
			err := s.store.InTx(ctx, func(tx *store.Tx) error {
				_, err := s.enqueue(ctx, tx, sub.ID)
				return err
			})
			if err != nil {
				return r, fmt.Errorf("reconcile: requeue %s: %w", sub.ID, err)
			}
			r.Requeued++
		}
		evs, err := s.store.OpenEvaluations(ctx, 1_000_000)
		if err != nil {
			return r, err
		}
		for _, ev := range evs {
			err := s.store.InTx(ctx, func(tx *store.Tx) error {
				jobID, err := s.jobs.EnqueueEvaluation(ctx, tx, ev.ID)
				if err != nil {
					return err
				}
				return tx.SetEvaluationJob(ctx, ev.ID, jobID)
			})
			if err != nil {
				return r, fmt.Errorf("reconcile: requeue %s: %w", ev.ID, err)
			}
			r.Requeued++
		}
	}
	if r != (Reconciled{}) {
		s.logger.InfoContext(ctx, "reconciled log and database", slog.Int("attestations", r.Attestations),
			slog.Int("revocations", r.Revocations), slog.Int("evaluations", r.Evaluations), slog.Int("requeued", r.Requeued))
	}
	return r, nil
}

// LogPending appends what `comet worker` processes signed: the periodic job of the process
// that owns the log (registry/jobs) calls it.
func (s *Service) LogPending(ctx context.Context) error {
	r, err := s.logPending(ctx)
	if r.Attestations+r.Revocations+r.Evaluations > 0 {
		s.logger.DebugContext(ctx, "logged signed attestations", slog.Int("attestations", r.Attestations), slog.Int("revocations", r.Revocations),
			slog.Int("evaluations", r.Evaluations))
	}
	return err
}

// logPending appends every stored attestation and revocation that is not yet in the log
// and records its index: what a crash interrupted, or what a `comet worker` signed.
func (s *Service) logPending(ctx context.Context) (Reconciled, error) {
	var r Reconciled
	err := drain(ctx, &r.Attestations, s.store.UnloggedAttestations, func(ctx context.Context, a *store.Attestation) error {
		return s.logAttestation(ctx, a, a.SubmissionID)
	})
	if err == nil {
		err = drain(ctx, &r.Evaluations, s.store.UnloggedEvaluations, s.logEvaluation)
	}
	if err == nil {
		err = drain(ctx, &r.Revocations, s.store.UnloggedRevocations, s.logRevocation)
	}
	return r, err
}

// drain logs what unlogged lists, a batch at a time, until it lists nothing, counting each
// record logged in n.
func drain[T any](ctx context.Context, n *int, unlogged func(context.Context, int) ([]T, error), log func(context.Context, *T) error) error {
	for {
		batch, err := unlogged(ctx, 100)
		if err != nil || len(batch) == 0 {
			return err
		}
		for i := range batch {
			if err := log(ctx, &batch[i]); err != nil {
				return fmt.Errorf("log pending: %w", err)
			}
			*n++
		}
	}
}
