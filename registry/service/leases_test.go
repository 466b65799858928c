package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
)

// A verifying job holds its submission's lease and renews it while it works; when the job
// ends the lease is gone. A lease left by a worker that died goes to exactly one RequeueStale,
// which gives the submission a new job; a final submission's stale lease is dropped unqueued.
func TestLeases(t *testing.T) {
	ctx := context.Background()
	leases := service.Leases{Heartbeat: 20 * time.Millisecond, StaleAfter: time.Minute}
	e, stub := newStubEnvWith(t, envConfig{leases: leases})
	lease := func(id string) []store.SubmissionLease {
		t.Helper()
		all, err := e.st.StaleSubmissionLeases(ctx, time.Now().Add(time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []store.SubmissionLease
		for _, l := range all {
			if l.SubmissionID == id {
				out = append(out, l)
			}
		}
		return out
	}

	live := e.submit(t, 1, nil)
	var during []store.SubmissionLease
	stub.beforeVerify = func(service.Parts) {
		first := lease(live.ID)
		time.Sleep(5 * leases.Heartbeat)
		during = append(first, lease(live.ID)...)
	}
	if s := e.process(t, live.ID); s.Status != store.StatusLogged {
		t.Fatalf("submission %s: %s %s", s.ID, s.Status, s.Message)
	}
	if len(during) != 2 || !during[1].BeatAt.After(during[0].BeatAt) || !strings.Contains(during[0].Holder, "/") {
		t.Fatalf("while verifying, the lease was %+v: want one, renewed", during)
	}
	if l := lease(live.ID); len(l) != 0 {
		t.Fatalf("lease kept after the job: %+v", l)
	}
	stub.beforeVerify = nil

	// A worker that died mid-job: its lease stopped 2 minutes ago.
	dead := e.submit(t, 2, nil)
	done := live
	for _, id := range []string{dead.ID, done.ID} {
		if err := e.st.InTx(ctx, func(tx *store.Tx) error {
			return tx.BeatSubmission(ctx, id, "gone/1/x", time.Now().UTC().Add(-2*time.Minute))
		}); err != nil {
			t.Fatal(err)
		}
	}
	before := e.written(t)
	if err := e.svc.RequeueStale(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RequeueStale(ctx); err != nil { // a second process finding the same leases
		t.Fatal(err)
	}
	if got := e.written(t); got.jobs != before.jobs+1 {
		t.Fatalf("requeued %d jobs, want 1 (the dead worker's open submission only)", got.jobs-before.jobs)
	}
	requeued := e.submission(t, dead.ID)
	if requeued.JobID == nil || *requeued.JobID == *dead.JobID {
		t.Fatalf("submission %s kept job %v", dead.ID, requeued.JobID)
	}
	for _, id := range []string{dead.ID, done.ID} {
		if l := lease(id); len(l) != 0 {
			t.Errorf("stale lease of %s still there: %+v", id, l)
		}
	}
	if !strings.Contains(e.logs.String(), "requeued the submission of a worker") {
		t.Errorf("requeue not logged:\n%s", e.logs.String())
	}

	// A worker that died after River marked its job running and before the first
	// heartbeat: no lease at all. Its job started 2 minutes ago is requeued once; a job
	// started just now is a live worker's, about to take its lease.
	fetched, starting := e.submit(t, 3, nil), e.submit(t, 4, nil)
	for id, at := range map[int64]time.Time{*fetched.JobID: time.Now().Add(-2 * time.Minute), *starting.JobID: time.Now()} {
		if _, err := e.st.SQLiteDB().ExecContext(ctx, "UPDATE river_job SET state = 'running', attempt = 1, attempted_at = ? WHERE id = ?", at.UTC(), id); err != nil {
			t.Fatal(err)
		}
	}
	before = e.written(t)
	for range 2 {
		if err := e.svc.RequeueStale(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.written(t); got.jobs != before.jobs+1 {
		t.Fatalf("requeued %d jobs, want 1 (the job started 2 minutes ago without a lease)", got.jobs-before.jobs)
	}
	if s := e.submission(t, fetched.ID); *s.JobID == *fetched.JobID {
		t.Fatalf("submission %s kept its dead job %d", s.ID, *s.JobID)
	}
	if s := e.submission(t, starting.ID); *s.JobID != *starting.JobID {
		t.Fatalf("submission %s of a live worker requeued", s.ID)
	}
}
