package tlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/transparency-dev/tessera"
	"golang.org/x/mod/sumdb/note"
)

// How tessera v1.0.4 treats a witness that refuses or does not answer: each checkpoint is
// posted to every witness (C2SP tlog-witness add-checkpoint); a 409 with a text/x.tlog.size
// body only tells the log the witness's size, and tessera retries with a proof from there.
// Any other refusal (403 unknown log or key, 409 other root at that size, 422 bad
// consistency proof, 400, 5xx), a transport error or the WitnessTimeout ends that witness's
// part in the round. When the quorum is not met the checkpoint is not published: the old
// one stays at /checkpoint, tessera logs "publishCheckpoint: ... witness policy was not
// satisfied" through klog and tries again with the next checkpoint interval. Appends go on
// (entries are integrated on disk) but nothing new is covered by a published checkpoint, so
// AwaitCheckpoint, and bundles, wait. On a new log even the empty checkpoint must be
// witnessed, or Open fails.
//
// tessera's own witness metrics are OpenTelemetry instruments that nothing here exports,
// so the log watches its witnesses itself: every request goes through witnessMonitor,
// which records each answer (Status), logs refusals, and watchPublication reports a
// published checkpoint held back.

// witnessWarnEvery is how often a witness that keeps failing the same way is logged at
// warn level again (every failure in between is logged at debug level).
const witnessWarnEvery = time.Minute

// WitnessStatus is what the log has seen of one witness's answers since it was opened.
type WitnessStatus struct {
	Name string // Witness.Name, or the key's name
	URL  string // the add-checkpoint URL
	// Cosigned counts checkpoints it cosigned; CosignedSize and LastCosigned are the size
	// of the last one and when.
	Cosigned     uint64
	CosignedSize uint64
	LastCosigned time.Time
	// Failures counts requests it refused or did not answer, by reason: the HTTP status
	// ("403", "409", "422", ...), "unreachable" (no answer), "timeout" (no answer within
	// WitnessTimeout) or "invalid_cosignature" (a 200 whose cosignature does not verify).
	// A 409 that only tells its size is not a failure; neither is a request tessera
	// cancelled because the quorum was met without it.
	Failures map[string]uint64
	// Failing is true when its last answer was a failure, described by LastFailure (e.g.
	// "HTTP 422: bad consistency proof") at LastFailureAt.
	Failing       bool
	LastFailure   string
	LastFailureAt time.Time
}

// Status is the log's publication state.
type Status struct {
	// Integrated is the number of entries in the tree on disk; Published the size of the
	// published checkpoint.
	Integrated, Published uint64
	// UnpublishedSince is when the oldest entry not yet covered by the published checkpoint
	// was first seen integrated (zero when every entry seen is published). It is tracked only
	// with witnesses, whose quorum is what usually holds a checkpoint back.
	UnpublishedSince time.Time
	// Quorum and Witnesses: the witness policy and each witness's record, in Options order.
	Quorum    int
	Witnesses []WitnessStatus
}

// Status reports the sizes of the tree and of the published checkpoint, and what the
// witnesses have answered.
func (l *Log) Status(ctx context.Context) (Status, error) {
	var st Status
	integrated, err := l.reader.IntegratedSize(ctx)
	if err != nil {
		return st, fmt.Errorf("log status: %w", err)
	}
	_, cp, err := l.Checkpoint(ctx)
	if err != nil {
		return st, fmt.Errorf("log status: %w", err)
	}
	st.Integrated, st.Published = integrated, cp.Size
	if m := l.wit; m != nil {
		m.mu.Lock()
		defer m.mu.Unlock()
		st.UnpublishedSince, st.Quorum = m.pendingSince, m.quorum
		for _, w := range m.order {
			ws := w.WitnessStatus
			ws.Failures = maps.Clone(w.Failures)
			st.Witnesses = append(st.Witnesses, ws)
		}
	}
	return st, nil
}

type witnessMonitor struct {
	base   http.RoundTripper
	logger *slog.Logger
	quorum int

	mu    sync.Mutex
	byURL map[string]*witnessState
	order []*witnessState
	// What watchPublication saw: the integrated size not yet published and since when.
	pendingSize  uint64
	pendingSince time.Time
	lastWarn     time.Time
}

