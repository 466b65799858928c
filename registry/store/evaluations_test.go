package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func evaluation(id, evaluator, model string, bundle byte) *Evaluation {
	return &Evaluation{ID: id, EvaluatorID: evaluator, ModelSHA256: model, TestCommitment: hex64('t'), Manifest: []byte("{}"),
		BundleSHA256: hex64(bundle), Bundle: []byte("bundle"), Status: StatusReceived}
}

// An evaluation goes received → verifying → signed → logged; a replayed bundle is refused
// while the first is live; a model's evaluations page newest first.
func TestEvaluations(t *testing.T) {
	openEach(t, func(t *testing.T, s *Store, _ Options) {
		ctx := context.Background()
		m := seed(t, s, "acme", '1')
		if err := s.InTx(ctx, func(tx *Tx) error {
			_, err := tx.CreateIfAbsent(ctx, &Provider{ID: "court", DisplayName: "court", Contact: "c", Status: ProviderApproved, Role: RoleEvaluator})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for i, e := range []*Evaluation{evaluation("ev_1", "court", m, 'a'), evaluation("ev_2", "acme", m, 'a'), evaluation("ev_3", "court", m, 'b')} {
			if err := s.InTx(ctx, func(tx *Tx) error { return tx.Create(ctx, e) }); err != nil {
				t.Fatalf("evaluation %d: %v", i, err)
			}
		}
		err := s.InTx(ctx, func(tx *Tx) error { return tx.Create(ctx, evaluation("ev_4", "court", m, 'a')) })
		if !errors.Is(err, ErrConflict) {
			t.Errorf("replayed bundle: %v", err)
		}
		if live, err := s.LiveEvaluation(ctx, hex64('a'), "court"); err != nil || live.ID != "ev_1" {
			t.Errorf("live evaluation: %+v %v", live, err)
		}
		err = s.InTx(ctx, func(tx *Tx) error { return tx.Create(ctx, evaluation("ev_5", "court", hex64('9'), 'c')) })
		if err == nil {
			t.Error("an evaluation of an unknown model was stored")
		}
		now := s.Now()
		if err := s.InTx(ctx, func(tx *Tx) error {
			if ok, err := tx.SetEvaluationStatus(ctx, "ev_1", []SubmissionStatus{StatusReceived}, StatusVerifying, "", "", now); err != nil || !ok {
				return fmt.Errorf("verifying: %v %w", ok, err)
			}
			return tx.SetEvaluationSigned(ctx, "ev_1", hex64('e'), []byte("env"), []byte("leaf"), "k", now, now)
		}); err != nil {
			t.Fatal(err)
		}
		err = s.InTx(ctx, func(tx *Tx) error {
			return tx.SetEvaluationSigned(ctx, "ev_1", hex64('f'), []byte("env2"), []byte("leaf"), "k", now, now)
		})
		if !errors.Is(err, ErrConflict) {
			t.Errorf("signing twice: %v", err)
		}
		if open, err := s.OpenEvaluations(ctx, 10); err != nil || len(open) != 3 || open[0].ID != "ev_1" || open[0].Bundle != nil {
			t.Fatalf("open evaluations: %+v %v", open, err)
		}
		un, err := s.UnloggedEvaluations(ctx, 10)
		if err != nil || len(un) != 1 || un[0].ID != "ev_1" || string(un[0].Leaf) != "leaf" {
			t.Fatalf("unlogged: %+v %v", un, err)
		}
		for range 2 { // the same index again is harmless
			if err := s.InTx(ctx, func(tx *Tx) error { return tx.SetEvaluationLogged(ctx, "ev_1", 7, now) }); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.SetEvaluationLogged(ctx, "ev_1", 8, now) }); !errors.Is(err, ErrConflict) {
			t.Errorf("another index: %v", err)
		}
		e, err := s.Evaluation(ctx, "ev_1")
		if err != nil || e.Status != StatusLogged || e.LogIndex == nil || *e.LogIndex != 7 || *e.AttestationID != hex64('e') || string(e.Bundle) != "bundle" {
			t.Fatalf("logged evaluation: %+v %v", e, err)
		}
		if un, _ := s.UnloggedEvaluations(ctx, 10); len(un) != 0 {
			t.Errorf("still unlogged: %+v", un)
		}
		page, next, err := s.ModelEvaluations(ctx, m, false, Page{Limit: 2})
		if err != nil || len(page) != 2 || page[0].ID != "ev_3" || page[1].ID != "ev_2" || next == "" || page[0].Bundle != nil {
			t.Fatalf("page 1: %+v %q %v", page, next, err)
		}
		if _, _, err := s.ModelEvaluations(ctx, m, false, Page{Cursor: "ev_2"}); !errors.Is(err, ErrBadCursor) {
			t.Errorf("forged cursor: %v", err)
		}
		page, next, err = s.ModelEvaluations(ctx, m, false, Page{Limit: 2, Cursor: next})
		if err != nil || len(page) != 1 || page[0].ID != "ev_1" || next != "" {
			t.Fatalf("page 2: %+v %q %v", page, next, err)
		}
		if page, _, _ := s.ModelEvaluations(ctx, m, true, Page{}); len(page) != 1 || page[0].ID != "ev_1" {
			t.Errorf("logged only: %+v", page)
		}
	})
}
