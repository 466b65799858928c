package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The public pages' reads (web/public.go): what anyone may see, never a provider's contact
// or keys, each list one indexed query.

// PublicModel is one row of a public list of models: the model, the provider it is shown
// under, and its attestation and revocation if any. Name and ProviderID are the attested
// submission's when the model is attested (the models row's otherwise, see Model).
type PublicModel struct {
	SHA256            string
	Name              string
	ProviderID        string
	ProviderName      string
	DatasetCommitment string
	CreatedAt         time.Time

	AttestationID *string
	IssuedAt      *time.Time
	LogIndex      *int64
	RevokedAt     *time.Time
}

// Revoked reports whether the model's attestation is revoked.
func (m *PublicModel) Revoked() bool { return m.RevokedAt != nil }

const publicModelColumns = `m.sha256, COALESCE(s.model_name, m.name) AS name, COALESCE(a.provider_id, m.provider_id) AS provider_id,
	COALESCE(p.display_name, '') AS provider_name, m.dataset_commitment, m.created_at,
	a.id AS attestation_id, a.issued_at, a.log_index, r.revoked_at`

// publicModelsFrom joins each model to what publicModelColumns reads of it.
const publicModelsFrom = `
FROM models m
LEFT JOIN attestations a ON a.model_sha256 = m.sha256
LEFT JOIN submissions s ON s.id = a.submission_id
LEFT JOIN providers p ON p.id = COALESCE(a.provider_id, m.provider_id)
LEFT JOIN revocations r ON r.attestation_id = a.id
`

// PublicAttestations lists logged attestations newest first (by log index, which the log
// assigns in order), with the model each is about. Revoked ones are listed, marked. An
// attestation not yet in the log is not listed: it is public once the log holds it.
func (q Queries) PublicAttestations(ctx context.Context, p Page) ([]PublicModel, string, error) {
	n := p.limit()
	where := "a.log_index IS NOT NULL"
	args := []any{}
	if p.Cursor != "" {
		key, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		idx, err := strconv.ParseInt(key, 10, 64)
		if err != nil || idx < 0 {
			return nil, "", fmt.Errorf("%w: %.40q is not a cursor of this list", ErrBadCursor, p.Cursor)
		}
		where += " AND a.log_index < ?"
		args = append(args, idx)
	}
	args = append(args, n+1)
	var out []PublicModel
	err := q.db.WithContext(ctx).Raw(`SELECT `+publicModelColumns+`
FROM attestations a
JOIN models m ON m.sha256 = a.model_sha256
JOIN submissions s ON s.id = a.submission_id
LEFT JOIN providers p ON p.id = a.provider_id
LEFT JOIN revocations r ON r.attestation_id = a.id
WHERE `+where+`
ORDER BY a.log_index DESC LIMIT ?`, args...).Scan(&out).Error
	if err != nil {
		return nil, "", translate("public attestations", err)
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		next = encodeCursor(strconv.FormatInt(*out[n-1].LogIndex, 10))
	}
	return out, next, nil
}

// ProviderModels lists the models shown under a provider (the models row's provider: the
// attested one, or the first upload's while none is attested), newest first, attested or not.
func (q Queries) ProviderModels(ctx context.Context, providerID string, p Page) ([]PublicModel, string, error) {
	n := p.limit()
	where := "m.provider_id = ?"
	args := []any{providerID}
	if p.Cursor != "" {
		at, sha, err := decodeTimeCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		where += " AND (m.created_at < ? OR (m.created_at = ? AND m.sha256 < ?))"
		args = append(args, at, at, sha)
	}
	args = append(args, n+1)
	var out []PublicModel
	err := q.db.WithContext(ctx).Raw(`SELECT `+publicModelColumns+publicModelsFrom+`WHERE `+where+`
ORDER BY m.created_at DESC, m.sha256 DESC LIMIT ?`, args...).Scan(&out).Error
	if err != nil {
		return nil, "", translate("models of provider "+providerID, err)
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		last := out[n-1]
		next = encodeTimeCursor(last.CreatedAt, last.SHA256)
	}
	return out, next, nil
}

// ModelsByPrefix lists up to limit models whose SHA-256 starts with prefix (lower-case hex),
// in hash order, attested or not.
func (q Queries) ModelsByPrefix(ctx context.Context, prefix string, limit int) ([]PublicModel, error) {
	if limit <= 0 || limit > MaxPageLimit {
		limit = MaxPageLimit
	}
	// A range on the primary key: every hex digit sorts below '~'.
	var out []PublicModel
	err := q.db.WithContext(ctx).Raw(`SELECT `+publicModelColumns+publicModelsFrom+`WHERE m.sha256 >= ? AND m.sha256 < ?
ORDER BY m.sha256 LIMIT ?`, prefix, prefix+"~", limit).Scan(&out).Error
	return out, translate("models by prefix "+prefix, err)
}

// AnchorCovering reads the anchor that shows an entry at index on chain: the smallest
// accepted anchor whose tree contains it, or, when none is accepted, the smallest anchor of
// any state that contains it.
func (q Queries) AnchorCovering(ctx context.Context, index int64) (*Anchor, error) {
	var a []Anchor
	err := q.db.WithContext(ctx).Where("tree_size > ?", index).
		Order("CASE WHEN status = '" + string(AnchorAccepted) + "' THEN 0 ELSE 1 END, tree_size").
		Limit(1).Find(&a).Error
	if err != nil {
		return nil, translate("anchor covering", err)
	}
	if len(a) == 0 {
		return nil, fmt.Errorf("anchor covering index %d: %w", index, ErrNotFound)
	}
	return &a[0], nil
}

// ModelFile is a model's file and the display name of a provider, read together for a
// model's page (Name is "" when there is no such provider).
type ModelFile struct {
	Body         []byte
	ProviderName string
}

// PublicModelFile reads a model's file and the display name of providerID (the provider a
// ModelView shows) in one query.
func (q Queries) PublicModelFile(ctx context.Context, sha256, providerID string) (*ModelFile, error) {
	var out []ModelFile
	err := q.db.WithContext(ctx).Raw(`SELECT m.body, COALESCE(p.display_name, '') AS provider_name
FROM models m LEFT JOIN providers p ON p.id = ? WHERE m.sha256 = ?`, providerID, sha256).Scan(&out).Error
	if err != nil {
		return nil, translate("model file "+sha256, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("model %s: %w", sha256, ErrNotFound)
	}
	return &out[0], nil
}

// A time cursor is the last row's time (Unix microseconds) and id.
func encodeTimeCursor(at time.Time, id string) string {
	return encodeCursor(strconv.FormatInt(at.UnixMicro(), 10) + "|" + id)
}

func decodeTimeCursor(cursor string) (time.Time, string, error) {
	key, err := decodeCursor(cursor)
	if err != nil {
		return time.Time{}, "", err
	}
	us, id, ok := strings.Cut(key, "|")
	n, perr := strconv.ParseInt(us, 10, 64)
	if !ok || perr != nil || id == "" {
		return time.Time{}, "", fmt.Errorf("%w: %.40q is not a cursor of this list", ErrBadCursor, cursor)
	}
	return time.UnixMicro(n).UTC(), id, nil
}
