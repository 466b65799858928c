package provequeue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/registry/pglock"
)

// TestDeadWorkersChunksAreTakenBack sets a run's chunks running under workers that hold
// their lease, one that never did and one that let it go, and checks that a
// progress reading gives back exactly the chunks of the two dead ones, once.
func TestDeadWorkersChunksAreTakenBack(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t)
	key := testKey(t)
	// Advisory lock keys are split in two 32-bit halves in pg_locks: live workers whose keys
	// are negative and positive both count as alive, so the live ones have keys of both signs.
	var alive []string
	var signs [2]int
	for i := 0; signs[0] < 2 || signs[1] < 2; i++ {
		if i == 64 {
			t.Fatalf("64 workers' keys and still not two of each sign (%v)", signs)
		}
		// The number first: FNV's top bit hardly moves with a name's last bytes.
		id := fmt.Sprintf("%d-alive", i)
		alive = append(alive, id)
		signs[pglock.Key(workerLease(q.schema, id))>>63&1]++
		l, err := pglock.TryAcquire(ctx, q.pool, workerLease(q.schema, id), time.Second, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Release(context.Background()) })
	}
	gone, err := pglock.TryAcquire(ctx, q.pool, workerLease(q.schema, "gone"), time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := gone.Release(ctx); err != nil {
		t.Fatal(err)
	}

	owners := append(append([]string(nil), alive...), "gone", "never-locked")
	tasks := make([]proof.ChunkTask, len(owners))
	offsets := proof.Offsets{Chunks: make([]int64, len(owners))}
	for i := range tasks {
		tasks[i].Index = i
	}
	run := enqueue(t, q, key, Spec{Offsets: offsets}, commitment.Salt{}, tasks)
	for i, id := range owners {
		if _, err := q.pool.Exec(ctx, `UPDATE `+q.table("river_job")+` SET state = 'running', attempt = 1, attempted_at = now(),
			attempted_by = ARRAY['earlier-worker', $2] WHERE id = $1`, run.jobs[i], id); err != nil {
			t.Fatal(err)
		}
	}
	p, err := q.Progress(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if p.Rescued != 2 || p.Running != len(alive) {
		t.Fatalf("progress %+v (%s): want 2 taken back, %d running", p, p, len(alive))
	}
	for i, id := range owners {
		var state string
		if err := q.pool.QueryRow(ctx, `SELECT state FROM `+q.table("river_job")+` WHERE id = $1`, run.jobs[i]).Scan(&state); err != nil {
			t.Fatal(err)
		}
		want := "running"
		if i >= len(alive) {
			want = "available"
		}
		if state != want {
			t.Errorf("chunk of %s: %s, want %s", id, state, want)
		}
	}
	if p, err := q.Progress(ctx, run); err != nil || p.Rescued != 0 {
		t.Errorf("second reading: %+v, %v", p, err)
	}
}

// TestWorkerStopsWhenItLosesItsSession ends a running worker's lock session from outside,
// as a database restart or a network cut would, and checks that the worker says so.
func TestWorkerStopsWhenItLosesItsSession(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t)
	key := testKey(t)
	w, err := q.NewWorker(key, WorkerOptions{ID: "cut-off"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := q.NewWorker(key, WorkerOptions{ID: "cut-off"})
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Start(ctx); !errors.Is(err, ErrWorkerIDInUse) {
		t.Errorf("a second worker named cut-off started: %v", err)
	}
	if tag, err := q.pool.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "+
		"((classid::bigint << 32) | objid::bigint) = $1", pglock.Key(workerLease(q.schema, "cut-off"))); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("end the worker's session: %v, %v", tag, err)
	}
	select {
	case <-w.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not notice it lost its session")
	}
	stop, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := w.Stop(stop); err != nil {
		t.Fatal(err)
	}
}
