package api_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/comet-attest/comet/internal/config"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/registrytest"
	"github.com/comet-attest/comet/registry/wire"
)

// fieldOf is the field an API error names.
func fieldOf(err error) string {
	var ae *client.APIError
	if errors.As(err, &ae) {
		return ae.Field
	}
	return ""
}

// An evaluator submits an evaluation of an attested model; a River job verifies, signs and
// logs it; anyone lists it with the model and fetches its proof and test manifest. Bad input
// is a 4xx naming the field.
func TestEvaluations(t *testing.T) {
	if testing.Short() {
		t.Skip("proves and verifies an evaluation through the API (4 s)")
	}
	for _, db := range []dbKind{sqliteDB, postgresDB} {
		t.Run(string(db), func(t *testing.T) { testEvaluations(t, db) })
	}
}

func testEvaluations(t *testing.T, db dbKind) {
	fix := registrytest.Get(t)
	testManifest, bundle, keysDir, err := fix.Evaluation("court-of-appeal", fix.Model)
	if err != nil {
		t.Fatal(err)
	}
	r := newRegistry(t, db, loadContract(t), func(c *config.Config) { c.Registry.CircuitKeysDir = keysDir })
	ctx := context.Background()
	court := r.reg.Evaluator(t, "court-of-appeal")
	req := wire.EvaluationRequest{ModelSHA256: fix.ModelSHA256, Manifest: testManifest, Proof: bundle}

	if _, err := court.SubmitEvaluation(ctx, req); !errors.Is(err, client.ErrInvalid) || fieldOf(err) != "model_sha256" {
		t.Errorf("evaluation of an unregistered model: %v", err)
	}
	bad := req
	bad.ModelSHA256 = "ABC"
	if _, err := court.SubmitEvaluation(ctx, bad); !errors.Is(err, client.ErrBadRequest) || fieldOf(err) != "model_sha256" {
		t.Errorf("malformed model digest: %v", err)
	}
	bad = req
	bad.Proof = []byte(`[1]`)
	if _, err := court.SubmitEvaluation(ctx, bad); !errors.Is(err, client.ErrBadRequest) || fieldOf(err) != "proof" {
		t.Errorf("proof not an object: %v", err)
	}
	if _, err := r.anon.SubmitEvaluation(ctx, req); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("evaluation without a key: %v", err)
	}

	prov := r.provider(registrytest.Provider)
	sreq, _ := r.submission(0)
	sub, err := prov.Submit(ctx, sreq)
	if err != nil {
		t.Fatal(err)
	}
	if s := r.wait(prov, sub.ID); s.Status != wire.StatusLogged {
		t.Fatalf("training submission %+v", s)
	}
	if _, err := prov.SubmitEvaluation(ctx, req); !errors.Is(err, client.ErrInvalid) || fieldOf(err) != "proof" {
		t.Errorf("another account's evaluation bundle: %v", err)
	}
	bad = req
	bad.Manifest = fix.Manifest // the training set's: the bundle names another
	if _, err := court.SubmitEvaluation(ctx, bad); !errors.Is(err, client.ErrInvalid) || fieldOf(err) != "proof" {
		t.Errorf("evaluation with another test manifest: %v", err)
	}
	ev, err := court.SubmitEvaluation(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != wire.StatusReceived || !strings.HasPrefix(ev.ID, "ev_") {
		t.Fatalf("accepted evaluation %+v", ev)
	}
	if _, err := court.SubmitEvaluation(ctx, req); !errors.Is(err, client.ErrConflict) {
		t.Errorf("replayed evaluation: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	done, err := court.WaitEvaluation(wctx, ev.ID, 20*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != wire.StatusLogged || done.LogIndex == nil || done.AttestationID == "" || len(done.Envelope) == 0 || done.Job == nil {
		t.Fatalf("evaluation after its job: %+v", done)
	}
	// Logged, it is public: any key reads it, and anyone lists and fetches it.
	if got, err := prov.Evaluation(ctx, ev.ID); err != nil || got.AttestationID != done.AttestationID {
		t.Errorf("another key reading a logged evaluation: %+v %v", got, err)
	}
	list, err := r.anon.ModelEvaluations(ctx, fix.ModelSHA256, client.Page{})
	if err != nil || len(list.Items) != 1 || list.Items[0].ID != ev.ID || list.NextCursor != "" {
		t.Fatalf("model's evaluations: %+v %v", list, err)
	}
	if _, err := r.anon.ModelEvaluations(ctx, strings.Repeat("0", 64), client.Page{}); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("evaluations of an unknown model: %v", err)
	}
	if _, err := r.anon.ModelEvaluations(ctx, fix.ModelSHA256, client.Page{Cursor: "forged"}); !errors.Is(err, client.ErrBadRequest) {
		t.Errorf("forged cursor: %v", err)
	}
	if got, err := r.anon.EvaluationProof(ctx, ev.ID); err != nil || !bytes.Equal(got, bundle) {
		t.Errorf("evaluation proof: %d bytes, %v", len(got), err)
	}
	if got, err := r.anon.EvaluationManifest(ctx, ev.ID); err != nil || !bytes.Equal(got, testManifest) {
		t.Errorf("evaluation manifest: %d bytes, %v", len(got), err)
	}
	if _, err := r.anon.EvaluationProof(ctx, "ev_nothing"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("proof of an unknown evaluation: %v", err)
	}

	// Revocable like an attestation: by an admin, with a reason, once, and logged.
	if _, err := court.RevokeEvaluation(ctx, ev.ID, "test set leaked"); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("an evaluator revoked: %v", err)
	}
	if _, err := r.admin.RevokeEvaluation(ctx, ev.ID, " "); !errors.Is(err, client.ErrInvalid) || fieldOf(err) != "reason" {
		t.Errorf("revocation without a reason: %v", err)
	}
	rev, err := r.admin.RevokeEvaluation(ctx, ev.ID, "test set leaked")
	if err != nil || rev.AttestationID != done.AttestationID {
		t.Fatalf("revocation %+v %v", rev, err)
	}
	if _, err := r.admin.RevokeEvaluation(ctx, ev.ID, "again"); !errors.Is(err, client.ErrConflict) {
		t.Errorf("revoking twice: %v", err)
	}
	list, err = r.anon.ModelEvaluations(ctx, fix.ModelSHA256, client.Page{})
	if err != nil || len(list.Items) != 1 || !list.Items[0].Revoked {
		t.Fatalf("model's evaluations after the revocation: %+v %v", list, err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got, err := r.anon.Revocation(ctx, done.AttestationID)
		if err == nil && got.LogIndex != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revocation not logged: %+v %v", got, err)
		}
	}
}

