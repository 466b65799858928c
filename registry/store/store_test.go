package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/comet-attest/comet/registry/migrate"
)

func hex64(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

// seed writes a provider, a dataset and a model and returns the model's hash.
func seed(t *testing.T, s *Store, provider string, model byte) string {
	t.Helper()
	ctx := context.Background()
	err := s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.CreateIfAbsent(ctx, &Provider{ID: provider, DisplayName: provider, Contact: "x@example.org", Status: ProviderApproved}); err != nil {
			return err
		}
		if _, err := tx.CreateIfAbsent(ctx, &Dataset{Commitment: hex64('c'), FileDigest: hex64('d'), N: 3, D: 2, FractionBits: 8, ValueBits: 24, ChunkRows: 2, Manifest: []byte("{}")}); err != nil {
			return err
		}
		return tx.Create(ctx, &Model{SHA256: hex64(model), Name: "m.json", ProviderID: provider, DatasetCommitment: hex64('c'), Body: []byte("{}")})
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex64(model)
}

func submission(id, provider, model string) *Submission {
	return &Submission{ID: id, ProviderID: provider, ModelSHA256: model, ModelName: provider + ".json", DatasetCommitment: hex64('c'),
		Manifest: []byte("{}"), ProofSHA256: hex64('p'), Proof: []byte("proof"), Status: StatusReceived}
}

func TestMigrations(t *testing.T) {
	openEach(t, func(t *testing.T, s *Store, o Options) {
		ctx := context.Background()
		db, err := s.w.DB()
		if err != nil {
			t.Fatal(err)
		}
		applied, err := migrate.List(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		all, _ := migrate.All()
		if len(applied) != len(all) || applied[0].Name != "init" {
			t.Fatalf("applied %+v, want %d migrations", applied, len(all))
		}
		// Opening again applies nothing and keeps the records.
		s2 := openStore(t, o)
		again, err := migrate.Up(ctx, db, s2.Dialect())
		if err != nil || len(again) != 0 {
			t.Fatalf("second Up applied %v, %v", again, err)
		}
		// River's tables are there.
		var n int64
		if err := s.w.Table("river_job").Count(&n).Error; err != nil {
			t.Fatalf("river_job: %v", err)
		}
		// Every model reads from its migrated table.
		for _, m := range []any{&Provider{}, &APIKey{}, &Dataset{}, &Model{}, &Submission{}, &Attestation{}, &Revocation{}, &AuditEvent{}, &Anchor{}, &SubmissionLease{}, &Evaluation{}} {
			if err := s.w.Model(m).Limit(1).Find(m).Error; err != nil {
				t.Errorf("%T: %v", m, err)
			}
		}
	})
}

func TestProviders(t *testing.T) {
	openEach(t, func(t *testing.T, s *Store, _ Options) {
		ctx := context.Background()
		for _, id := range []string{"b", "a", "c"} {
			if err := s.InTx(ctx, func(tx *Tx) error {
				return tx.Create(ctx, &Provider{ID: id, DisplayName: id, Contact: "c", Status: ProviderPending})
			}); err != nil {
				t.Fatal(err)
			}
		}
		err := s.InTx(ctx, func(tx *Tx) error { return tx.Create(ctx, &Provider{ID: "a", Status: ProviderPending}) })
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate provider: %v", err)
		}
		now := s.Now()
		if err := s.InTx(ctx, func(tx *Tx) error {
			return tx.SetProviderStatus(ctx, "a", []ProviderStatus{ProviderPending}, ProviderApproved, now)
		}); err != nil {
			t.Fatal(err)
		}
		err = s.InTx(ctx, func(tx *Tx) error {
			return tx.SetProviderStatus(ctx, "a", []ProviderStatus{ProviderPending}, ProviderApproved, now)
		})
		if !errors.Is(err, ErrConflict) {
			t.Errorf("approving twice: %v", err)
		}
		err = s.InTx(ctx, func(tx *Tx) error {
			return tx.SetProviderStatus(ctx, "zz", []ProviderStatus{ProviderPending}, ProviderApproved, now)
		})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown provider: %v", err)
		}
		p, err := s.Provider(ctx, "a")
		if err != nil || p.Status != ProviderApproved || !p.UpdatedAt.Equal(now) {
			t.Errorf("provider a = %+v, %v", p, err)
		}
		page, next, err := s.Providers(ctx, "", Page{Limit: 2})
		if err != nil || len(page) != 2 || page[0].ID != "a" || page[1].ID != "b" || next == "" || next == "b" {
			t.Fatalf("page 1: %+v %q %v (want an opaque cursor)", page, next, err)
		}
		// A cursor the store did not make is refused, never read as a position.
		for _, forged := range []string{"b", "YjE6Yg", "!!", "YzE6"} {
			if _, _, err := s.Providers(ctx, "", Page{Limit: 2, Cursor: forged}); !errors.Is(err, ErrBadCursor) {
				t.Errorf("forged cursor %q: %v, want ErrBadCursor", forged, err)
			}
		}
		page, next, err = s.Providers(ctx, "", Page{Limit: 2, Cursor: next})
		if err != nil || len(page) != 1 || page[0].ID != "c" || next != "" {
			t.Fatalf("page 2: %+v %q %v", page, next, err)
		}
		page, _, _ = s.Providers(ctx, ProviderPending, Page{})
		if len(page) != 2 {
			t.Errorf("pending providers: %+v", page)
		}
		if p.Role != RoleProvider {
			t.Errorf("an account created without a role is %q, want provider", p.Role)
		}
		if err := s.InTx(ctx, func(tx *Tx) error {
			return tx.Create(ctx, &Provider{ID: "court", DisplayName: "court", Contact: "c", Status: ProviderPending, Role: RoleEvaluator})
		}); err != nil {
			t.Fatal(err)
		}
		if e, err := s.Provider(ctx, "court"); err != nil || e.Role != RoleEvaluator {
			t.Errorf("evaluator = %+v, %v", e, err)
		}
		// The schema holds accounts to the two roles: an admin is a key, not an account.
		err = s.InTx(ctx, func(tx *Tx) error {
			return tx.Create(ctx, &Provider{ID: "root", DisplayName: "root", Contact: "c", Status: ProviderPending, Role: RoleAdmin})
		})
		if err == nil {
			t.Error("an account with the admin role was stored")
		}
	})
}

