package tlog_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/attesttest"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/tlog"
	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A witness that refuses is logged by name and status and counted, the checkpoint it holds
// back is reported as not published, and both recover when it cosigns again; a witness
// that does not answer is recorded as unreachable. The refusals are injected (the real
// witness process tests are in cmd/comet: TestRealWitnesses).
func TestWitnessFailuresReported(t *testing.T) {
	k, err := keys.Generate(origin)
	if err != nil {
		t.Fatal(err)
	}
	a, err := attesttest.NewWitness("witness.test/a", origin, k.Verifier())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Server.Close()
	b, err := attesttest.NewWitness("witness.test/b", origin, k.Verifier())
	if err != nil {
		t.Fatal(err)
	}
	b.Server.Close() // b answers through the fault-injecting server below
	var refuse atomic.Bool
	faulty := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if refuse.Load() {
			http.Error(rw, "bad consistency proof", http.StatusUnprocessableEntity)
			return
		}
		b.ServeHTTP(rw, r)
	}))
	defer faulty.Close()

	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, shutdown, err := tlog.Open(ctx, t.TempDir(), k, k.Verifier(), tlog.Options{
		CheckpointInterval: tlog.MinCheckpointInterval, WitnessTimeout: 300 * time.Millisecond, WitnessQuorum: 2,
		Witnesses: []tlog.Witness{
			{Key: a.Key.Verifier().String(), URL: a.Server.URL},
			{Key: b.Key.Verifier().String(), URL: faulty.URL, Name: "b"},
		},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	appendAndAwait := func(leaf string, within time.Duration) ([]byte, error) {
		t.Helper()
		i, err := l.Append(ctx, []byte(leaf))
		if err != nil {
			t.Fatal(err)
		}
		actx, acancel := context.WithTimeout(ctx, within)
		defer acancel()
		raw, _, err := l.AwaitCheckpoint(actx, i)
		return raw, err
	}
	waitFor := func(what string, cond func(tlog.Status) bool) tlog.Status {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, err := l.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if cond(st) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: status %+v\n%s", what, st, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	raw, err := appendAndAwait("one", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []*attesttest.Witness{a, b} {
		v, err := f_note.NewVerifierForCosignatureV1(w.Key.Verifier().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := note.Open(raw, note.VerifierList(v)); err != nil {
			t.Errorf("published checkpoint lacks %s's cosignature: %v\n%s", v.Name(), err, raw)
		}
	}
	st := waitFor("both cosigned", func(st tlog.Status) bool {
		return len(st.Witnesses) == 2 && st.Witnesses[0].CosignedSize == 1 && st.Witnesses[1].CosignedSize == 1
	})
	if st.Witnesses[0].Name != "witness.test/a" || st.Witnesses[1].Name != "b" || st.Quorum != 2 || st.Published != 1 {
		t.Errorf("status %+v", st)
	}

	// b refuses: the checkpoint is held back, and that is said.
	refuse.Store(true)
	if _, err := appendAndAwait("two", time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a checkpoint was published without b's cosignature: %v", err)
	}
	st = waitFor("held back", func(st tlog.Status) bool {
		return st.Witnesses[1].Failing && st.Witnesses[1].Failures["422"] > 0 && !st.UnpublishedSince.IsZero() &&
			strings.Contains(logs.String(), "checkpoint not published")
	})
	if st.Published != 1 || st.Integrated != 2 || st.Witnesses[0].Failing || !strings.Contains(st.Witnesses[1].LastFailure, "HTTP 422: bad consistency proof") {
		t.Errorf("status while b refuses %+v", st)
	}
	for _, re := range []string{
		`level=WARN msg="witness refused checkpoint" witness=b url=\S+/add-checkpoint status=422 reason=422 answer="HTTP 422: bad consistency proof" old_size=1 size=2`,
		`level=WARN msg="checkpoint not published: witness quorum not met" published_size=1 integrated_size=2 \S+ quorum=2 witnesses=2 failing="b: HTTP 422: bad consistency proof"`,
	} {
		if !regexp.MustCompile(re).MatchString(logs.String()) {
			t.Errorf("no log line matching %s:\n%s", re, logs.String())
		}
	}
	if n := strings.Count(logs.String(), `msg="witness refused checkpoint"`); n != 1 {
		t.Errorf("%d warnings for the same refusal, want 1 (repeats are debug lines)", n)
	}

	// b cosigns again: the held-back entry is published, and that is said too.
	refuse.Store(false)
	waitFor("published again", func(st tlog.Status) bool {
		return st.Published == 2 && st.UnpublishedSince.IsZero() && !st.Witnesses[1].Failing
	})
	for _, msg := range []string{`level=INFO msg="witness cosigns again" witness=b size=2`, `level=INFO msg="checkpoint published again" size=2`} {
		if !strings.Contains(logs.String(), msg) {
			t.Errorf("no %q in\n%s", msg, logs.String())
		}
	}

	// b is gone: unreachable, not a status.
	faulty.Close()
	if _, err := l.Append(ctx, []byte("three")); err != nil {
		t.Fatal(err)
	}
	waitFor("unreachable", func(st tlog.Status) bool { return st.Witnesses[1].Failures["unreachable"] > 0 })
	if !regexp.MustCompile(`level=WARN msg="witness did not answer" witness=b \S+ status=0 reason=unreachable`).MatchString(logs.String()) {
		t.Errorf("no unreachable warning:\n%s", logs.String())
	}
	// Shutdown waits for a checkpoint covering "three", which b will never cosign.
	sctx, scancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer scancel()
	_ = shutdown(sctx)
}
