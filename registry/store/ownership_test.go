package store

import (
	"context"
	"errors"
	"testing"
)

// A submission owns nothing: several providers may each have a live submission of one model,
// the model's one attestation decides whose it is, and the lookup shows the attested
// submission's provider and name or, while nothing is attested, those of the submission
// furthest on, never a squatter's rejected or later one.
func TestSubmissionsOwnNothing(t *testing.T) {
	openEach(t, func(t *testing.T, s *Store, _ Options) {
		ctx := context.Background()
		m := seed(t, s, "squatter", '1') // the squatter uploaded the file first, as m.json
		seed(t, s, "owner", '2')
		body := func() []byte {
			got, err := s.Model(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			return got.Body
		}()
		create := func(id, provider string) func(*Tx) error {
			return func(tx *Tx) error { return tx.Create(ctx, submission(id, provider, m)) }
		}
		reject := func(id string) func(*Tx) error {
			return func(tx *Tx) error {
				_, err := tx.SetSubmissionStatus(ctx, id, []SubmissionStatus{StatusReceived}, StatusRejected, "proof", "bad", s.Now())
				return err
			}
		}
		// attest writes what the service writes with an attestation, the attestation last, so
		// that a refused one shows whether the rest was rolled back.
		attest := func(id, provider string, c byte) func(*Tx) error {
			return func(tx *Tx) error {
				if err := tx.SetModelOwner(ctx, m, provider, provider+".json"); err != nil {
					return err
				}
				if err := tx.AddAudit(ctx, &AuditEvent{At: s.Now(), Actor: "t", Action: "attest", Subject: "attest:" + id}); err != nil {
					return err
				}
				return tx.Create(ctx, &Attestation{ID: hex64(c), SubmissionID: id, ModelSHA256: m, ProviderID: provider,
					Envelope: []byte("{}"), Leaf: []byte{c}, KeyID: "k", IssuedAt: s.Now()})
			}
		}
		for _, step := range []struct {
			name string
			do   func(*Tx) error
			err  error
			// the lookup afterwards
			sub, provider, modelName string
			attested                 bool
		}{
			{name: "no submission", provider: "squatter", modelName: "m.json"},
			{name: "squatter's junk", do: create("s1", "squatter"), sub: "s1", provider: "squatter", modelName: "squatter.json"},
			{name: "owner not blocked by pending junk", do: create("s2", "owner"), sub: "s1", provider: "squatter", modelName: "squatter.json"},
			{name: "owner's replay", do: create("s3", "owner"), err: ErrConflict, sub: "s1", provider: "squatter", modelName: "squatter.json"},
			{name: "junk rejected", do: reject("s1"), sub: "s2", provider: "owner", modelName: "owner.json"},
			{name: "later junk does not displace the owner", do: create("s4", "squatter"), sub: "s2", provider: "owner", modelName: "owner.json"},
			{name: "owner attested", do: attest("s2", "owner", 'a'), sub: "s2", provider: "owner", modelName: "owner.json", attested: true},
			{name: "second attestation of the model", do: attest("s4", "squatter", 'b'), err: ErrConflict, sub: "s2", provider: "owner", modelName: "owner.json", attested: true},
			{name: "junk rejected after the attestation", do: reject("s4"), sub: "s2", provider: "owner", modelName: "owner.json", attested: true},
			{name: "a newer rejected submission", do: func(tx *Tx) error {
				if err := create("s5", "squatter")(tx); err != nil {
					return err
				}
				return reject("s5")(tx)
			}, sub: "s2", provider: "owner", modelName: "owner.json", attested: true},
		} {
			if step.do != nil {
				if err := s.InTx(ctx, step.do); !errors.Is(err, step.err) || (err != nil) != (step.err != nil) {
					t.Fatalf("%s: %v, want %v", step.name, err, step.err)
				}
			}
			v, err := s.ModelView(ctx, m)
			if err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			if got := deref(v.SubmissionID); got != step.sub || v.ProviderID != step.provider || v.Name != step.modelName || (v.AttestationID != nil) != step.attested {
				t.Errorf("%s: lookup shows submission %q of %q named %q, attested %v; want %q of %q named %q, attested %v", step.name,
					got, v.ProviderID, v.Name, v.AttestationID != nil, step.sub, step.provider, step.modelName, step.attested)
			}
		}
		// The refused attestation left nothing: no audit event, and the model row is the
		// owner's, with the file as first uploaded (the same model, whoever sent it).
		if ev, _, _ := s.AuditEvents(ctx, "attest:s4", Page{}); len(ev) != 0 {
			t.Errorf("refused attestation left %+v", ev)
		}
		got, err := s.Model(ctx, m)
		if err != nil || got.ProviderID != "owner" || got.Name != "owner.json" || string(got.Body) != string(body) {
			t.Errorf("model row %+v %v", got, err)
		}
		for provider, want := range map[string]string{"owner": "s2", "squatter": ""} {
			live, err := s.LiveSubmission(ctx, m, provider)
			if want == "" && !errors.Is(err, ErrNotFound) || want != "" && (err != nil || live.ID != want) {
				t.Errorf("live submission of %s: %+v %v, want %q", provider, live, err, want)
			}
		}
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.SetModelOwner(ctx, hex64('9'), "owner", "x.json") }); !errors.Is(err, ErrNotFound) {
			t.Errorf("owner of an unknown model: %v", err)
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