type witnessState struct {
	WitnessStatus
	verifier note.Verifier
	lastWarn time.Time
	lastWhy  string
}

func newWitnessMonitor(o Options) *witnessMonitor {
	return &witnessMonitor{logger: o.Logger, quorum: o.WitnessQuorum, byURL: map[string]*witnessState{}}
}

// add registers a witness under the add-checkpoint URL tessera will post to.
func (m *witnessMonitor) add(w Witness, tw tessera.Witness) error {
	name := w.Name
	if name == "" {
		name = tw.Key.Name()
	}
	if _, dup := m.byURL[tw.URL]; dup {
		return fmt.Errorf("witness url %q is listed twice", w.URL)
	}
	s := &witnessState{WitnessStatus: WitnessStatus{Name: name, URL: tw.URL, Failures: map[string]uint64{}}, verifier: tw.Key}
	m.byURL[tw.URL] = s
	m.order = append(m.order, s)
	return nil
}

// client is c with every request through the monitor.
func (m *witnessMonitor) client(c *http.Client) *http.Client {
	wrapped := *c
	m.base = c.Transport
	if m.base == nil {
		m.base = http.DefaultTransport
	}
	wrapped.Transport = m
	return &wrapped
}

// RoundTrip implements http.RoundTripper: it passes the request on and records the answer.
func (m *witnessMonitor) RoundTrip(req *http.Request) (*http.Response, error) {
	w := m.byURL[req.URL.String()] // written only before the log opens
	if w == nil {
		return m.base.RoundTrip(req)
	}
	oldSize, size, cp := addCheckpointRequest(req)
	resp, err := m.base.RoundTrip(req)
	if err != nil {
		switch {
		case errors.Is(req.Context().Err(), context.Canceled):
			// tessera stops asking once the quorum is met, or the log is closing.
			m.logger.Debug("witness request cancelled", slog.String("witness", w.Name), slog.Uint64("size", size))
		case errors.Is(req.Context().Err(), context.DeadlineExceeded):
			m.failed(w, "timeout", "no answer within the witness timeout", 0, oldSize, size)
		default:
			m.failed(w, "unreachable", err.Error(), 0, oldSize, size)
		}
		return nil, err
	}
	// Read the answer (small: a cosignature line or an error) and hand tessera a copy.
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		m.failed(w, "unreachable", "reading the answer: "+rerr.Error(), resp.StatusCode, oldSize, size)
		return resp, nil
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		if cp != nil {
			// As tessera checks it: the log's note with the answer appended must verify.
			if _, err := note.Open(append(cp[:len(cp):len(cp)], body...), note.VerifierList(w.verifier)); err != nil {
				m.failed(w, "invalid_cosignature", fmt.Sprintf("HTTP 200 with a cosignature that does not verify: %v", err), resp.StatusCode, oldSize, size)
				break
			}
		}
		m.cosigned(w, size)
	case resp.StatusCode == http.StatusConflict && resp.Header.Get("Content-Type") == "text/x.tlog.size":
		// The witness is at another size than the log assumed: tessera retries from there.
		m.logger.Debug("witness is at another size; retrying with a proof from it", slog.String("witness", w.Name),
			slog.Uint64("old_size", oldSize), slog.String("witness_size", strings.TrimSpace(string(body))))
	default:
		m.failed(w, strconv.Itoa(resp.StatusCode), fmt.Sprintf("HTTP %d: %s", resp.StatusCode, answer(body)), resp.StatusCode, oldSize, size)
	}
	return resp, nil
}

func (m *witnessMonitor) cosigned(w *witnessState, size uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w.Failing {
		m.logger.Info("witness cosigns again", slog.String("witness", w.Name), slog.Uint64("size", size), slog.String("last_failure", w.LastFailure))
	}
	w.Cosigned++
	w.CosignedSize, w.LastCosigned, w.Failing, w.lastWhy = size, time.Now(), false, ""
}

