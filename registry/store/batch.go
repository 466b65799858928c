package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// ErrClosed reports a store that is closed.
var ErrClosed = errors.New("store closed")

// maxBatch bounds how many transactions share one SQLite commit.
const maxBatch = 128

type batchReq struct {
	ctx  context.Context
	fn   func(tx *Tx) error
	done chan error
}

// InBatchTx runs fn like InTx, atomically, but on SQLite it may share one database
// transaction, and so one fsync, with other InBatchTx calls running at the same moment: each
// runs in its own savepoint, so one that fails is rolled back alone, and none returns before
// the shared commit is durable. Concurrent writers then cost one fsync per batch instead of
// one each. On PostgreSQL, whose commits are grouped by the server, it is InTx.
//
// fn must not depend on running in a transaction of its own (it sees the writes of the calls
// batched before it, as it would had they committed first).
func (s *Store) InBatchTx(ctx context.Context, fn func(tx *Tx) error) error {
	if s.batch == nil {
		return s.InTx(ctx, fn)
	}
	r := &batchReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.batch <- r:
	case <-s.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the call may run: wait for its outcome, whatever ctx does, so that the
	// caller never acknowledges or retries a write whose fate it does not know.
	return <-r.done
}

// runBatches commits queued InBatchTx calls, as many as are waiting, in one transaction.
func (s *Store) runBatches() {
	defer close(s.batchDone)
	for {
		var first *batchReq
		select {
		case first = <-s.batch:
		case <-s.stop:
			return
		}
		reqs := []*batchReq{first}
	drain:
		for len(reqs) < maxBatch {
			select {
			case r := <-s.batch:
				reqs = append(reqs, r)
			default:
				break drain
			}
		}
		s.commitBatch(reqs)
	}
}

func (s *Store) commitBatch(reqs []*batchReq) {
	errs := make([]error, len(reqs))
	err := s.w.Transaction(func(g *gorm.DB) error {
		st, ok := g.Statement.ConnPool.(*sql.Tx)
		if !ok {
			return fmt.Errorf("transaction: unexpected connection %T", g.Statement.ConnPool)
		}
		for i, r := range reqs {
			if errs[i] = r.ctx.Err(); errs[i] != nil {
				continue
			}
			sp := fmt.Sprintf("b%d", i)
			if err := g.SavePoint(sp).Error; err != nil {
				return err
			}
			if errs[i] = r.fn(&Tx{Queries: Queries{db: g.WithContext(r.ctx)}, SQL: st}); errs[i] != nil {
				if err := g.RollbackTo(sp).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
	for i, r := range reqs {
		if err != nil && errs[i] == nil {
			errs[i] = fmt.Errorf("commit: %w", err)
		}
		r.done <- errs[i]
	}
}
