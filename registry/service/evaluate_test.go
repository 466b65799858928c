package service_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/leaf"
	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/registry/registrytest"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
)

// An evaluator's evaluation of an attested model is verified against the published
// evaluation keys, signed, and logged under its own leaf kind; it is refused for a model
// that is unknown or not attested, for another account, and as a replay.
func TestEvaluationFlow(t *testing.T) {
	fix := registrytest.Get(t)
	testManifest, bundle, keysDir, err := fix.Evaluation("court-of-appeal", fix.Model)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, envConfig{keysDir: keysDir})
	ctx := context.Background()
	court := e.account(t, "court-of-appeal", store.RoleEvaluator)
	req := service.EvaluationSubmission{ModelSHA256: fix.ModelSHA256, Manifest: testManifest, Bundle: bundle}
	field := func(err error) string {
		var inv *service.InvalidError
		if errors.As(err, &inv) {
			return inv.Field
		}
		return ""
	}
	if _, err := e.svc.SubmitEvaluation(ctx, court, req); field(err) != "model_sha256" {
		t.Errorf("evaluation of a model not registered: %v", err)
	}
	s := e.submit(t, 0, nil)
	if _, err := e.svc.SubmitEvaluation(ctx, court, req); field(err) != "model_sha256" {
		t.Errorf("evaluation of a model not attested: %v", err)
	}
	if err := e.svc.ProcessSubmission(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SubmitEvaluation(ctx, e.prov, req); field(err) != "proof" {
		t.Errorf("another account's evaluation bundle: %v", err)
	}
	if _, err := e.svc.SubmitEvaluation(ctx, e.admin, req); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("an admin key submitted an evaluation: %v", err)
	}
	ev, err := e.svc.SubmitEvaluation(ctx, court, req)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != store.StatusReceived || ev.JobID == nil {
		t.Fatalf("submitted evaluation %+v", ev)
	}
	if _, err := e.svc.SubmitEvaluation(ctx, court, req); !errors.Is(err, service.ErrConflict) {
		t.Errorf("replayed evaluation: %v", err)
	}
	if _, err := e.svc.Evaluation(ctx, nil, ev.ID); !errors.Is(err, service.ErrNotFound) {
		t.Errorf("anyone read an evaluation before it was logged: %v", err)
	}
	for range 2 {
		if err := e.svc.ProcessEvaluation(ctx, ev.ID); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.svc.Evaluation(ctx, nil, ev.ID)
	if err != nil || got.Status != store.StatusLogged || got.LogIndex == nil || *got.LogIndex != 1 {
		t.Fatalf("evaluation after processing: %+v %v", got, err)
	}
	if n := e.logSize(t, 2); n != 2 {
		t.Fatalf("log size %d after a training attestation and an evaluation processed twice", n)
	}
	env, err := envelope.Parse(got.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	_, payload, err := envelope.Verify(ctx, env, e.svc.Signer().Verifier())
	if err != nil {
		t.Fatal(err)
	}
	subj, pred, err := statement.ParseEvaluation(payload)
	if err != nil {
		t.Fatal(err)
	}
	if subj.SHA256 != fix.ModelSHA256 || subj.Name != "model.json" || pred.Evaluator != "court-of-appeal" || pred.BundleSHA256 != got.BundleSHA256 ||
		pred.Task != statement.TaskRegression || pred.Metrics.N != registrytest.EvalRows || pred.Metrics.R2 == "" {
		t.Fatalf("signed evaluation %+v of %+v", pred, subj)
	}
	lf, err := leaf.Parse(got.Leaf)
	if err != nil || lf.Kind != leaf.KindEvaluation {
		t.Fatalf("leaf %+v %v", lf, err)
	}
	// Its client bundle, by attestation id like a training attestation's: the leaf at its
	// index, under a checkpoint that covers it.
	b, err := e.svc.Bundle(ctx, *got.AttestationID)
	if err != nil || b.Index != 1 || !bytes.Equal(b.Leaf, got.Leaf) || b.Inclusion.TreeSize < 2 {
		t.Fatalf("bundle of the evaluation attestation: %+v %v", b, err)
	}
	list, next, err := e.svc.ModelEvaluations(ctx, fix.ModelSHA256, store.Page{})
	if err != nil || len(list) != 1 || list[0].ID != ev.ID || next != "" {
		t.Fatalf("model's evaluations %+v %q %v", list, next, err)
	}
	if _, _, err := e.svc.ModelEvaluations(ctx, fix.ModelSHA256[:63]+"0", store.Page{}); !errors.Is(err, service.ErrNotFound) {
		t.Errorf("evaluations of an unknown model: %v", err)
	}
	// A model whose attestation is revoked is evaluated no more.
	att, err := e.st.AttestationByModel(ctx, fix.ModelSHA256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Revoke(ctx, e.admin, att.ID, "training data withdrawn"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SubmitEvaluation(ctx, court, req); field(err) != "model_sha256" {
		t.Errorf("evaluation of a revoked model: %v", err)
	}
}
