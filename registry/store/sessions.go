package store

import (
	"context"
	"fmt"
	"time"
)

// AdminSession is a logged-in admin console session. TokenSHA256 is the hex SHA-256 of the
// cookie's token, never the token; ID names the session in lists.
type AdminSession struct {
	TokenSHA256 string `gorm:"primaryKey;column:token_sha256"`
	ID          string
	KeyID       string
	Client      string
	CreatedAt   time.Time
	SeenAt      time.Time
	ExpiresAt   time.Time
}

func (AdminSession) TableName() string { return "admin_sessions" }

// AdminSession reads a session by its token's hash.
func (q Queries) AdminSession(ctx context.Context, tokenSHA256 string) (*AdminSession, error) {
	return first[AdminSession](ctx, q.db, "admin session", "token_sha256 = ?", tokenSHA256)
}

// AdminSessions lists the sessions, newest first.
func (q Queries) AdminSessions(ctx context.Context) ([]AdminSession, error) {
	var out []AdminSession
	err := q.db.WithContext(ctx).Order("created_at DESC").Limit(MaxPageLimit).Find(&out).Error
	return out, translate("admin sessions", err)
}

// TouchAdminSession records that a session was used at now.
func (q Queries) TouchAdminSession(ctx context.Context, tokenSHA256 string, now time.Time) error {
	res := q.db.WithContext(ctx).Model(&AdminSession{}).Where("token_sha256 = ?", tokenSHA256).Update("seen_at", now)
	if res.Error != nil {
		return translate("touch admin session", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("admin session: %w", ErrNotFound)
	}
	return nil
}

// DeleteAdminSession ends the session with this token hash, or when tokenSHA256 is empty
// the one with this public id; it returns the deleted session, or ErrNotFound.
func (q Queries) DeleteAdminSession(ctx context.Context, tokenSHA256, id string) (*AdminSession, error) {
	where, arg := "token_sha256 = ?", tokenSHA256
	if tokenSHA256 == "" {
		where, arg = "id = ?", id
	}
	s, err := first[AdminSession](ctx, q.db, "admin session", where, arg)
	if err != nil {
		return nil, err
	}
	if err := q.db.WithContext(ctx).Where("token_sha256 = ?", s.TokenSHA256).Delete(&AdminSession{}).Error; err != nil {
		return nil, translate("delete admin session", err)
	}
	return s, nil
}

// DeleteExpiredAdminSessions deletes the sessions not seen since idleBefore or past their
// expiry at now, and returns how many.
func (q Queries) DeleteExpiredAdminSessions(ctx context.Context, idleBefore, now time.Time) (int64, error) {
	res := q.db.WithContext(ctx).Where("seen_at < ? OR expires_at <= ?", idleBefore, now).Delete(&AdminSession{})
	return res.RowsAffected, translate("delete expired admin sessions", res.Error)
}
