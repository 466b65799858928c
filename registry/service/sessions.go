package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/comet-attest/comet/registry/store"
)

// Sessions turns an admin API key into admin console sessions: the key is typed once at
// login, and the browser holds a random token that the database knows only by its SHA-256.
type Sessions struct {
	svc  *Service
	idle time.Duration
	max  time.Duration
}

// NewSessions returns the sessions of svc: one ends when unused for idle, and at the latest
// max after login.
func NewSessions(svc *Service, idle, max time.Duration) (*Sessions, error) {
	if idle <= 0 || max < idle {
		return nil, fmt.Errorf("service: admin sessions need a positive idle limit %s and a maximum %s at least as long", idle, max)
	}
	return &Sessions{svc: svc, idle: idle, max: max}, nil
}

// Session is a checked admin session.
type Session struct {
	ID        string
	Principal *Principal
	// CSRF is the token every form of the session carries: derived from the session token,
	// so that it is per session without being stored, and useless without the cookie.
	CSRF      string
	ExpiresAt time.Time
}

// CheckCSRF reports whether got is the session's CSRF token, in constant time.
func (s *Session) CheckCSRF(got string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) == 1
}

// seenEvery is how stale a session's seen_at may get before a request renews it: often
// enough for the idle limit, rarely enough that reading pages does not mean writing rows.
const seenEvery = time.Minute

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func csrfOf(token string) string {
	h := sha256.Sum256([]byte("comet admin csrf\x00" + token))
	return hex.EncodeToString(h[:])
}

// Login checks an admin API key and opens a session for it; it returns the token for the
// cookie. Every attempt is audit-logged with the client's address and, for a failure, why,
// never with the key's secret. A valid key that is not an admin's is ErrForbidden.
func (ss *Sessions) Login(ctx context.Context, rawKey, client string) (string, *Session, error) {
	s := ss.svc
	p, err := s.Authenticate(ctx, rawKey)
	if err == nil {
		err = RequireAdmin(p)
	}
	now := s.clock()
	if err != nil {
		subject := "key:" + KeyID(rawKey)
		if KeyID(rawKey) == "" {
			subject = "key:"
		}
		if aerr := s.store.InTx(ctx, func(tx *store.Tx) error {
			return audit(ctx, tx, now, "web:"+client, "admin.login_failed", subject, err.Error())
		}); aerr != nil {
			return "", nil, errors.Join(err, aerr)
		}
		return "", nil, err
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	row := &store.AdminSession{TokenSHA256: tokenHash(token), ID: newID("ses_", now), KeyID: p.KeyID, Client: client,
		CreatedAt: now, SeenAt: now, ExpiresAt: now.Add(ss.max)}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.DeleteExpiredAdminSessions(ctx, now.Add(-ss.idle), now); err != nil {
			return err
		}
		if err := tx.Create(ctx, row); err != nil {
			return err
		}
		return audit(ctx, tx, now, p.Actor(), "admin.login", "session:"+row.ID, "from "+client)
	})
	if err != nil {
		return "", nil, fmt.Errorf("open admin session: %w", err)
	}
	return token, &Session{ID: row.ID, Principal: p, CSRF: csrfOf(token), ExpiresAt: row.ExpiresAt}, nil
}

// Check returns the session of a token, or ErrUnauthorized when there is none: never
// opened, logged out, revoked, idle too long, past its maximum, or its key revoked since.
// An expired session is deleted.
func (ss *Sessions) Check(ctx context.Context, token string) (*Session, error) {
	s := ss.svc
	if token == "" {
		return nil, fmt.Errorf("%w: no admin session", ErrUnauthorized)
	}
	h := tokenHash(token)
	row, err := s.store.AdminSession(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: no such admin session", ErrUnauthorized)
	}
	if err != nil {
		return nil, err
	}
	now := s.clock()
	k, err := s.store.APIKey(ctx, row.KeyID)
	if err != nil {
		return nil, err
	}
	reason := ""
	switch {
	case now.Sub(row.SeenAt) > ss.idle:
		reason = "idle for longer than " + ss.idle.String()
	case !now.Before(row.ExpiresAt):
		reason = "past its maximum of " + ss.max.String()
	case k.RevokedAt != nil:
		reason = "its API key " + k.ID + " was revoked"
	}
	if reason != "" {
		if err := s.store.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.DeleteAdminSession(ctx, h, ""); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return nil
		}); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: the admin session ended: %s", ErrUnauthorized, reason)
	}
	if now.Sub(row.SeenAt) > seenEvery {
		if err := s.store.InTx(ctx, func(tx *store.Tx) error { return tx.TouchAdminSession(ctx, h, now) }); err != nil {
			return nil, err
		}
	}
	return &Session{ID: row.ID, Principal: &Principal{KeyID: k.ID, Role: k.Role}, CSRF: csrfOf(token), ExpiresAt: row.ExpiresAt}, nil
}

// Logout ends the session of a token.
func (ss *Sessions) Logout(ctx context.Context, token string) error {
	sess, err := ss.Check(ctx, token)
	if err != nil {
		return err
	}
	return ss.end(ctx, sess.Principal, tokenHash(token), "", "admin.logout")
}

// List lists the open sessions (admin only).
func (ss *Sessions) List(ctx context.Context, by *Principal) ([]store.AdminSession, error) {
	if err := RequireAdmin(by); err != nil {
		return nil, err
	}
	return ss.svc.store.AdminSessions(ctx)
}

// Revoke ends the session with public id id (admin only): any admin may end any session,
// a stolen one included.
func (ss *Sessions) Revoke(ctx context.Context, by *Principal, id string) error {
	if err := RequireAdmin(by); err != nil {
		return err
	}
	return ss.end(ctx, by, "", id, "admin.session_revoke")
}

func (ss *Sessions) end(ctx context.Context, by *Principal, tokenSHA256, id, action string) error {
	return ss.svc.store.InTx(ctx, func(tx *store.Tx) error {
		row, err := tx.DeleteAdminSession(ctx, tokenSHA256, id)
		if err != nil {
			return err
		}
		return audit(ctx, tx, ss.svc.clock(), by.Actor(), action, "session:"+row.ID, "")
	})
}
