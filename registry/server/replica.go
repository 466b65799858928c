package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/comet-attest/comet/attest/tlog"
	"github.com/comet-attest/comet/registry/jobs"
	"github.com/comet-attest/comet/registry/pglock"
	"github.com/comet-attest/comet/registry/service"
	f_log "github.com/transparency-dev/formats/log"
)

// leaseInterval is how often a replica tries to take the log-owner lease and how often the
// holder checks that it still has it: a dead holder is replaced within about this long, and
// a holder cut off from the database stops appending within about this long.
const leaseInterval = 250 * time.Millisecond

// takeoverGrace is how long a new holder waits before it appends. A holder whose session the
// database ended while it lives on (a restart, pg_terminate_backend) notices at its next
// ping, within two intervals (the tick, then the ping's timeout), and stops appending; until
// then the lock is free but the old holder may still append, and two appenders corrupt the
// log. A holder that died needs no grace, but nothing tells the two cases apart; only a log
// directory that no one ever opened for appending had no holder to wait for.
const takeoverGrace = 3 * leaseInterval

// ErrLeaseLost reports that this replica could no longer vouch for its log-owner lease and
// stopped appending: it must exit, and may be started again as a replica.
var ErrLeaseLost = errors.New("lost the log-owner lease: stopped appending to the log")

// replicaLog is a replica's log: the read-only view of the shared log directory while
// another replica holds the log-owner lease, the appender while this one does. It tells the
// service which (service.Standby), so that a standby only signs.
type replicaLog struct {
	cur       atomic.Pointer[tlog.Log]
	appending atomic.Bool
}

var _ service.Standby = (*replicaLog)(nil)

func (r *replicaLog) Appending() bool { return r.appending.Load() }

func (r *replicaLog) Append(ctx context.Context, leaf []byte) (uint64, error) {
	return r.cur.Load().Append(ctx, leaf)
}

func (r *replicaLog) Checkpoint(ctx context.Context) ([]byte, *f_log.Checkpoint, error) {
	return r.cur.Load().Checkpoint(ctx)
}

func (r *replicaLog) AwaitCheckpoint(ctx context.Context, index uint64) ([]byte, *f_log.Checkpoint, error) {
	return r.cur.Load().AwaitCheckpoint(ctx, index)
}

func (r *replicaLog) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	return r.cur.Load().InclusionProof(ctx, index, size)
}

func (r *replicaLog) ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error) {
	return r.cur.Load().ConsistencyProof(ctx, from, to)
}

// replica runs a `comet serve` process on PostgreSQL that shares the database and the log
// directory with others: it waits for the log-owner lease, and on taking it opens the log
// for appending, works the log's queue and logs what the others signed, until it is closed
// or loses the lease.
type replica struct {
	log     *replicaLog
	view    *tlog.Log
	logDir  string
	openLog func(context.Context) (*tlog.Log, func(context.Context) error, error)
	acquire func(context.Context) (*pglock.Lease, error)
	queue   *jobs.Queue
	every   time.Duration // how often the holder logs what others signed
	logger  *slog.Logger

	cancel context.CancelFunc
	done   chan struct{} // closed when run returns
	fenced chan struct{} // closed when run stopped appending without being asked to
	err    error         // why it was fenced; read after fenced is closed

	// Held after run returns, for close to release in order.
	lease       *pglock.Lease
	shutdownLog func(context.Context) error
	cancelLog   context.CancelFunc
}

// start runs the replica until close.
func (r *replica) start(ctx context.Context, svc *service.Service) {
	ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	r.done, r.fenced = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.done)
		if err := r.run(ctx, svc); err != nil {
			r.err = err
			close(r.fenced)
		}
	}()
}

// run returns nil when ctx ends, and an error when this replica had to stop appending.
func (r *replica) run(ctx context.Context, svc *service.Service) error {
	waiting := time.Now()
	lease, err := r.acquire(ctx)
	if err != nil {
		return nil // closed while waiting for the lease
	}
	r.lease = lease
	grace := takeoverGrace
	if _, err := os.Stat(filepath.Join(r.logDir, tlog.Paths{}.Private())); errors.Is(err, fs.ErrNotExist) {
		grace = 0 // tessera makes its private state when an appender first opens the directory
	}
	r.logger.InfoContext(ctx, "took the log-owner lease", slog.Duration("waited", time.Since(waiting)), slog.Duration("grace", grace))
	select {
	case <-ctx.Done():
		return nil
	case <-lease.Lost():
		return ErrLeaseLost
	case <-time.After(grace):
	}
	took := time.Now()
	// The log's background work must stop the moment the lease is lost, not when Close gets to it.
	logCtx, cancelLog := context.WithCancel(context.WithoutCancel(ctx))
	r.cancelLog = cancelLog
	l, shutdown, err := r.openLog(logCtx)
	if err != nil {
		return fmt.Errorf("open the log as its owner: %w", err)
	}
	r.shutdownLog = shutdown
	r.log.cur.Store(l)
	r.log.appending.Store(true)
	if err := r.queue.WorkLog(ctx, r.logger); err != nil {
		return r.fence(err)
	}
	r.logger.InfoContext(ctx, "log owner: appending", slog.Duration("opened_in", time.Since(took)))
	t := time.NewTicker(r.every)
	defer t.Stop()
	var anchorTick <-chan time.Time // nil without anchoring
	if every := r.queue.AnchorEvery(); every > 0 {
		at := time.NewTicker(every)
		defer at.Stop()
		anchorTick = at.C
		r.scheduleAnchor(ctx)
	}
	for {
		// What others signed, and what a dead holder signed but did not log, at once and then
		// on every tick; an entry the dead holder did append is found in the log, not added again.
		if err := svc.LogPending(ctx); err != nil && ctx.Err() == nil {
			r.logger.WarnContext(ctx, "log pending", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-lease.Lost():
			return r.fence(ErrLeaseLost)
		case <-anchorTick:
			r.scheduleAnchor(ctx)
		case <-t.C:
		}
	}
}

func (r *replica) scheduleAnchor(ctx context.Context) {
	if err := r.queue.ScheduleAnchor(ctx); err != nil && ctx.Err() == nil {
		r.logger.WarnContext(ctx, "schedule anchoring", slog.Any("error", err))
	}
}

// fence stops appending at once: the service only signs again, and the log's background
// work (sequencing, checkpoints) stops without publishing what is pending, since another
// replica may already append. What was acknowledged is in the log on disk; what was not
// is signed in the database, and the next holder logs it.
func (r *replica) fence(cause error) error {
	r.log.appending.Store(false)
	r.log.cur.Store(r.view)
	r.cancelLog()
	r.shutdownLog = nil
	r.logger.Error("stopped appending to the log", slog.Any("error", cause))
	return cause
}

// close stops the replica; a holder publishes what it appended, then gives the lease up.
func (r *replica) close(ctx context.Context) error {
	if r.cancel == nil {
		return nil // never started
	}
	r.cancel()
	<-r.done
	var errs []error
	if r.shutdownLog != nil {
		errs = append(errs, r.shutdownLog(ctx))
	}
	if r.cancelLog != nil {
		r.cancelLog()
	}
	if r.lease != nil {
		errs = append(errs, r.lease.Release(ctx))
	}
	return errors.Join(errs...)
}