// A registry verifies evaluations only with evaluation keys it publishes: a bundle made with
// keys it does not publish is refused at once, naming the proof.
func TestEvaluationUnpublishedKeys(t *testing.T) {
	fix := registrytest.Get(t)
	testManifest, bundle, _, err := fix.Evaluation("court-of-appeal", fix.Model)
	if err != nil {
		t.Fatal(err)
	}
	r := newRegistry(t, sqliteDB, loadContract(t), nil) // the training keys only
	ctx := context.Background()
	prov := r.provider(registrytest.Provider)
	sreq, _ := r.submission(0)
	sub, err := prov.Submit(ctx, sreq)
	if err != nil {
		t.Fatal(err)
	}
	if s := r.wait(prov, sub.ID); s.Status != wire.StatusLogged {
		t.Fatalf("training submission %+v", s)
	}
	court := r.reg.Evaluator(t, "court-of-appeal")
	_, err = court.SubmitEvaluation(ctx, wire.EvaluationRequest{ModelSHA256: fix.ModelSHA256, Manifest: testManifest, Proof: bundle})
	if !errors.Is(err, client.ErrInvalid) || fieldOf(err) != "proof" || !strings.Contains(err.Error(), "not published by this registry") {
		t.Errorf("evaluation with unpublished keys: %v", err)
	}
}
