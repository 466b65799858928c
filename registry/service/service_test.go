package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/attesttest"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/tlog"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/attest/verify"
	"github.com/comet-attest/comet/registry/jobs"
	"github.com/comet-attest/comet/registry/keyset"
	"github.com/comet-attest/comet/registry/registrytest"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	registrytest.Cleanup()
	os.Exit(code)
}

// env is a service over a real SQLite store, a real log in a temporary directory, the
// fixture's published keys and a (not started) River queue.
type env struct {
	svc    *service.Service
	logs   *lockedBuffer // what the service logged
	st     *store.Store
	log    *tlog.Log
	fix    *registrytest.Material
	admin  *service.Principal
	prov   *service.Principal
	queue  *jobs.Queue
	logKey *keys.Signer
}

// lockedBuffer is a log sink the service and its job workers may write at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// faultyLog is the real log with injected faults: failBefore fails an append before it
// reaches the log, failAfter after it is durable (a crash between append and record).
type faultyLog struct {
	*tlog.Log
	failBefore, failAfter bool
}

var errInjected = errors.New("injected fault")

func (l *faultyLog) Append(ctx context.Context, leaf []byte) (uint64, error) {
	if l.failBefore {
		return 0, errInjected
	}
	i, err := l.Log.Append(ctx, leaf)
	if err == nil && l.failAfter {
		return 0, errInjected
	}
	return i, err
}

func newEnv(t *testing.T, lg func(*tlog.Log) service.Log) *env {
	return newEnvWith(t, envConfig{log: lg})
}

// maxRelativeGradient is the registry's policy in these tests (config.yaml's default).
const maxRelativeGradient = 1e-3

// envConfig varies the env: a log with faults, the jobs' attempts (default 3), and a proof
// checker standing in for the real one where a test chooses the outcome.
type envConfig struct {
	log         func(*tlog.Log) service.Log
	maxAttempts int
	proofs      service.ProofChecker
	leases      service.Leases
	keysDir     string // default: the fixture's
}