func TestAPIKeys(t *testing.T) {
	openEach(t, func(t *testing.T, s *Store, _ Options) {
		ctx := context.Background()
		seed(t, s, "prov", '1')
		prov := "prov"
		err := s.InTx(ctx, func(tx *Tx) error {
			if err := tx.Create(ctx, &APIKey{ID: "k1", Role: RoleAdmin, SecretSHA256: []byte{1, 2}}); err != nil {
				return err
			}
			return tx.Create(ctx, &APIKey{ID: "k2", Role: RoleProvider, ProviderID: &prov, SecretSHA256: []byte{3}})
		})
		if err != nil {
			t.Fatal(err)
		}
		// The schema refuses a provider key without a provider.
		err = s.InTx(ctx, func(tx *Tx) error {
			return tx.Create(ctx, &APIKey{ID: "k3", Role: RoleProvider, SecretSHA256: []byte{3}})
		})
		if err == nil {
			t.Error("provider key without provider accepted")
		}
		k, err := s.APIKey(ctx, "k1")
		if err != nil || k.Role != RoleAdmin || string(k.SecretSHA256) != "\x01\x02" || k.RevokedAt != nil {
			t.Fatalf("k1 = %+v, %v", k, err)
		}
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.RevokeAPIKey(ctx, "k2", s.Now()) }); err != nil {
			t.Fatal(err)
		}
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.RevokeAPIKey(ctx, "k2", s.Now()) }); !errors.Is(err, ErrConflict) {
			t.Errorf("revoke a revoked key: %v, want ErrConflict", err)
		}
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.RevokeAPIKey(ctx, "nope", s.Now()) }); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoke unknown key: %v", err)
		}
		ks, err := s.APIKeys(ctx, "prov")
		if err != nil || len(ks) != 1 || ks[0].RevokedAt == nil {
			t.Errorf("provider keys %+v %v", ks, err)
		}
		ks, _ = s.APIKeys(ctx, "")
		if len(ks) != 1 || ks[0].ID != "k1" {
			t.Errorf("admin keys %+v", ks)
		}
	})
}

