package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/comet-attest/comet/internal/pgtest"
	"github.com/comet-attest/comet/registry/jobs"
	"github.com/comet-attest/comet/registry/store"
)

// An operator retries and cancels jobs only from the states that allow it, in the
// transaction of the audit record, on both databases.
func TestRetryCancel(t *testing.T) {
	for name, o := range map[string]func(t *testing.T) store.Options{
		"sqlite": func(t *testing.T) store.Options {
			return store.Options{SQLitePath: filepath.Join(t.TempDir(), "comet.db")}
		},
		"postgres": func(t *testing.T) store.Options { return store.Options{DSN: pgtest.DSN(), Schema: pgtest.Schema(t)} },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			opts := o(t)
			opts.Logger = quiet
			st, err := store.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			q, err := jobs.New(st, jobs.Options{Workers: 1, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			var id int64
			if err := st.InTx(ctx, func(tx *store.Tx) (err error) {
				id, err = q.EnqueueSubmission(ctx, tx, "sub_test")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			// Never started, the job stays where each step leaves it.
			for i, step := range []struct {
				cancel   bool
				want     string // the state after, or "" for a conflict
				rollback bool
			}{
				{cancel: false, want: ""},                         // available: nothing to retry
				{cancel: true, want: "cancelled", rollback: true}, // undone with its transaction
				{cancel: true, want: "cancelled"},                 // available → cancelled
				{cancel: true, want: ""},                          // cancelled already
				{cancel: false, want: "available"},                // cancelled → available
			} {
				errRollback := errors.New("rolled back")
				err := st.InTx(ctx, func(tx *store.Tx) error {
					op := q.Retry
					if step.cancel {
						op = q.Cancel
					}
					j, err := op(ctx, tx, id)
					if err != nil {
						return err
					}
					if string(j.State) != step.want {
						t.Errorf("step %d: state %s, want %s", i, j.State, step.want)
					}
					if step.rollback {
						return errRollback
					}
					return nil
				})
				switch {
				case step.want == "" && !errors.Is(err, jobs.ErrConflict):
					t.Fatalf("step %d: %v, want a conflict", i, err)
				case step.want != "" && !step.rollback && err != nil:
					t.Fatalf("step %d: %v", i, err)
				}
				if step.rollback {
					if j, _ := q.Job(ctx, id); j.State != "available" {
						t.Fatalf("step %d: a rolled-back cancel left the job %s", i, j.State)
					}
				}
			}
			counts, err := q.Counts(ctx)
			if err != nil || counts["available"] != 1 || counts["cancelled"] != 0 || len(counts) != len(jobs.States()) {
				t.Errorf("counts %v, %v", counts, err)
			}
			if err := st.InTx(ctx, func(tx *store.Tx) error { _, err := q.Cancel(ctx, tx, 999999); return err }); !errors.Is(err, jobs.ErrNotFound) {
				t.Errorf("cancel of no job: %v", err)
			}
		})
	}
}