func newEnvWith(t *testing.T, c envConfig) *env {
	t.Helper()
	if c.maxAttempts == 0 {
		c.maxAttempts = 3
	}
	ctx := context.Background()
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(ctx, store.Options{SQLitePath: filepath.Join(dir, "comet.db"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logKey, _ := keys.Generate("comet.test/log")
	regKey, _ := keys.Generate("comet.test")
	l, _ := attesttest.Log(t, filepath.Join(dir, "log"), logKey, tlog.Options{})
	fix := registrytest.Get(t)
	if c.keysDir == "" {
		c.keysDir = fix.KeysDir
	}
	set, err := keyset.Open(c.keysDir, keyset.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(st, jobs.Options{Workers: 1, PollInterval: 20 * time.Millisecond, MaxAttempts: c.maxAttempts, JobTimeout: time.Minute, RescueAfter: time.Hour, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var useLog service.Log = l
	if c.log != nil {
		useLog = c.log(l)
	}
	checker := keyset.NewChecker(set)
	var proofs service.ProofChecker = checker
	if c.proofs != nil {
		proofs = c.proofs
	}
	logs := &lockedBuffer{}
	svc, err := service.New(service.Config{Store: st, Log: useLog, Signer: regKey, Proofs: proofs, Evaluations: checker, Jobs: q, Logger: slog.New(slog.NewTextHandler(logs, nil)),
		MaxRelativeGradient: maxRelativeGradient, Leases: c.leases})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{svc: svc, logs: logs, st: st, log: l, fix: fix, queue: q, logKey: logKey, admin: registrytest.Admin(t, st, svc)}
	e.prov = e.provider(t, "acme-legal")
	return e
}

// provider registers and approves a provider and returns its principal.
func (e *env) provider(t *testing.T, id string) *service.Principal {
	t.Helper()
	return e.account(t, id, store.RoleProvider)
}

// account registers and approves an account of the role and returns its principal.
func (e *env) account(t *testing.T, id string, role store.Role) *service.Principal {
	t.Helper()
	p, err := e.svc.Authenticate(context.Background(), registrytest.ApprovedAccount(t, e.svc, e.admin, id, role))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) submit(t *testing.T, i int, edit func(proof []byte) []byte) *store.Submission {
	t.Helper()
	m, p, _, err := e.fix.Variant(i)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		p = edit(p)
	}
	s, err := e.svc.Submit(context.Background(), e.prov, service.Submission{ModelName: "model.json", Model: m, Manifest: e.fix.Manifest, Proof: p})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) submission(t *testing.T, id string) *store.Submission {
	t.Helper()
	var s *store.Submission
	if err := e.st.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		s, err = tx.Submission(context.Background(), id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

// logSize waits for a checkpoint and returns its size.
func (e *env) logSize(t *testing.T, atLeast uint64) uint64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, cp, err := e.log.Checkpoint(context.Background())
		if err == nil && cp.Size >= atLeast {
			time.Sleep(250 * time.Millisecond) // and let any second (wrong) entry show up
			_, cp, _ = e.log.Checkpoint(context.Background())
			return cp.Size
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of size %d: %v", atLeast, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestProcessSubmissionIsIdempotent(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	s := e.submit(t, 1, nil)
	for range 3 {
		if err := e.svc.ProcessSubmission(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
	}
	got := e.submission(t, s.ID)
	if got.Status != store.StatusLogged {
		t.Fatalf("status %s (%s: %s)", got.Status, got.FailedCheck, got.Message)
	}
	att, err := e.st.AttestationBySubmission(ctx, s.ID)
	if err != nil || att.LogIndex == nil || *att.LogIndex != 0 {
		t.Fatalf("attestation %+v %v", att, err)
	}
	if n := e.logSize(t, 1); n != 1 {
		t.Fatalf("log size %d after processing one submission three times", n)
	}
}

// A crash after the log made the entry durable but before the database recorded it, and a
// failure before the append: Reconcile (and a rerun of the job) finish both, and the log
// holds each attestation once.
func TestReconcileAfterFaults(t *testing.T) {
	var fl *faultyLog
	e := newEnv(t, func(l *tlog.Log) service.Log { fl = &faultyLog{Log: l}; return fl })
	ctx := context.Background()
	a, b := e.submit(t, 1, nil), e.submit(t, 2, nil)
	fl.failAfter = true
	if err := e.svc.ProcessSubmission(ctx, a.ID); !errors.Is(err, errInjected) {
		t.Fatalf("process with a fault after the append: %v", err)
	}
	fl.failAfter, fl.failBefore = false, true
	if err := e.svc.ProcessSubmission(ctx, b.ID); !errors.Is(err, errInjected) {
		t.Fatalf("process with a fault before the append: %v", err)
	}
	for _, id := range []string{a.ID, b.ID} {
		if s := e.submission(t, id); s.Status != store.StatusVerifying {
			t.Fatalf("%s after a fault: %s", id, s.Status)
		}
	}
	fl.failBefore = false
	r, err := e.svc.Reconcile(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Attestations != 2 || r.Requeued != 0 {
		t.Errorf("reconciled %+v", r)
	}
	idx := map[int64]bool{}
	for _, id := range []string{a.ID, b.ID} {
		if s := e.submission(t, id); s.Status != store.StatusLogged {
			t.Fatalf("%s after reconcile: %s", id, s.Status)
		}
		att, _ := e.st.AttestationBySubmission(ctx, id)
		idx[*att.LogIndex] = true
		// The job runs again (River retries it): nothing changes.
		if err := e.svc.ProcessSubmission(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if !idx[0] || !idx[1] {
		t.Errorf("log indexes %v, want 0 and 1", idx)
	}
	if n := e.logSize(t, 2); n != 2 {
		t.Fatalf("log size %d for two attestations", n)
	}
	// An open submission gets a fresh job when its worker died with the process.
	c := e.submit(t, 3, nil)
	if r, err := e.svc.Reconcile(ctx, true); err != nil || r.Requeued != 1 {
		t.Fatalf("requeue: %+v %v", r, err)
	}
	if s := e.submission(t, c.ID); s.JobID == nil || *s.JobID == *c.JobID {
		t.Errorf("requeued submission's job %v, was %v", s.JobID, c.JobID)
	}
}

// swapChunkProofs breaks a proof bundle so that it still parses and names the right
// circuits but does not verify: its first two chunk proofs trade places.
func swapChunkProofs(t *testing.T, p []byte) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(p, &b); err != nil {
		t.Fatal(err)
	}
	ch := b["chunks"].([]any)
	c0, c1 := ch[0].(map[string]any), ch[1].(map[string]any)
	c0["proof"], c1["proof"] = c1["proof"], c0["proof"]
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A proof that parses and names the right circuits but does not verify is rejected, naming
// the check that failed.
func TestRejectedProof(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	s := e.submit(t, 1, func(p []byte) []byte { return swapChunkProofs(t, p) })
	if err := e.svc.ProcessSubmission(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	got := e.submission(t, s.ID)
	if got.Status != store.StatusRejected || got.FailedCheck != "chunk proofs verify" || !strings.HasPrefix(got.Message, "chunk 0: ") {
		t.Fatalf("submission %s: %s (%q: %q)", s.ID, got.Status, got.FailedCheck, got.Message)
	}
	// Each state change was logged, the rejection with its check.
	for _, want := range []string{
		`msg="submission received" submission=` + s.ID, `msg="submission verifying" submission=` + s.ID,
		`msg="submission rejected" submission=` + s.ID + ` check="chunk proofs verify" reason="chunk 0: `,
	} {
		if !strings.Contains(e.logs.String(), want) {
			t.Errorf("the service's log lacks %s:\n%s", want, e.logs.String())
		}
	}
	if _, err := e.st.AttestationBySubmission(ctx, s.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a rejected submission has an attestation: %v", err)
	}
	// Rejected, the model may be submitted again, with a good proof this time.
	s2 := e.submit(t, 1, nil)
	if err := e.svc.ProcessSubmission(ctx, s2.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.submission(t, s2.ID); got.Status != store.StatusLogged {
		t.Fatalf("resubmission: %s", got.Status)
	}
}

func TestKeysAndProviders(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, _, err := service.InitAdmin(ctx, e.st, "second", false); !errors.Is(err, service.ErrConflict) {
		t.Errorf("second admin init: %v", err)
	}
	raw, k, err := service.InitAdmin(ctx, e.st, "second", true)
	if err != nil {
		t.Fatal(err)
	}
	if service.KeyID(raw) != k.ID {
		t.Errorf("KeyID(%q) = %q, want %q", raw, service.KeyID(raw), k.ID)
	}
	wrong := raw[:len(raw)-1] + map[bool]string{true: "0", false: "1"}[raw[len(raw)-1] != '0']
	for _, bad := range []string{"", "comet_x", raw + "0", wrong} {
		if _, err := e.svc.Authenticate(ctx, bad); !errors.Is(err, service.ErrUnauthorized) {
			t.Errorf("Authenticate(%q): %v", bad, err)
		}
	}
	if err := e.svc.RevokeKey(ctx, e.prov, k.ID); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("provider revoked an admin key: %v", err)
	}
	if err := e.svc.RevokeKey(ctx, e.admin, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(ctx, raw); !errors.Is(err, service.ErrUnauthorized) {
		t.Errorf("revoked key: %v", err)
	}
	for _, tc := range []struct {
		action service.ProviderAction
		want   store.ProviderStatus
		err    error
	}{
		{service.Reinstate, "", service.ErrConflict},
		{service.Suspend, store.ProviderSuspended, nil},
		{service.Approve, "", service.ErrConflict},
		{service.Reinstate, store.ProviderApproved, nil},
		{"promote", "", nil},
	} {
		p, err := e.svc.SetProvider(ctx, e.admin, "acme-legal", tc.action, "")
		var inv *service.InvalidError
		switch {
		case tc.action == "promote":
			if !errors.As(err, &inv) {
				t.Errorf("unknown action: %v", err)
			}
		case tc.err != nil:
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: %v, want %v", tc.action, err, tc.err)
			}
		case err != nil || p.Status != tc.want:
			t.Errorf("%s: %+v %v", tc.action, p, err)
		}
	}
	if _, err := e.svc.SetProvider(ctx, e.prov, "acme-legal", service.Suspend, ""); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("provider suspended itself: %v", err)
	}
}

// An evaluator is approved like a provider, but it proves the quality of others' models: it
// may not submit one for attestation.
func TestEvaluatorRole(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	var inv *service.InvalidError
	if _, _, err := e.svc.Register(ctx, service.Registration{ID: "court-x", Contact: "c@example.org", Role: "admin"}); !errors.As(err, &inv) || inv.Field != "role" {
		t.Errorf("registering as admin: %v, want an invalid role", err)
	}
	court := e.account(t, "court-of-appeal", store.RoleEvaluator)
	if p, err := e.st.Provider(ctx, "court-of-appeal"); err != nil || p.Role != store.RoleEvaluator || p.Status != store.ProviderApproved {
		t.Fatalf("evaluator = %+v, %v", p, err)
	}
	m, p, _, err := e.fix.Variant(0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Submit(ctx, court, service.Submission{ModelName: "model.json", Model: m, Manifest: e.fix.Manifest, Proof: p})
	if !errors.Is(err, service.ErrForbidden) {
		t.Errorf("an evaluator submitted training: %v", err)
	}
	if p, err := e.st.Provider(ctx, "acme-legal"); err != nil || p.Role != store.RoleProvider {
		t.Errorf("provider registered without a role = %+v, %v", p, err)
	}
}

// Through River: a job whose every attempt fails (the log refuses appends) is retried with
// backoff, and after its last attempt the submission is rejected with the check "internal"
// rather than left "verifying".
func TestLastAttemptRejects(t *testing.T) {
	e := newEnvWith(t, envConfig{log: func(l *tlog.Log) service.Log { return &faultyLog{Log: l, failBefore: true} }, maxAttempts: 2})
	ctx := context.Background()
	s := e.submit(t, 1, nil)
	if err := e.queue.Start(ctx, e.svc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.queue.Stop(context.Background()) })
	deadline := time.Now().Add(20 * time.Second)
	for e.submission(t, s.ID).Status != store.StatusRejected {
		if time.Now().After(deadline) {
			t.Fatalf("submission still %s", e.submission(t, s.ID).Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	got := e.submission(t, s.ID)
	if got.FailedCheck != service.CheckInternal || !strings.Contains(got.Message, "injected fault") {
		t.Errorf("rejection %q: %q", got.FailedCheck, got.Message)
	}
	j, err := e.queue.Job(ctx, *got.JobID)
	if err != nil || j.Attempt != 2 || len(j.Errors) < 1 {
		t.Errorf("job %+v %v", j, err)
	}
}

// Once a checkpoint covering an attestation is anchored, its bundle carries the receipt and
// the consistency proof from the anchored checkpoint, and the proof holds.
func TestBundleCarriesAnchor(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	s := e.submit(t, 1, nil)
	if err := e.svc.ProcessSubmission(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	att, _ := e.st.AttestationBySubmission(ctx, s.ID)
	b, err := e.svc.Bundle(ctx, att.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.Anchor != nil || b.Consistency != nil {
		t.Fatalf("anchor before anything was anchored: %s", b.Anchor)
	}
	raw, cp, err := e.log.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bn := int64(42)
	if err := e.st.InTx(ctx, func(tx *store.Tx) error {
		return tx.Create(ctx, &store.Anchor{TreeSize: int64(cp.Size), Root: fmt.Sprintf("%x", cp.Hash), Checkpoint: string(raw),
			Status: store.AnchorAccepted, TxHash: "0xabc", BlockNumber: &bn, Finality: "ACCEPTED_ON_L2"})
	}); err != nil {
		t.Fatal(err)
	}
	// The log grows past the anchor.
	e.submit(t, 2, nil)
	open, _ := e.st.OpenSubmissions(ctx, 10)
	if err := e.svc.ProcessSubmission(ctx, open[0].ID); err != nil {
		t.Fatal(err)
	}
	e.logSize(t, 2)
	if b, err = e.svc.Bundle(ctx, att.ID); err != nil {
		t.Fatal(err)
	}
	var receipt map[string]any
	if err := json.Unmarshal(b.Anchor, &receipt); err != nil || receipt["tx_hash"] != "0xabc" || receipt["block_number"] != float64(42) {
		t.Fatalf("receipt %s %v", b.Anchor, err)
	}
	if b.Consistency == nil || string(b.Consistency.Checkpoint) != string(raw) {
		t.Fatalf("consistency %+v", b.Consistency)
	}
	if _, err := b.Marshal(); err != nil {
		t.Fatal(err)
	}
	root, _, err := attesttest.SignRoot(ctx, trustroot.File{
		RegistryKeys: []trustroot.KeyEntry{{Key: e.svc.Signer().Verifier().String(), NotBefore: time.Now().Add(-time.Hour)}},
		Log:          trustroot.LogEntry{Origin: "comet.test/log", Key: e.logKey.Verifier().String()}})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := verify.NewVerifier(root)
	p, _ := verify.NewPolicy(verify.WithoutModelUnsafe())
	rep, _ := v.Verify(ctx, b, p)
	if line, _ := rep.Line(verify.CheckConsistency); line.Status != verify.Passed {
		t.Errorf("consistency with the anchored checkpoint: %+v\n%s", line, rep)
	}
}
