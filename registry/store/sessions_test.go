package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestAdminSessions(t *testing.T) {
	openEach(t, func(t *testing.T, s *Store, _ Options) {
		ctx := context.Background()
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		if err := s.InTx(ctx, func(tx *Tx) error {
			if err := tx.Create(ctx, &APIKey{ID: "k1", Role: RoleAdmin, SecretSHA256: []byte{1}}); err != nil {
				return err
			}
			for _, r := range []AdminSession{
				{TokenSHA256: "h-fresh", ID: "ses_fresh", KeyID: "k1", CreatedAt: t0, SeenAt: t0, ExpiresAt: t0.Add(time.Hour)},
				{TokenSHA256: "h-idle", ID: "ses_idle", KeyID: "k1", CreatedAt: t0.Add(-time.Hour), SeenAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Hour)},
				{TokenSHA256: "h-old", ID: "ses_old", KeyID: "k1", CreatedAt: t0.Add(-2 * time.Hour), SeenAt: t0, ExpiresAt: t0},
			} {
				if err := tx.Create(ctx, &r); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// A second session with the same token hash, or the same id, is refused.
		for _, dup := range []AdminSession{
			{TokenSHA256: "h-fresh", ID: "ses_other", KeyID: "k1", CreatedAt: t0, SeenAt: t0, ExpiresAt: t0},
			{TokenSHA256: "h-other", ID: "ses_fresh", KeyID: "k1", CreatedAt: t0, SeenAt: t0, ExpiresAt: t0},
		} {
			if err := s.InTx(ctx, func(tx *Tx) error { return tx.Create(ctx, &dup) }); !errors.Is(err, ErrConflict) {
				t.Errorf("duplicate %+v: %v", dup, err)
			}
		}
		// A session needs an existing key.
		if err := s.InTx(ctx, func(tx *Tx) error {
			return tx.Create(ctx, &AdminSession{TokenSHA256: "h-x", ID: "ses_x", KeyID: "nokey", CreatedAt: t0, SeenAt: t0, ExpiresAt: t0})
		}); err == nil {
			t.Error("a session of no key was stored")
		}
		got, err := s.AdminSession(ctx, "h-fresh")
		if err != nil || got.ID != "ses_fresh" || !got.SeenAt.Equal(t0) {
			t.Fatalf("read: %+v, %v", got, err)
		}
		if _, err := s.AdminSession(ctx, "ses_fresh"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a session read by its id as token hash: %v", err)
		}
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.TouchAdminSession(ctx, "h-fresh", t0.Add(time.Minute)) }); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.AdminSession(ctx, "h-fresh"); !got.SeenAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("touched: %+v", got)
		}
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.TouchAdminSession(ctx, "h-none", t0) }); !errors.Is(err, ErrNotFound) {
			t.Errorf("touch of no session: %v", err)
		}
		var n int64
		if err := s.InTx(ctx, func(tx *Tx) (err error) {
			n, err = tx.DeleteExpiredAdminSessions(ctx, t0.Add(-30*time.Minute), t0)
			return err
		}); err != nil || n != 2 {
			t.Fatalf("delete expired: %d, %v", n, err)
		}
		list, err := s.AdminSessions(ctx)
		if err != nil || len(list) != 1 || list[0].ID != "ses_fresh" {
			t.Fatalf("after expiry: %+v, %v", list, err)
		}
		for _, tc := range []struct{ token, id string }{{"", "ses_fresh"}, {"h-fresh", ""}} {
			err := s.InTx(ctx, func(tx *Tx) error {
				d, err := tx.DeleteAdminSession(ctx, tc.token, tc.id)
				if err == nil && d.ID != "ses_fresh" {
					t.Errorf("deleted %+v", d)
				}
				return err
			})
			if tc.token == "" && err != nil {
				t.Fatalf("delete by id: %v", err)
			}
			if tc.token != "" && !errors.Is(err, ErrNotFound) {
				t.Errorf("delete again by token: %v", err)
			}
		}
	})
}
