package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The console's searches and counts, on both databases: LIKE patterns escaped, names in
// any letter case, audit actions by kind.
func TestAdminQueries(t *testing.T) {
	openEach(t, func(t *testing.T, s *Store, _ Options) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
		if err := s.InTx(ctx, func(tx *Tx) error {
			for _, p := range []Provider{{ID: "acme", Status: ProviderApproved}, {ID: "beta", Status: ProviderPending}} {
				if err := tx.Create(ctx, &p); err != nil {
					return err
				}
			}
			for _, c := range []string{"c1", "c2"} {
				if err := tx.Create(ctx, &Dataset{Commitment: c, Manifest: []byte("{}")}); err != nil {
					return err
				}
			}
			for i, m := range []Model{
				{SHA256: "ab01", Name: "Unfair Terms", ProviderID: "acme", DatasetCommitment: "c1"},
				{SHA256: "ab02", Name: "100% fair", ProviderID: "beta", DatasetCommitment: "c2"},
				{SHA256: "cd03", Name: "other_name", ProviderID: "acme", DatasetCommitment: "c1"},
			} {
				m.Body = []byte("{}")
				if err := tx.Create(ctx, &m); err != nil {
					return err
				}
				sub := Submission{ID: "sub_" + m.SHA256, ProviderID: m.ProviderID, ModelSHA256: m.SHA256, DatasetCommitment: m.DatasetCommitment,
					Manifest: []byte("{}"), ProofSHA256: "p", Proof: []byte("{}"), Status: []SubmissionStatus{StatusLogged, StatusRejected, StatusLogged}[i],
					CreatedAt: t0.Add(time.Duration(i) * 24 * time.Hour)}
				if err := tx.Create(ctx, &sub); err != nil {
					return err
				}
			}
			for _, a := range []string{"provider.approve", "provider.suspend", "providerx.approve", "job.retry"} {
				if err := tx.AddAudit(ctx, &AuditEvent{At: t0, Actor: "admin:k", Action: a, Subject: "s"}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			f    ModelFilter
			want string
		}{
			{ModelFilter{}, "ab01 ab02 cd03"},
			{ModelFilter{SHA256Prefix: "ab"}, "ab01 ab02"},
			{ModelFilter{SHA256Prefix: "a_"}, ""},
			{ModelFilter{Name: "FAIR"}, "ab01 ab02"},
			{ModelFilter{Name: "0%"}, "ab02"},
			{ModelFilter{Name: "r_n"}, "cd03"},
			{ModelFilter{Name: "r%n"}, ""},
			{ModelFilter{ProviderID: "acme", DatasetCommitment: "c1"}, "ab01 cd03"},
			{ModelFilter{ProviderID: "beta", DatasetCommitment: "c1"}, ""},
		} {
			ms, _, err := s.SearchModels(ctx, tc.f, Page{})
			var got []string
			for _, m := range ms {
				got = append(got, m.SHA256)
				if m.Body != nil {
					t.Errorf("search read the body of %s", m.SHA256)
				}
			}
			if err != nil || join(got) != tc.want {
				t.Errorf("search %+v: %q, %v; want %q", tc.f, join(got), err, tc.want)
			}
		}
		c, err := s.Counts(ctx)
		if err != nil || c.Models != 3 || c.Attested != 0 || c.Submissions[StatusLogged] != 2 || c.Submissions[StatusRejected] != 1 ||
			c.Providers[ProviderApproved] != 1 || c.Providers[ProviderPending] != 1 {
			t.Errorf("counts %+v, %v", c, err)
		}
		times, err := s.SubmissionTimes(ctx, t0.Add(time.Hour))
		if err != nil || len(times) != 2 || !times[0].Equal(t0.Add(24*time.Hour)) {
			t.Errorf("times %v, %v", times, err)
		}
		subs, err := s.ModelSubmissions(ctx, "ab02")
		if err != nil || len(subs) != 1 || subs[0].Proof != nil {
			t.Errorf("submissions of ab02 %+v, %v", subs, err)
		}
		for _, tc := range []struct {
			f    AuditFilter
			want int
		}{
			{AuditFilter{}, 4}, {AuditFilter{Action: "provider."}, 2}, {AuditFilter{Action: "provider.approve"}, 1},
			{AuditFilter{Actor: "admin:k", Action: "job."}, 1}, {AuditFilter{Actor: "someone"}, 0}, {AuditFilter{Subject: "s", Action: "x."}, 0},
		} {
			evs, _, err := s.SearchAudit(ctx, tc.f, Page{})
			if err != nil || len(evs) != tc.want {
				t.Errorf("audit %+v: %d, %v; want %d", tc.f, len(evs), err, tc.want)
			}
		}
		// Pages of the audit log follow each other without gaps.
		first, next, err := s.SearchAudit(ctx, AuditFilter{Action: "provider."}, Page{Limit: 1})
		if err != nil || len(first) != 1 || next == "" {
			t.Fatalf("first page %+v %q %v", first, next, err)
		}
		second, next, err := s.SearchAudit(ctx, AuditFilter{Action: "provider."}, Page{Limit: 1, Cursor: next})
		if err != nil || len(second) != 1 || second[0].ID >= first[0].ID || next != "" {
			t.Errorf("second page %+v %q %v", second, next, err)
		}
	})
}

func join(s []string) string { return strings.Join(s, " ") }
