package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ModelFilter narrows a search of models; every field set must match.
type ModelFilter struct {
	SHA256Prefix      string // lower-case hex
	ProviderID        string
	DatasetCommitment string
	Name              string // a part of the name, in any letter case
}

// likeEscape escapes LIKE's wildcards, so that a search for "50%" finds exactly that.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// SearchModels lists the models that match f by SHA-256, without their bodies.
func (q Queries) SearchModels(ctx context.Context, f ModelFilter, p Page) ([]Model, string, error) {
	db := q.db.Model(&Model{}).Omit("body")
	if f.SHA256Prefix != "" {
		db = db.Where(`sha256 LIKE ? ESCAPE '\'`, likeEscape(f.SHA256Prefix)+"%")
	}
	if f.ProviderID != "" {
		db = db.Where("provider_id = ?", f.ProviderID)
	}
	if f.DatasetCommitment != "" {
		db = db.Where("dataset_commitment = ?", f.DatasetCommitment)
	}
	if f.Name != "" {
		db = db.Where(`LOWER(name) LIKE ? ESCAPE '\'`, "%"+likeEscape(strings.ToLower(f.Name))+"%")
	}
	return list(ctx, db, p, "sha256", false, func(v *Model) string { return v.SHA256 })
}

// ModelSubmissions lists every submission of a model, oldest first, without proofs.
func (q Queries) ModelSubmissions(ctx context.Context, sha256 string) ([]Submission, error) {
	var out []Submission
	err := q.db.WithContext(ctx).Omit("proof", "manifest").Where("model_sha256 = ?", sha256).Order("id").Limit(MaxPageLimit).Find(&out).Error
	return out, translate("submissions of model "+sha256, err)
}

// Counts are the registry's records by state, for the admin dashboard.
type Counts struct {
	Models      int64
	Attested    int64
	Revoked     int64
	Submissions map[SubmissionStatus]int64
	Providers   map[ProviderStatus]int64
}

// Counts counts models, attestations, revocations, submissions by status and accounts by
// status.
func (q Queries) Counts(ctx context.Context) (*Counts, error) {
	c := &Counts{Submissions: map[SubmissionStatus]int64{}, Providers: map[ProviderStatus]int64{}}
	db := q.db.WithContext(ctx)
	for _, n := range []struct {
		model any
		into  *int64
	}{{&Model{}, &c.Models}, {&Attestation{}, &c.Attested}, {&Revocation{}, &c.Revoked}} {
		if err := db.Model(n.model).Count(n.into).Error; err != nil {
			return nil, translate("count", err)
		}
	}
	var rows []struct {
		Status string
		N      int64
	}
	if err := db.Model(&Submission{}).Select("status, COUNT(*) AS n").Group("status").Scan(&rows).Error; err != nil {
		return nil, translate("count submissions", err)
	}
	for _, r := range rows {
		c.Submissions[SubmissionStatus(r.Status)] = r.N
	}
	rows = nil
	if err := db.Model(&Provider{}).Select("status, COUNT(*) AS n").Group("status").Scan(&rows).Error; err != nil {
		return nil, translate("count providers", err)
	}
	for _, r := range rows {
		c.Providers[ProviderStatus(r.Status)] = r.N
	}
	return c, nil
}

// maxTimes bounds SubmissionTimes: a chart needs no more.
const maxTimes = 100_000

// SubmissionTimes lists when submissions since `since` were made, oldest first, up to
// maxTimes of them.
func (q Queries) SubmissionTimes(ctx context.Context, since time.Time) ([]time.Time, error) {
	var out []time.Time
	err := q.db.WithContext(ctx).Model(&Submission{}).Where("created_at >= ?", since).Order("created_at").Limit(maxTimes).Pluck("created_at", &out).Error
	return out, translate("submission times", err)
}

// AuditFilter narrows the audit log; every field set must match.
type AuditFilter struct {
	Subject string // exactly
	Actor   string // exactly
	Action  string // exactly, or every action of a kind with a trailing dot ("provider.")
}

// SearchAudit lists audit events that match f, newest first.
func (q Queries) SearchAudit(ctx context.Context, f AuditFilter, p Page) ([]AuditEvent, string, error) {
	db := q.db.Model(&AuditEvent{})
	if f.Subject != "" {
		db = db.Where("subject = ?", f.Subject)
	}
	if f.Actor != "" {
		db = db.Where("actor = ?", f.Actor)
	}
	if kind, ok := strings.CutSuffix(f.Action, "."); ok {
		db = db.Where(`action LIKE ? ESCAPE '\'`, likeEscape(kind)+".%")
	} else if f.Action != "" {
		db = db.Where("action = ?", f.Action)
	}
	if p.Cursor != "" {
		after, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		id, err := strconv.ParseInt(after, 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("%w: audit cursor", ErrBadCursor)
		}
		db = db.Where("id < ?", id)
	}
	n := p.limit()
	var out []AuditEvent
	if err := db.WithContext(ctx).Order("id DESC").Limit(n + 1).Find(&out).Error; err != nil {
		return nil, "", translate("audit events", err)
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		next = encodeCursor(strconv.FormatInt(out[n-1].ID, 10))
	}
	return out, next, nil
}
