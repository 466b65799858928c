package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/comet-attest/comet/chain/starknettest"
	"github.com/comet-attest/comet/internal/pgtest"
	"github.com/comet-attest/comet/registry/jobs"
	"github.com/comet-attest/comet/registry/store"
	"github.com/jackc/pgx/v5"
)

// logProcessor records the revocations it is asked to log; the queue calls nothing else here.
type logProcessor struct{ logged chan string }

func (p logProcessor) ProcessSubmission(context.Context, string) error       { return nil }
func (p logProcessor) GiveUp(context.Context, string, error) error           { return nil }
func (p logProcessor) ProcessEvaluation(context.Context, string) error       { return nil }
func (p logProcessor) GiveUpEvaluation(context.Context, string, error) error { return nil }
func (p logProcessor) RequeueStale(context.Context) error                    { return nil }
func (p logProcessor) LogRevocation(_ context.Context, id string) error      { p.logged <- id; return nil }

// A replica waiting for the log-owner lease does not work the log queue; once it takes the
// lease it does, beginning with the job that the dead holder left "running".
func TestWorkLogRescuesTheDeadHoldersJobs(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.Schema(t)
	st, err := store.Open(ctx, store.Options{DSN: pgtest.DSN(), Schema: schema, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q, err := jobs.New(st, jobs.Options{Workers: 1, PollInterval: 20 * time.Millisecond, MaxAttempts: 3, JobTimeout: time.Minute,
		RescueAfter: time.Hour, LogCandidate: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"rev-dead", "rev-new"} {
		if err := st.InTx(ctx, func(tx *store.Tx) error { _, err := q.EnqueueRevocation(ctx, tx, id); return err }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.PgxPool().Exec(ctx, "UPDATE "+pgx.Identifier{schema, "river_job"}.Sanitize()+
		" SET state = 'running', attempt = 1, attempted_at = now(), attempted_by = ARRAY['dead-holder'] WHERE args->>'revocation_id' = 'rev-dead'"); err != nil {
		t.Fatal(err)
	}
	p := logProcessor{logged: make(chan string, 2)}
	if err := q.Start(ctx, p); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	select {
	case id := <-p.logged:
		t.Fatalf("a replica without the lease logged %s", id)
	case <-time.After(300 * time.Millisecond):
	}
	if err := q.WorkLog(ctx, quiet); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for len(got) < 2 {
		select {
		case id := <-p.logged:
			got[id] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("logged only %v after taking the lease", got)
		}
	}
}

// The log owner's own schedule of anchoring adds one job at a time beside River's periodic
// one, and says how often to call it.
func TestScheduleAnchorIsASingleton(t *testing.T) {
	ctx := context.Background()
	e := newChainEnv(t, starknettest.Config{})
	q, err := jobs.New(e.st, jobs.Options{Workers: 1, PollInterval: 20 * time.Millisecond, MaxAttempts: 3, JobTimeout: time.Minute,
		RescueAfter: time.Hour, LogCandidate: true, Anchor: &e.opts, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if got := q.AnchorEvery(); got != 10*time.Second {
		t.Errorf("anchor every %s with an interval of %s, want 10s", got, e.opts.Interval)
	}
	for range 3 {
		if err := q.ScheduleAnchor(ctx); err != nil {
			t.Fatal(err)
		}
	}
	js, _, err := q.List(ctx, jobs.ListParams{Kind: jobs.AnchorArgs{}.Kind()})
	if err != nil {
		t.Fatal(err)
	}
	if len(js) != 1 || js[0].Queue != jobs.QueueLog {
		t.Fatalf("%d anchoring jobs after three schedules, want one on the log queue: %+v", len(js), js)
	}
	if q, _ := jobs.New(e.st, jobs.Options{Workers: 1, MaxAttempts: 3, Logger: quiet}); q.AnchorEvery() != 0 {
		t.Error("a queue without anchoring schedules it")
	}
}
