package service_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/registry/jobs"
	"github.com/comet-attest/comet/registry/keyset"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sessionEnv is a service over a real SQLite store with no published keys: sessions need
// neither proofs nor the log.
func sessionEnv(t *testing.T) (*service.Service, *store.Store, *testClock) {
	t.Helper()
	ctx := context.Background()
	clk := &testClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(ctx, store.Options{SQLitePath: filepath.Join(t.TempDir(), "comet.db"), Now: clk.now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	set, err := keyset.Open(filepath.Join(t.TempDir(), "no-keys"), keyset.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(st, jobs.Options{Workers: 1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := keys.Generate("comet.test")
	svc, err := service.New(service.Config{Store: st, Signer: signer, Proofs: keyset.NewChecker(set), Jobs: q, Now: clk.now,
		Logger: quiet, MaxRelativeGradient: maxRelativeGradient})
	if err != nil {
		t.Fatal(err)
	}
	return svc, st, clk
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	type act func(t *testing.T, ss *service.Sessions, svc *service.Service, admin *service.Principal, sess *service.Session, token string)
	for _, tc := range []struct {
		name string
		// uses are the gaps between checks that must pass, after login; then act runs, and
		// after a last gap the final check fails with wantErr (or passes when it is empty).
		uses    []time.Duration
		act     act
		last    time.Duration
		wantErr string
	}{
		{name: "open"},
		{name: "used within the idle limit stays open", uses: []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute}, last: 50 * time.Minute},
		{name: "idle too long", last: time.Hour + time.Second, wantErr: "idle for longer than 1h0m0s"},
		{name: "past its maximum though used", uses: []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute}, last: 50 * time.Minute, wantErr: "past its maximum of 4h0m0s"},
		{name: "key revoked", act: func(t *testing.T, _ *service.Sessions, svc *service.Service, admin *service.Principal, _ *service.Session, _ string) {
			if err := svc.RevokeKey(ctx, admin, admin.KeyID); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "was revoked"},
		{name: "revoked by id", act: func(t *testing.T, ss *service.Sessions, _ *service.Service, admin *service.Principal, sess *service.Session, _ string) {
			if err := ss.Revoke(ctx, admin, sess.ID); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "no such admin session"},
		{name: "logged out", act: func(t *testing.T, ss *service.Sessions, _ *service.Service, _ *service.Principal, _ *service.Session, token string) {
			if err := ss.Logout(ctx, token); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "no such admin session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, st, clk := sessionEnv(t)
			raw, _, err := service.InitAdmin(ctx, st, "admin", false)
			if err != nil {
				t.Fatal(err)
			}
			admin, err := svc.Authenticate(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			ss, err := service.NewSessions(svc, time.Hour, 4*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			token, sess, err := ss.Login(ctx, raw, "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			// At rest the database holds the token's SHA-256 only.
			rows, err := st.AdminSessions(ctx)
			if err != nil || len(rows) != 1 {
				t.Fatalf("sessions %v, %v", rows, err)
			}
			h := sha256.Sum256([]byte(token))
			if rows[0].TokenSHA256 != hex.EncodeToString(h[:]) || rows[0].ID != sess.ID || rows[0].Client != "192.0.2.1" {
				t.Errorf("stored session %+v for token %s", rows[0], token)
			}
			for i, gap := range append([]time.Duration{0}, tc.uses...) {
				clk.add(gap)
				got, err := ss.Check(ctx, token)
				if err != nil || got.Principal.KeyID != admin.KeyID || got.Principal.Role != store.RoleAdmin || !got.CheckCSRF(sess.CSRF) ||
					got.CheckCSRF(sess.CSRF[1:]) || got.CheckCSRF("") {
					t.Fatalf("check %d: %+v, %v", i, got, err)
				}
			}
			if tc.act != nil {
				tc.act(t, ss, svc, admin, sess, token)
			}
			clk.add(tc.last)
			_, err = ss.Check(ctx, token)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("last check: %v", err)
				}
				return
			}
			if !errors.Is(err, service.ErrUnauthorized) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("last check: %v, want unauthorized: %s", err, tc.wantErr)
			}
			if rows, _ := st.AdminSessions(ctx); len(rows) != 0 {
				t.Errorf("an ended session is still stored: %+v", rows)
			}
		})
	}
}

func TestLoginRefusals(t *testing.T) {
	ctx := context.Background()
	svc, st, _ := sessionEnv(t)
	adminKey, _, err := service.InitAdmin(ctx, st, "admin", false)
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := svc.Authenticate(ctx, adminKey)
	_, provKey, err := svc.Register(ctx, service.Registration{ID: "acme-legal", Contact: "ops@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	revoked, _, err := service.InitAdmin(ctx, st, "old", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.RevokeKey(ctx, admin, service.KeyID(revoked)); err != nil {
		t.Fatal(err)
	}
	ss, err := service.NewSessions(svc, time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, key string
		want      error
	}{
		{"malformed", "hunter2", service.ErrUnauthorized},
		{"unknown", "comet_0123456789abcdef_" + strings.Repeat("ab", 32), service.ErrUnauthorized},
		{"wrong secret", adminKey[:len(adminKey)-1] + "0", service.ErrUnauthorized},
		{"revoked", revoked, service.ErrUnauthorized},
		{"provider key", provKey, service.ErrForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := ss.Login(ctx, tc.key, "192.0.2.9"); !errors.Is(err, tc.want) {
				t.Fatalf("login: %v, want %v", err, tc.want)
			}
		})
	}
	// Every refusal is in the audit log, with the address and never a secret.
	evs, _, err := st.AuditEvents(ctx, "", store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Action != "admin.login_failed" {
			continue
		}
		n++
		if e.Actor != "web:192.0.2.9" || strings.Contains(e.Detail+e.Subject, adminKey[23:]) || strings.Contains(e.Detail+e.Subject, provKey[23:]) {
			t.Errorf("audit event %+v", e)
		}
	}
	if n != 5 {
		t.Errorf("%d failed logins audited, want 5", n)
	}
	if _, err := service.NewSessions(svc, time.Hour, time.Minute); err == nil {
		t.Error("a maximum below the idle limit is accepted")
	}
}