func TestSubmissionsAndAttestations(t *testing.T) {
	openEach(t, func(t *testing.T, s *Store, _ Options) {
		ctx := context.Background()
		m := seed(t, s, "prov", '1')
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.Create(ctx, submission("s1", "prov", m)) }); err != nil {
			t.Fatal(err)
		}
		// A second live submission of the same model is refused, and nothing of its
		// transaction stays.
		err := s.InTx(ctx, func(tx *Tx) error {
			if err := tx.AddAudit(ctx, &AuditEvent{At: s.Now(), Actor: "t", Action: "submit", Subject: "s2"}); err != nil {
				return err
			}
			return tx.Create(ctx, submission("s2", "prov", m))
		})
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("replayed submission: %v", err)
		}
		if ev, _, _ := s.AuditEvents(ctx, "s2", Page{}); len(ev) != 0 {
			t.Errorf("rolled back transaction left %+v", ev)
		}
		now := s.Now()
		ok, err := transition(s, "s1", []SubmissionStatus{StatusReceived}, StatusVerifying)
		if err != nil || !ok {
			t.Fatalf("to verifying: %v %v", ok, err)
		}
		if ok, _ := transition(s, "s1", []SubmissionStatus{StatusReceived}, StatusVerifying); ok {
			t.Error("a transition from the wrong status happened")
		}
		if _, err := transition(s, "s1", []SubmissionStatus{StatusVerifying}, StatusRejected); err != nil {
			t.Fatal(err)
		}
		// Once rejected, the model may be submitted again.
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.Create(ctx, submission("s2", "prov", m)) }); err != nil {
			t.Fatalf("resubmission after rejection: %v", err)
		}
		open, err := s.OpenSubmissions(ctx, 10)
		if err != nil || len(open) != 1 || open[0].ID != "s2" || open[0].Proof != nil {
			t.Fatalf("open submissions %+v %v", open, err)
		}
		subs, _, err := s.Submissions(ctx, SubmissionFilter{ProviderID: "prov"}, Page{})
		if err != nil || len(subs) != 2 || subs[0].ID != "s2" {
			t.Fatalf("submissions %+v %v", subs, err)
		}

		a := &Attestation{ID: hex64('a'), SubmissionID: "s2", ModelSHA256: m, ProviderID: "prov",
			Envelope: []byte("{}"), Leaf: []byte{1}, KeyID: "k+1", IssuedAt: now}
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.Create(ctx, a) }); err != nil {
			t.Fatal(err)
		}
		un, _ := s.UnloggedAttestations(ctx, 10)
		if len(un) != 1 {
			t.Fatalf("unlogged %+v", un)
		}
		logged := func(i int64) error {
			return s.InTx(ctx, func(tx *Tx) error { return tx.SetAttestationLogged(ctx, a.ID, i, s.Now()) })
		}
		if err := logged(7); err != nil {
			t.Fatal(err)
		}
		if err := logged(7); err != nil {
			t.Errorf("logging again at the same index: %v", err)
		}
		if err := logged(8); !errors.Is(err, ErrConflict) {
			t.Errorf("logging at another index: %v", err)
		}
		got, err := s.AttestationByModel(ctx, m)
		if err != nil || got.LogIndex == nil || *got.LogIndex != 7 || !got.IssuedAt.Equal(now) || got.LoggedAt == nil {
			t.Fatalf("attestation %+v %v", got, err)
		}
		v, err := s.ModelView(ctx, m)
		if err != nil || v.SubmissionID == nil || *v.SubmissionID != "s2" || v.AttestationID == nil || *v.LogIndex != 7 || v.RevocationID != nil {
			t.Fatalf("model view %+v %v", v, err)
		}
		r := &Revocation{ID: hex64('r'), AttestationID: a.ID, Reason: "bad", Envelope: []byte("{}"), Leaf: []byte{2}, RevokedAt: now}
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.Create(ctx, r) }); err != nil {
			t.Fatal(err)
		}
		r2 := *r
		r2.ID = hex64('s')
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.Create(ctx, &r2) }); !errors.Is(err, ErrConflict) {
			t.Errorf("second revocation: %v", err)
		}
		v, _ = s.ModelView(ctx, m)
		if v.RevocationReason == nil || *v.RevocationReason != "bad" || !v.RevokedAt.Equal(now) {
			t.Errorf("model view after revocation %+v", v)
		}
		if _, err := s.ModelView(ctx, hex64('9')); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown model: %v", err)
		}
	})
}

