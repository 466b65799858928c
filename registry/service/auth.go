package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/comet-attest/comet/registry/store"
)

// An API key is "comet_<id>_<secret>": the id (16 hex digits) finds the record, and the
// secret (32 random bytes, hex) is checked against its stored SHA-256. A hash without salt
// or stretching is enough because the secret has 256 bits of entropy.
const keyPrefix = "comet_"

var keyRE = regexp.MustCompile(`^comet_([0-9a-f]{16})_([0-9a-f]{64})$`)

// Principal is the holder of a checked API key.
type Principal struct {
	KeyID      string
	Role       store.Role
	ProviderID string // for provider keys
}

// Actor names the principal in audit events, never with its secret.
func (p *Principal) Actor() string { return string(p.Role) + ":" + p.KeyID }

func newKey() (raw, id string, secretHash []byte) {
	var b [40]byte
	_, _ = rand.Read(b[:])
	id = hex.EncodeToString(b[:8])
	secret := hex.EncodeToString(b[8:])
	h := sha256.Sum256([]byte(secret))
	return keyPrefix + id + "_" + secret, id, h[:]
}

// KeyID returns the public id of a raw key, or "" if it is not shaped like one; for
// rate limiting and logs, which must never see the secret.
func KeyID(raw string) string {
	m := keyRE.FindStringSubmatch(raw)
	if m == nil {
		return ""
	}
	return m[1]
}

// Authenticate checks a raw API key and returns its holder.
func (s *Service) Authenticate(ctx context.Context, raw string) (*Principal, error) {
	m := keyRE.FindStringSubmatch(raw)
	if m == nil {
		return nil, fmt.Errorf("%w: malformed API key", ErrUnauthorized)
	}
	k, err := s.store.APIKey(ctx, m[1])
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown API key", ErrUnauthorized)
	}
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256([]byte(m[2]))
	if subtle.ConstantTimeCompare(h[:], k.SecretSHA256) != 1 {
		return nil, fmt.Errorf("%w: unknown API key", ErrUnauthorized)
	}
	if k.RevokedAt != nil {
		return nil, fmt.Errorf("%w: API key %s was revoked", ErrUnauthorized, k.ID)
	}
	p := &Principal{KeyID: k.ID, Role: k.Role}
	if k.ProviderID != nil {
		p.ProviderID = *k.ProviderID
	}
	return p, nil
}

// RequireAdmin fails unless p holds an admin key.
func RequireAdmin(p *Principal) error {
	if p == nil || p.Role != store.RoleAdmin {
		return fmt.Errorf("%w: this needs an admin key", ErrForbidden)
	}
	return nil
}

// InitAdmin creates an admin key and returns it; the secret is shown only this once. Unless
// force is set it refuses when an admin key that is not revoked exists, so that `comet
// admin init` run twice does not quietly mint a second key.
//
// It needs only the store, so that an operator can run it before the first `comet serve`.
func InitAdmin(ctx context.Context, st *store.Store, label string, force bool) (string, *store.APIKey, error) {
	raw, id, h := newKey()
	k := &store.APIKey{ID: id, Role: store.RoleAdmin, SecretSHA256: h, Label: label, CreatedAt: st.Now()}
	err := st.InTx(ctx, func(tx *store.Tx) error {
		if !force {
			ks, err := tx.APIKeys(ctx, "")
			if err != nil {
				return err
			}
			for _, k := range ks {
				if k.RevokedAt == nil {
					return fmt.Errorf("%w: an admin key (%s) exists already; use --force to add another", ErrConflict, k.ID)
				}
			}
		}
		if err := tx.Create(ctx, k); err != nil {
			return err
		}
		return audit(ctx, tx, k.CreatedAt, "cli", "admin_key.create", "key:"+id, label)
	})
	if err != nil {
		return "", nil, err
	}
	return raw, k, nil
}

// IssueKey creates a key for a provider (admin only); the secret is returned once.
func (s *Service) IssueKey(ctx context.Context, by *Principal, providerID, label string) (string, *store.APIKey, error) {
	if err := RequireAdmin(by); err != nil {
		return "", nil, err
	}
	var raw string
	var k *store.APIKey
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Provider(ctx, providerID); err != nil {
			return err
		}
		var err error
		raw, k, err = s.createProviderKey(ctx, tx, providerID, label)
		if err != nil {
			return err
		}
		return audit(ctx, tx, k.CreatedAt, by.Actor(), "provider_key.issue", "provider:"+providerID, "key "+k.ID)
	})
	return raw, k, err
}

func (s *Service) createProviderKey(ctx context.Context, tx *store.Tx, providerID, label string) (string, *store.APIKey, error) {
	raw, id, h := newKey()
	k := &store.APIKey{ID: id, Role: store.RoleProvider, ProviderID: &providerID, SecretSHA256: h, Label: label, CreatedAt: s.clock()}
	if err := tx.Create(ctx, k); err != nil {
		return "", nil, err
	}
	return raw, k, nil
}

// RevokeKey revokes an API key (admin only).
func (s *Service) RevokeKey(ctx context.Context, by *Principal, keyID string) error {
	if err := RequireAdmin(by); err != nil {
		return err
	}
	if strings.TrimSpace(keyID) == "" {
		return invalid("key_id", "empty")
	}
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		now := s.clock()
		if err := tx.RevokeAPIKey(ctx, keyID, now); err != nil {
			return err
		}
		return audit(ctx, tx, now, by.Actor(), "api_key.revoke", "key:"+keyID, "")
	})
}
