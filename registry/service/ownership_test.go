package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/registry/jobs"
	"github.com/comet-attest/comet/registry/keyset"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
)

// stubChecker wraps the real proof checker where a test must choose the outcome: a chosen
// gradient bound, or what happens while a submission is being verified. It records every
// submission it is asked about.
type stubChecker struct {
	real service.ProofChecker
	// gradient, when set, replaces the relative gradient of every claim.
	gradient *float64
	// beforeVerify, when set, runs at the start of Verify: what happens meanwhile.
	beforeVerify func(service.Parts)

	mu   sync.Mutex
	seen []service.Parts
}

func (c *stubChecker) Precheck(s service.Parts) (service.Claim, error) {
	c.record(s)
	return c.real.Precheck(s)
}

func (c *stubChecker) Verify(ctx context.Context, s service.Parts) (service.Claim, error) {
	c.record(s)
	if c.beforeVerify != nil {
		c.beforeVerify(s)
	}
	claim, err := c.real.Verify(ctx, s)
	if err == nil && c.gradient != nil {
		claim.RelativeGradient = *c.gradient
	}
	return claim, err
}

func (c *stubChecker) record(s service.Parts) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, s)
}

// newStubEnv is an env whose proof checker is a stubChecker around the real one.
func newStubEnv(t *testing.T) (*env, *stubChecker) {
	t.Helper()
	return newStubEnvWith(t, envConfig{})
}

// newStubEnvWith is newStubEnv with the rest of c.
func newStubEnvWith(t *testing.T, c envConfig) (*env, *stubChecker) {
	t.Helper()
	stub := &stubChecker{}
	c.proofs = stub
	e := newEnvWith(t, c)
	set, err := keyset.Open(e.fix.KeysDir, keyset.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	stub.real = keyset.NewChecker(set)
	return e, stub
}

// withProvider rewrites the provider a proof bundle names, as a squatter would who copies
// another provider's proof: the bundle then passes the submission's precheck, and its final
// proof, bound to the other provider, fails verification.
func withProvider(t *testing.T, p []byte, provider string) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(p, &b); err != nil {
		t.Fatal(err)
	}
	b["provider"] = provider
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) submitAs(by *service.Principal, name string, model, proof []byte) (*store.Submission, error) {
	return e.svc.Submit(context.Background(), by, service.Submission{ModelName: name, Model: model, Manifest: e.fix.Manifest, Proof: proof})
}