func transition(s *Store, id string, from []SubmissionStatus, to SubmissionStatus) (bool, error) {
	var ok bool
	err := s.InTx(context.Background(), func(tx *Tx) error {
		var err error
		ok, err = tx.SetSubmissionStatus(context.Background(), id, from, to, "", "", s.Now())
		return err
	})
	return ok, err
}

func TestAuditAndAnchors(t *testing.T) {
	openEach(t, func(t *testing.T, s *Store, _ Options) {
		ctx := context.Background()
		err := s.InTx(ctx, func(tx *Tx) error {
			for i := range 5 {
				if err := tx.AddAudit(ctx, &AuditEvent{At: s.Now(), Actor: "admin", Action: "x", Subject: fmt.Sprint(i % 2)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		ev, next, err := s.AuditEvents(ctx, "", Page{Limit: 3})
		if err != nil || len(ev) != 3 || ev[0].ID <= ev[1].ID || next == "" {
			t.Fatalf("audit page %+v %q %v", ev, next, err)
		}
		ev, next, _ = s.AuditEvents(ctx, "", Page{Limit: 3, Cursor: next})
		if len(ev) != 2 || next != "" {
			t.Errorf("audit page 2 %+v %q", ev, next)
		}
		ev, _, _ = s.AuditEvents(ctx, "0", Page{})
		if len(ev) != 3 {
			t.Errorf("audit of subject 0: %d events", len(ev))
		}
		a := &Anchor{TreeSize: 10, Root: hex64('r'), Checkpoint: "cp", Status: AnchorPending}
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.Create(ctx, a) }); err != nil {
			t.Fatal(err)
		}
		if err := s.InTx(ctx, func(tx *Tx) error {
			return tx.Create(ctx, &Anchor{TreeSize: 10, Root: hex64('x'), Checkpoint: "cp", Status: AnchorPending})
		}); !errors.Is(err, ErrConflict) {
			t.Errorf("anchoring one size twice: %v", err)
		}
		bn := int64(5)
		a.Status, a.TxHash, a.BlockNumber = AnchorAccepted, "0xabc", &bn
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.SaveAnchor(ctx, a) }); err != nil {
			t.Fatal(err)
		}
		got, err := s.AnchorBySize(ctx, 10)
		if err != nil || got.Status != AnchorAccepted || *got.BlockNumber != 5 {
			t.Errorf("anchor %+v %v", got, err)
		}
		if all, _ := s.Anchors(ctx, 0); len(all) != 1 {
			t.Errorf("anchors %+v", all)
		}
	})
}

func TestTimesRoundTrip(t *testing.T) {
	openEach(t, func(t *testing.T, s *Store, _ Options) {
		ctx := context.Background()
		at := time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC)
		if err := s.InTx(ctx, func(tx *Tx) error {
			return tx.AddAudit(ctx, &AuditEvent{At: at, Actor: "a", Action: "b", Subject: "t"})
		}); err != nil {
			t.Fatal(err)
		}
		ev, _, _ := s.AuditEvents(ctx, "t", Page{})
		if len(ev) != 1 || !ev[0].At.Equal(at) {
			t.Errorf("time %v, want %v", ev, at)
		}
	})
}