func (m *witnessMonitor) failed(w *witnessState, why, detail string, status int, oldSize, size uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	w.Failures[why]++
	w.Failing, w.LastFailure, w.LastFailureAt = true, detail, now
	level := slog.LevelDebug
	if why != w.lastWhy || now.Sub(w.lastWarn) >= witnessWarnEvery {
		level, w.lastWarn, w.lastWhy = slog.LevelWarn, now, why
	}
	msg := "witness refused checkpoint"
	if status == 0 {
		msg = "witness did not answer"
	}
	m.logger.Log(context.Background(), level, msg, slog.String("witness", w.Name), slog.String("url", w.URL),
		slog.Int("status", status), slog.String("reason", why), slog.String("answer", detail),
		slog.Uint64("old_size", oldSize), slog.Uint64("size", size), slog.Uint64("failures", w.Failures[why]))
}

// watchPublication notices entries that stay unpublished for longer than a round of
// witnessing should take, and logs it (again every witnessWarnEvery while it lasts).
func (l *Log) watchPublication(ctx context.Context, o Options) {
	grace := o.WitnessTimeout + 2*o.CheckpointInterval
	t := time.NewTicker(o.CheckpointInterval)
	defer t.Stop()
	m := l.wit
	names := make([]string, len(m.order))
	for i, w := range m.order {
		names[i] = w.Name
	}
	l.logger.InfoContext(ctx, "checkpoints are witnessed", slog.String("witnesses", strings.Join(names, ",")),
		slog.Int("quorum", m.quorum), slog.Duration("timeout", o.WitnessTimeout))
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		integrated, err := l.reader.IntegratedSize(ctx)
		if err != nil {
			continue
		}
		_, cp, err := l.Checkpoint(ctx)
		if err != nil {
			continue
		}
		now := time.Now()
		m.mu.Lock()
		if !m.pendingSince.IsZero() && cp.Size >= m.pendingSize {
			if !m.lastWarn.IsZero() {
				l.logger.Info("checkpoint published again", slog.Uint64("size", cp.Size), slog.Duration("held_back", now.Sub(m.pendingSince).Round(time.Millisecond)))
			}
			m.pendingSince, m.lastWarn = time.Time{}, time.Time{}
		}
		if m.pendingSince.IsZero() && integrated > cp.Size {
			m.pendingSize, m.pendingSince = integrated, now
		}
		if !m.pendingSince.IsZero() && now.Sub(m.pendingSince) > grace && now.Sub(m.lastWarn) >= witnessWarnEvery {
			m.lastWarn = now
			var failing []string
			for _, w := range m.order {
				if w.Failing {
					failing = append(failing, w.Name+": "+w.LastFailure)
				}
			}
			l.logger.Warn("checkpoint not published: witness quorum not met", slog.Uint64("published_size", cp.Size),
				slog.Uint64("integrated_size", integrated), slog.Duration("waiting", now.Sub(m.pendingSince).Round(time.Millisecond)),
				slog.Int("quorum", m.quorum), slog.Int("witnesses", len(m.order)), slog.String("failing", strings.Join(failing, "; ")))
		}
		m.mu.Unlock()
	}
}

// addCheckpointRequest reads the old size, the checkpoint's size and the checkpoint from a
// tlog-witness add-checkpoint body ("old N", proof lines, a blank line, the checkpoint),
// without consuming it. Unknown parts are zero.
func addCheckpointRequest(req *http.Request) (oldSize, size uint64, cp []byte) {
	if req.GetBody == nil {
		return 0, 0, nil
	}
	rc, err := req.GetBody()
	if err != nil {
		return 0, 0, nil
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return 0, 0, nil
	}
	head, cp, ok := bytes.Cut(b, []byte("\n\n"))
	if !ok {
		return 0, 0, nil
	}
	first, _, _ := bytes.Cut(head, []byte("\n"))
	if s, ok := strings.CutPrefix(string(first), "old "); ok {
		oldSize, _ = strconv.ParseUint(s, 10, 64)
	}
	if lines := strings.SplitN(string(cp), "\n", 3); len(lines) == 3 {
		size, _ = strconv.ParseUint(lines[1], 10, 64)
	}
	return oldSize, size, cp
}

// answer is a witness's error body, trimmed for a log line.
func answer(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return "(empty answer)"
	}
	return s
}
