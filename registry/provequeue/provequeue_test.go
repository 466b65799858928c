package provequeue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/comet-attest/comet/internal/pgtest"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/pipeline"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/prover/train"
)

func TestSeal(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "queue.key")
	k, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("create key: %v, created %v", err, created)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi.Mode(), err)
	}
	again, created, err := LoadOrCreateKey(path)
	if err != nil || created {
		t.Fatalf("load key: %v, created %v", err, created)
	}
	other, _, err := LoadOrCreateKey(filepath.Join(dir, "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	var salt commitment.Salt
	salt[3] = 9
	box, err := k.seal("run1", secrets{Salt: salt, Task: proof.ChunkTask{Index: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(fmt.Sprintf("%x", box), fmt.Sprintf("%x", salt[:4])) {
		t.Error("the salt shows in the sealed box")
	}
	if s, err := again.open("run1", 2, box); err != nil || s.Salt != salt {
		t.Fatalf("open with the same key: %v", err)
	}
	for _, c := range []struct {
		name  string
		key   *Key
		run   string
		index int
		box   []byte
	}{
		{"another key", other, "run1", 2, box},
		{"another run", k, "run2", 2, box},
		{"another chunk", k, "run1", 3, box},
		{"truncated", k, "run1", 2, box[:5]},
		{"flipped bit", k, "run1", 2, append(append([]byte(nil), box[:len(box)-1]...), box[len(box)-1]^1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := c.key.open(c.run, c.index, c.box); !errors.Is(err, ErrKey) {
				t.Errorf("err = %v, want ErrKey", err)
			}
		})
	}
	writeBad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(writeBad, []byte("abcd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(writeBad); err == nil {
		t.Error("a short key loaded")
	}
}

// run is a small dataset committed, trained and planned, ready to enqueue.
type run struct {
	dir, csv string
	spec     Spec
	man      *commitment.Manifest
	model    *model.Model
	salt     commitment.Salt
	keys     *setup.Keys
	tasks    []proof.ChunkTask
	work     string
}

func plan(t *testing.T) *run {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	var sb strings.Builder
	sb.WriteString("a,b,y\n")
	for range 40 {
		a, b := rng.NormFloat64(), rng.NormFloat64()
		fmt.Fprintf(&sb, "%.4f,%.4f,%.4f\n", a, b, 2*a-b+0.1*rng.NormFloat64())
	}
	r := &run{dir: dir, csv: filepath.Join(dir, "data.csv"), work: filepath.Join(dir, "work")}
	if err := os.WriteFile(r.csv, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r.salt[0] = 42
	var err error
	r.man, err = pipeline.Commit(ctx, r.csv, pipeline.CommitOptions{Label: "y", Format: fixedpoint.Format{FractionBits: 12, ValueBits: 24}, ChunkRows: 16, Salt: r.salt})
	if err != nil {
		t.Fatal(err)
	}
	table, err := pipeline.ReadCommitted(ctx, r.csv, r.man, &r.salt)
	if err != nil {
		t.Fatal(err)
	}
	if r.model, _, err = pipeline.Train(ctx, table, r.man, train.Options{Kind: train.KindRidge, Lambda: 0.5, Intercept: true}); err != nil {
		t.Fatal(err)
	}
	keysDir := filepath.Join(dir, "keys")
	if r.keys, _, err = setup.Ensure(ctx, keysDir, circuit.ShapeOf(r.man.Header, r.model.FitIntercept), setup.Proving); err != nil {
		t.Fatal(err)
	}
	r.spec = Spec{Data: r.csv, Manifest: filepath.Join(dir, "m.json"), Model: filepath.Join(dir, "model.json"), Keys: keysDir, Provider: "acme-legal"}
	for path, m := range map[string]interface{ Marshal() ([]byte, error) }{r.spec.Manifest: r.man, r.spec.Model: r.model} {
		data, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if r.tasks, err = proof.Plan(ctx, r.keys, r.request(), r.work); err != nil {
		t.Fatal(err)
	}
	if r.spec.Offsets, err = proof.ChunkOffsets(ctx, r.csv, r.man.Header); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *run) request() proof.Request {
	return proof.Request{Manifest: r.man, Model: r.model, Salt: r.salt, Rows: proof.CSVSource(r.csv, r.man), Provider: r.spec.Provider}
}

func openQueue(t *testing.T) *Queue {
	t.Helper()
	q, err := Open(context.Background(), pgtest.SchemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q
}

func startWorker(t *testing.T, q *Queue, key *Key, id string) {
	t.Helper()
	w, err := q.NewWorker(key, WorkerOptions{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := w.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
}

// TestQueue proves a run on two in-process workers over PostgreSQL and checks the bundle
// Prove assembles from their proofs, then runs that cannot finish: data that does not match
// (cancelled at once) and workers with another key (retried, never proven).
func TestQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("proves on PostgreSQL")
	}
	ctx := context.Background()
	r := plan(t)
	key, _, err := LoadOrCreateKey(filepath.Join(r.dir, "queue.key"))
	if err != nil {
		t.Fatal(err)
	}
	q := openQueue(t)
	if _, err := Open(ctx, strings.Replace(pgtest.DSN(), "?", "?search_path=a,b&", 1)); err == nil {
		t.Error("a search_path of two schemas opened")
	}
	run, err := Begin(len(r.tasks))
	if err != nil {
		t.Fatal(err)
	}
	startWorker(t, q, key, "w1")
	startWorker(t, q, key, "w2")
	var last Progress
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// Planned again in the same work directory, the run has plan's tasks.
	proofs, err := q.Prove(wctx, key, r.spec, r.salt, run, func(ctx context.Context, emit func(proof.ChunkTask) error) error {
		return proof.PlanEach(ctx, r.keys, r.request(), r.work, emit)
	}, 200*time.Millisecond, func(p Progress) { last = p })
	if err != nil {
		t.Fatal(err)
	}
	if len(proofs) != 3 || last.Done != 3 || last.Total != 3 || last.Workers["w1"]+last.Workers["w2"] != 3 || !strings.HasPrefix(last.String(), "chunks 3/3") {
		t.Fatalf("%d proofs, progress %+v (%s)", len(proofs), last, last)
	}
	for _, cp := range proofs {
		if err := proof.SaveChunkProof(r.work, cp); err != nil {
			t.Fatal(err)
		}
	}
	var pr proof.Progress
	b, err := proof.Prove(ctx, r.keys, r.request(), proof.Options{WorkDir: r.work, Progress: func(p proof.Progress) { pr = p }})
	if err != nil {
		t.Fatal(err)
	}
	if pr.Reused != 3 {
		t.Errorf("Prove reused %d chunk proofs, want 3", pr.Reused)
	}
	vk, err := setup.Load(ctx, r.spec.Keys, circuit.ShapeOf(r.man.Header, r.model.FitIntercept), setup.Verifying)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := proof.Verify(ctx, b, proof.Inputs{Model: r.model, Manifest: r.man, Provider: r.spec.Provider}, vk); err != nil {
		t.Fatal(err)
	}
	if err := q.Forget(ctx, run); err != nil {
		t.Fatal(err)
	}

	// Rows that no longer hash to the manifest: the chunk is cancelled, the run fails.
	lines := strings.Split(strings.TrimSpace(mustRead(t, r.csv)), "\n")
	lines[20] = "0.5,0.5,0.5"
	altered := r.spec
	altered.Data = filepath.Join(r.dir, "altered.csv")
	if err := os.WriteFile(altered.Data, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := enqueue(t, q, key, altered, r.salt, r.tasks[1:2])
	if _, err := q.Wait(wctx, bad, 200*time.Millisecond, func(Progress) {}); !errors.Is(err, ErrChunkFailed) || !strings.Contains(err.Error(), "data does not match") {
		t.Errorf("altered data: %v", err)
	}

	// A run sealed with another key: the workers cannot open it and nothing is proven.
	otherKey, _, err := LoadOrCreateKey(filepath.Join(r.dir, "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	sealed := enqueue(t, q, otherKey, r.spec, r.salt, r.tasks[:1])
	short, cancelShort := context.WithTimeout(ctx, 3*time.Second)
	defer cancelShort()
	var seen Progress
	if _, err := q.Wait(short, sealed, 200*time.Millisecond, func(p Progress) { seen = p }); !errors.Is(err, context.DeadlineExceeded) || seen.Done != 0 {
		t.Errorf("another key: %v, progress %+v", err, seen)
	}
	// Withdrawn, its job is cancelled rather than left to the workers; a finished run's
	// withdrawal changes nothing.
	if err := q.Cancel(ctx, sealed); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Progress(ctx, sealed); !errors.Is(err, ErrChunkFailed) {
		t.Errorf("progress of a withdrawn run: %v", err)
	}
	if err := q.Cancel(ctx, run); err != nil {
		t.Fatal(err)
	}
	if p, err := q.Progress(ctx, run); err != nil || p.Done != 0 {
		t.Errorf("a finished run withdrawn: %+v, %v", p, err)
	}
}

// testKey makes a queue key in a temporary directory.
func testKey(t *testing.T) *Key {
	t.Helper()
	key, _, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "queue.key"))
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// enqueue queues a run of the tasks at once.
func enqueue(t *testing.T, q *Queue, key *Key, spec Spec, salt commitment.Salt, tasks []proof.ChunkTask) *Run {
	t.Helper()
	run, err := Begin(len(tasks))
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Add(context.Background(), key, spec, salt, run, tasks); err != nil {
		t.Fatal(err)
	}
	return run
}

// TestProveWithdrawsAFailedPlan: a planner that fails after some chunks are queued (as
// proof.PlanEach does when the data's sums do not match the model) ends the run, and every
// job it queued is cancelled, so that no worker proves a chunk of it.
func TestProveWithdrawsAFailedPlan(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t)
	key := testKey(t)
	const chunks = batch + 8
	run, err := Begin(chunks)
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{Offsets: proof.Offsets{Chunks: make([]int64, chunks)}}
	failed := errors.New("the rows give another ssr")
	_, err = q.Prove(ctx, key, spec, commitment.Salt{}, run, func(ctx context.Context, emit func(proof.ChunkTask) error) error {
		for i := range chunks {
			if err := emit(proof.ChunkTask{Index: i}); err != nil {
				return err
			}
		}
		return failed
	}, 50*time.Millisecond, func(Progress) {})
	if !errors.Is(err, failed) {
		t.Fatalf("Prove: %v, want the planner's error", err)
	}
	var states []string
	rows, err := q.pool.Query(ctx, `SELECT state FROM `+q.table("river_job")+` WHERE args->>'run' = $1`, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		states = append(states, s)
	}
	if len(states) != batch {
		t.Fatalf("%d jobs queued, want the first batch of %d", len(states), batch)
	}
	for _, s := range states {
		if s != "cancelled" {
			t.Fatalf("job states %v, want all cancelled", states)
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The planner and the workers open the queue at once on a fresh database: the set-up runs
// once, under its lock, and every opener gets a working queue.
func TestOpenConcurrently(t *testing.T) {
	url := pgtest.SchemaURL(t)
	errs := make(chan error, 4)
	for range cap(errs) {
		go func() {
			q, err := Open(context.Background(), url)
			if err == nil {
				_, err = q.Progress(context.Background(), &Run{ID: "none", Started: time.Now()})
				q.Close()
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestProgressString(t *testing.T) {
	for _, c := range []struct {
		p    Progress
		want string
	}{
		{Progress{Total: 8, Elapsed: time.Second}, "chunks 0/8, 0 running, 0.00 chunks/s"},
		{Progress{Done: 2, Total: 8, Running: 2, Workers: map[string]int{"b": 1, "a": 1}, Elapsed: 4 * time.Second},
			"chunks 2/8, 2 running (a: 1, b: 1), 0.50 chunks/s, ETA 12s"},
		{Progress{Done: 8, Total: 8, Workers: map[string]int{"a": 8}, Retried: 1, Elapsed: 16 * time.Second},
			"chunks 8/8, 0 running (a: 8), 0.50 chunks/s, 1 retried"},
		{Progress{Done: 3, Total: 8, Running: 1, Workers: map[string]int{"a": 3}, Retried: 2, Rescued: 1, Elapsed: 6 * time.Second},
			"chunks 3/8, 1 running (a: 3), 0.50 chunks/s, ETA 10s, 2 retried, 1 taken back from dead workers"},
	} {
		if got := c.p.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.p, got, c.want)
		}
	}
}