// Concurrent batched transactions: each is atomic on its own, a failing one leaves nothing,
// and the others commit.
func TestInBatchTx(t *testing.T) {
	openEach(t, func(t *testing.T, s *Store, _ Options) {
		ctx := context.Background()
		const n = 40
		errs := make(chan error, n)
		for i := range n {
			go func() {
				errs <- s.InBatchTx(ctx, func(tx *Tx) error {
					if err := tx.AddAudit(ctx, &AuditEvent{At: s.Now(), Actor: "t", Action: "batch", Subject: fmt.Sprint(i)}); err != nil {
						return err
					}
					if i%4 == 0 {
						return fmt.Errorf("item %d fails after writing", i)
					}
					return tx.Create(ctx, &Provider{ID: fmt.Sprintf("p%02d", i), Status: ProviderPending})
				})
			}()
		}
		failed := 0
		for range n {
			if err := <-errs; err != nil {
				failed++
			}
		}
		if failed != n/4 {
			t.Fatalf("%d failed, want %d", failed, n/4)
		}
		ev, _, _ := s.AuditEvents(ctx, "", Page{Limit: 100})
		ps, _, _ := s.Providers(ctx, "", Page{Limit: 100})
		if len(ev) != n-n/4 || len(ps) != n-n/4 {
			t.Fatalf("%d audit events and %d providers, want %d of each", len(ev), len(ps), n-n/4)
		}
		for _, e := range ev {
			var i int
			fmt.Sscan(e.Subject, &i)
			if i%4 == 0 {
				t.Errorf("failed item %d left its audit event", i)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.InBatchTx(ctx, func(*Tx) error { return nil }); err == nil {
			t.Error("InBatchTx on a closed store succeeded")
		}
	})
}

// A lease is renewed by its holder, released only by its holder, and taken by exactly one
// of the processes that find it stale.
func TestSubmissionLeases(t *testing.T) {
	openEach(t, func(t *testing.T, s *Store, _ Options) {
		ctx := context.Background()
		m := seed(t, s, "prov", '1')
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.Create(ctx, submission("s1", "prov", m)) }); err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		beat := func(holder string, at time.Time) {
			t.Helper()
			if err := s.InTx(ctx, func(tx *Tx) error { return tx.BeatSubmission(ctx, "s1", holder, at) }); err != nil {
				t.Fatal(err)
			}
		}
		stale := func(before time.Time) []SubmissionLease {
			t.Helper()
			l, err := s.StaleSubmissionLeases(ctx, before, 10)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		beat("job-1", t0)
		beat("job-1", t0.Add(10*time.Second)) // renewed, not a second row
		if l := stale(t0.Add(5 * time.Second)); len(l) != 0 {
			t.Fatalf("a renewed lease is stale: %+v", l)
		}
		if l := stale(t0.Add(11 * time.Second)); len(l) != 1 || l[0].Holder != "job-1" || !l[0].BeatAt.Equal(t0.Add(10*time.Second)) {
			t.Fatalf("stale leases %+v", l)
		}
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.ReleaseSubmission(ctx, "s1", "job-2") }); err != nil {
			t.Fatal(err)
		}
		if l := stale(t0.Add(time.Minute)); len(l) != 1 {
			t.Fatalf("another holder released job-1's lease: %+v", l)
		}
		take := func(before time.Time) bool {
			t.Helper()
			var took bool
			if err := s.InTx(ctx, func(tx *Tx) error {
				var err error
				took, err = tx.TakeStaleLease(ctx, "s1", before)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return took
		}
		if take(t0.Add(5 * time.Second)) {
			t.Error("took a lease renewed after the horizon")
		}
		if !take(t0.Add(time.Minute)) || take(t0.Add(time.Minute)) {
			t.Error("a stale lease was not taken exactly once")
		}
		beat("job-3", t0)
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.ReleaseSubmission(ctx, "s1", "job-3") }); err != nil {
			t.Fatal(err)
		}
		if l := stale(t0.Add(time.Hour)); len(l) != 0 {
			t.Errorf("released lease still there: %+v", l)
		}
	})
}