func (e *env) process(t *testing.T, id string) *store.Submission {
	t.Helper()
	if err := e.svc.ProcessSubmission(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	return e.submission(t, id)
}

// written counts what a refused write must not have added.
type written struct{ submissions, audit, jobs int }

func (e *env) written(t *testing.T) written {
	t.Helper()
	ctx := context.Background()
	subs, _, err := e.st.Submissions(ctx, store.SubmissionFilter{}, store.Page{Limit: store.MaxPageLimit})
	if err != nil {
		t.Fatal(err)
	}
	ev, _, err := e.st.AuditEvents(ctx, "", store.Page{Limit: store.MaxPageLimit})
	if err != nil {
		t.Fatal(err)
	}
	js, _, err := e.queue.List(ctx, jobs.ListParams{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return written{len(subs), len(ev), len(js)}
}

// statementOf reads the subject and predicate of a stored attestation.
func statementOf(t *testing.T, att *store.Attestation) (statement.Subject, *statement.Training) {
	t.Helper()
	env, err := envelope.Parse(att.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := envelope.Payload(env)
	if err != nil {
		t.Fatal(err)
	}
	subj, tr, err := statement.ParseTraining(payload)
	if err != nil {
		t.Fatal(err)
	}
	return subj, tr
}

// The attack: a squatter submits another provider's public model file with a broken proof.
// Whenever it does so, the owner's honest submission is accepted and attested as the owner's
// (name, provider, lookup, model row), the squatter's is rejected, and once the model is
// attested nobody can submit it again, without anything of the refused submission written.
func TestSquattingFails(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	owner, squatter := e.prov, e.provider(t, "squatter")
	type run struct {
		model, proof []byte
		junk, own    *store.Submission
	}
	submitJunk := func(t *testing.T, r *run) {
		var err error
		if r.junk, err = e.submitAs(squatter, "junk.json", r.model, swapChunkProofs(t, withProvider(t, r.proof, squatter.ProviderID))); err != nil {
			t.Fatalf("squatter's submission: %v", err)
		}
	}
	submitOwn := func(t *testing.T, r *run) {
		var err error
		if r.own, err = e.submitAs(owner, "owner.json", r.model, r.proof); err != nil {
			t.Fatalf("owner's submission: %v", err)
		}
	}
	processJunk := func(t *testing.T, r *run) { e.process(t, r.junk.ID) }
	processOwn := func(t *testing.T, r *run) { e.process(t, r.own.ID) }
	for i, tc := range []struct {
		name  string
		steps []func(*testing.T, *run)
		// the squatter's submission is rejected because the owner's was attested first,
		// rather than for its own proof
		junkAttested bool
	}{
		{name: "junk rejected before the owner submits", steps: []func(*testing.T, *run){submitJunk, processJunk, submitOwn, processOwn}},
		{name: "junk pending while the owner is verified", steps: []func(*testing.T, *run){submitJunk, submitOwn, processOwn, processJunk}, junkAttested: true},
		{name: "junk verified while the owner's is pending", steps: []func(*testing.T, *run){submitJunk, submitOwn, processJunk, processOwn}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &run{}
			var err error
			if r.model, r.proof, _, err = e.fix.Variant(i + 1); err != nil {
				t.Fatal(err)
			}
			for _, step := range tc.steps {
				step(t, r)
			}
			own, junk := e.submission(t, r.own.ID), e.submission(t, r.junk.ID)
			if own.Status != store.StatusLogged {
				t.Fatalf("owner's submission %s (%s: %s)", own.Status, own.FailedCheck, own.Message)
			}
			if junk.Status != store.StatusRejected || (junk.FailedCheck == service.CheckAttested) != tc.junkAttested || junk.FailedCheck == "" {
				t.Errorf("squatter's submission %s (%s: %s), rejected as already attested: want %v", junk.Status, junk.FailedCheck, junk.Message, tc.junkAttested)
			}
			if _, err := e.st.AttestationBySubmission(ctx, junk.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("squatter's submission has an attestation: %v", err)
			}
			att, err := e.st.AttestationBySubmission(ctx, own.ID)
			if err != nil || att.ProviderID != owner.ProviderID {
				t.Fatalf("owner's attestation %+v %v", att, err)
			}
			if subj, tr := statementOf(t, att); subj.Name != "owner.json" || tr.Provider != owner.ProviderID {
				t.Errorf("attested subject %q by %q, want owner.json by %s", subj.Name, tr.Provider, owner.ProviderID)
			}
			v, err := e.st.ModelView(ctx, own.ModelSHA256)
			if err != nil || v.ProviderID != owner.ProviderID || v.Name != "owner.json" || v.SubmissionID == nil || *v.SubmissionID != own.ID {
				t.Errorf("lookup %+v %v", v, err)
			}
			m, err := e.st.Model(ctx, own.ModelSHA256)
			if err != nil || m.ProviderID != owner.ProviderID || m.Name != "owner.json" {
				t.Errorf("model row %s named %q, %v", m.ProviderID, m.Name, err)
			}

			// Attested: refused to anyone, even with the valid proof, and nothing stays.
			before := e.written(t)
			for _, by := range []*service.Principal{squatter, owner} {
				if _, err := e.submitAs(by, "again.json", r.model, r.proof); !errors.Is(err, service.ErrConflict) {
					t.Errorf("%s submits the attested model: %v, want ErrConflict", by.ProviderID, err)
				}
			}
			if after := e.written(t); after != before {
				t.Errorf("refused submissions wrote %+v, had %+v", after, before)
			}
			if m, _ := e.st.Model(ctx, own.ModelSHA256); m.Name != "owner.json" {
				t.Errorf("a refused submission renamed the model %q", m.Name)
			}
		})
	}
}

// Two providers who both hold the data prove one model, each for itself, and both proofs
// verify: the first to be stored holds the model's one attestation, and the other, verified
// meanwhile, is rejected as already attested without reaching the log.
func TestOneAttestationPerModel(t *testing.T) {
	e, stub := newStubEnv(t)
	ctx := context.Background()
	owner, rival := e.prov, e.provider(t, "rival")
	m, p, _, err := e.fix.Variant(1)
	if err != nil {
		t.Fatal(err)
	}
	_, rivalProof, _, err := e.fix.VariantFor(rival.ProviderID, 1)
	if err != nil {
		t.Fatal(err)
	}
	rivalSub, err := e.submitAs(rival, "rival.json", m, rivalProof)
	if err != nil {
		t.Fatal(err)
	}
	ownSub, err := e.submitAs(owner, "owner.json", m, p)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stub.beforeVerify = func(s service.Parts) {
		if s.ProviderID == rival.ProviderID {
			once.Do(func() { e.process(t, ownSub.ID) })
		}
	}
	if got := e.process(t, rivalSub.ID); got.Status != store.StatusRejected || got.FailedCheck != service.CheckAttested {
		t.Fatalf("rival: %s (%s: %s)", got.Status, got.FailedCheck, got.Message)
	}
	if got := e.submission(t, ownSub.ID); got.Status != store.StatusLogged {
		t.Fatalf("owner: %s (%s: %s)", got.Status, got.FailedCheck, got.Message)
	}
	if _, err := e.st.AttestationBySubmission(ctx, rivalSub.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rival's attestation: %v", err)
	}
	if n := e.logSize(t, 1); n != 1 {
		t.Errorf("log size %d, want the owner's attestation alone", n)
	}
	if got := e.process(t, rivalSub.ID); got.Status != store.StatusRejected {
		t.Errorf("rival processed again: %s", got.Status)
	}
}

// The proof checker is told who submits: the authenticated provider at submission, the
// stored one at verification, with that provider's own name for the model even when another
// provider uploaded the file first under another name. A copied proof is refused at once; one
// whose provider was rewritten passes the precheck and fails verification.
func TestCheckerSeesSubmittingProvider(t *testing.T) {
	e, stub := newStubEnv(t)
	owner, squatter := e.prov, e.provider(t, "squatter")
	m, p, _, err := e.fix.Variant(1)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before := e.written(t)
	var inv *service.InvalidError
	if _, err := e.svc.Submit(ctx, squatter, service.Submission{ModelName: "copy.json", Model: m, Manifest: e.fix.Manifest, Proof: p}); !errors.As(err, &inv) || inv.Field != "proof" {
		t.Fatalf("squatter submits the owner's proof: %v, want invalid proof", err)
	}
	if after := e.written(t); after != before {
		t.Errorf("the refused submission wrote %+v, had %+v", after, before)
	}
	junk, err := e.submitAs(squatter, "junk.json", m, withProvider(t, p, squatter.ProviderID))
	if err != nil {
		t.Fatal(err)
	}
	own, err := e.submitAs(owner, "owner.json", m, p)
	if err != nil {
		t.Fatal(err)
	}
	// The message gives the reason; the failed check is named once, in FailedCheck.
	if got := e.process(t, junk.ID); got.Status != store.StatusRejected || got.FailedCheck != "final proof verifies" ||
		got.Message == "" || strings.Contains(got.Message, got.FailedCheck) || strings.Contains(got.Message, "proof verification failed") {
		t.Errorf("squatter: %s (%s: %s)", got.Status, got.FailedCheck, got.Message)
	}
	if got := e.process(t, own.ID); got.Status != store.StatusLogged {
		t.Errorf("owner: %s (%s: %s)", got.Status, got.FailedCheck, got.Message)
	}
	type call struct{ provider, name string }
	var got []call
	for _, s := range stub.seen {
		got = append(got, call{s.ProviderID, s.ModelName})
	}
	want := []call{
		{squatter.ProviderID, "copy.json"},                                   // Precheck, refused
		{squatter.ProviderID, "junk.json"}, {owner.ProviderID, "owner.json"}, // Precheck at Submit
		{squatter.ProviderID, "junk.json"}, {owner.ProviderID, "owner.json"}, // Verify
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("checker calls %v, want %v", got, want)
	}
}

// The untrained model of the claim issue: every weight zero and tau = 2^200, with a proof
// that verifies (|G| ≤ 2^200 is true). The default policy refuses it, naming the tolerance.
func TestUntrainedModelRefused(t *testing.T) {
	e := newEnv(t, nil)
	m, p, err := e.fix.Untrained(e.prov.ProviderID, 200)
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.submitAs(e.prov, "untrained.json", m, p)
	if err != nil {
		t.Fatal(err)
	}
	got := e.process(t, s.ID)
	if got.Status != store.StatusRejected || got.FailedCheck != service.CheckTolerance || !strings.Contains(got.Message, "above the registry's maximum of 0.001") {
		t.Fatalf("untrained model: %s (%s: %s)", got.Status, got.FailedCheck, got.Message)
	}
}

// A proof that verified is attested only if its gradient bound, relative to the data, is
// within registry.max_relative_gradient; otherwise it is rejected as "tolerance", saying
// both numbers.
func TestToleranceRefused(t *testing.T) {
	e, stub := newStubEnv(t)
	logged := uint64(0)
	for i, tc := range []struct {
		name     string
		gradient float64
		rejected bool
		message  []string // in the rejection
	}{
		{name: "well within", gradient: 1e-9},
		{name: "at the maximum", gradient: maxRelativeGradient},
		{name: "above", gradient: 2 * maxRelativeGradient, rejected: true, message: []string{"0.002", "0.001"}},
		{name: "unbounded", gradient: math.Inf(1), rejected: true, message: []string{"+Inf", "0.001"}},
		{name: "not a number", gradient: math.NaN(), rejected: true, message: []string{"NaN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stub.gradient = &tc.gradient
			m, p, _, err := e.fix.Variant(i + 1)
			if err != nil {
				t.Fatal(err)
			}
			s, err := e.submitAs(e.prov, "model.json", m, p)
			if err != nil {
				t.Fatal(err)
			}
			got := e.process(t, s.ID)
			_, attErr := e.st.AttestationBySubmission(context.Background(), s.ID)
			if !tc.rejected {
				if got.Status != store.StatusLogged || attErr != nil {
					t.Fatalf("%s (%s: %s), attestation: %v", got.Status, got.FailedCheck, got.Message, attErr)
				}
				logged++
				return
			}
			if got.Status != store.StatusRejected || got.FailedCheck != service.CheckTolerance || !errors.Is(attErr, store.ErrNotFound) {
				t.Fatalf("%s (%s: %s), attestation: %v", got.Status, got.FailedCheck, got.Message, attErr)
			}
			for _, w := range tc.message {
				if !strings.Contains(got.Message, w) {
					t.Errorf("message %q does not say %s", got.Message, w)
				}
			}
		})
	}
	if n := e.logSize(t, logged); n != logged {
		t.Errorf("log size %d, want %d", n, logged)
	}
}

// The service refuses a configuration that would attest proofs that bound nothing.
func TestNewChecksMaxRelativeGradient(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(ctx, store.Options{SQLitePath: filepath.Join(t.TempDir(), "comet.db"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q, err := jobs.New(st, jobs.Options{Workers: 1, PollInterval: time.Second, MaxAttempts: 1, JobTimeout: time.Minute, RescueAfter: time.Hour, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := keys.Generate("comet.test")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		max float64
		ok  bool
	}{
		{max: 1e-3, ok: true},
		{max: 0},
		{max: -1e-3},
		{max: math.Inf(1)},
		{max: math.NaN()},
	} {
		_, err := service.New(service.Config{Store: st, Signer: signer, Proofs: &stubChecker{}, Jobs: q, Logger: quiet, MaxRelativeGradient: tc.max})
		if (err == nil) != tc.ok {
			t.Errorf("MaxRelativeGradient %g: %v", tc.max, err)
		}
	}
}
