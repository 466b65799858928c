package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Queries reads and writes records on a database handle: the store's read pool, or one
// transaction.
type Queries struct{ db *gorm.DB }

// Page asks for one page of a list: at most Limit items after Cursor (the Next of the page
// before; empty for the first page).
type Page struct {
	Limit  int
	Cursor string
}

// MaxPageLimit bounds Page.Limit.
const MaxPageLimit = 500

func (p Page) limit() int {
	switch {
	case p.Limit <= 0:
		return 50
	case p.Limit > MaxPageLimit:
		return MaxPageLimit
	}
	return p.Limit
}

// translate maps gorm's errors to the store's sentinels, with context.
func translate(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%s: %w: %w", what, ErrConflict, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func first[T any](ctx context.Context, db *gorm.DB, what string, where string, args ...any) (*T, error) {
	var v T
	err := db.WithContext(ctx).Where(where, args...).Take(&v).Error
	if err != nil {
		return nil, translate(what, err)
	}
	return &v, nil
}

// cursorPrefix versions the cursors: a page's last key behind it, base64url-encoded, so that
// a cursor is opaque to clients and one the store did not make is refused, not read as a key.
const cursorPrefix = "c1:"

func encodeCursor(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + key))
}

func decodeCursor(cursor string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	key, ok := strings.CutPrefix(string(b), cursorPrefix)
	if err != nil || !ok || key == "" || !utf8.ValidString(key) || strings.ContainsRune(key, 0) {
		return "", fmt.Errorf("%w: %.40q is not a cursor of this list", ErrBadCursor, cursor)
	}
	return key, nil
}

// list reads one page ordered by key, newest (largest key) first when desc.
func list[T any](ctx context.Context, q *gorm.DB, p Page, key string, desc bool, keyOf func(*T) string) ([]T, string, error) {
	n := p.limit()
	if p.Cursor != "" {
		after, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		op := " > ?"
		if desc {
			op = " < ?"
		}
		q = q.Where(key+op, after)
	}
	q = q.Order(clause.OrderByColumn{Column: clause.Column{Name: key}, Desc: desc}).Limit(n + 1)
	var out []T
	if err := q.WithContext(ctx).Find(&out).Error; err != nil {
		return nil, "", translate("list", err)
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		next = encodeCursor(keyOf(&out[n-1]))
	}
	return out, next, nil
}

// Create inserts a record; a duplicate key is ErrConflict.
func (q Queries) Create(ctx context.Context, record any) error {
	return translate(fmt.Sprintf("create %T", record), q.db.WithContext(ctx).Create(record).Error)
}

// CreateIfAbsent inserts a record unless one with the same key exists, and reports whether
// it inserted.
func (q Queries) CreateIfAbsent(ctx context.Context, record any) (bool, error) {
	res := q.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(record)
	if res.Error != nil {
		return false, translate(fmt.Sprintf("create %T", record), res.Error)
	}
	return res.RowsAffected == 1, nil
}

// Provider reads a provider.
func (q Queries) Provider(ctx context.Context, id string) (*Provider, error) {
	return first[Provider](ctx, q.db, "provider "+id, "id = ?", id)
}

// Providers lists providers by id, optionally only those with a status.
func (q Queries) Providers(ctx context.Context, status ProviderStatus, p Page) ([]Provider, string, error) {
	db := q.db.Model(&Provider{})
	if status != "" {
		db = db.Where("status = ?", status)
	}
	return list(ctx, db, p, "id", false, func(v *Provider) string { return v.ID })
}

// SetProviderStatus moves a provider to status `to` if it is in one of `from`; it returns
// ErrNotFound for no such provider and ErrConflict when its status is not in `from`.
func (q Queries) SetProviderStatus(ctx context.Context, id string, from []ProviderStatus, to ProviderStatus, now time.Time) error {
	res := q.db.WithContext(ctx).Model(&Provider{}).Where("id = ? AND status IN ?", id, from).
		Updates(map[string]any{"status": to, "updated_at": now})
	if res.Error != nil {
		return translate("provider status", res.Error)
	}
	if res.RowsAffected == 0 {
		p, err := q.Provider(ctx, id)
		if err != nil {
			return err
		}
		return fmt.Errorf("provider %s is %s: %w", id, p.Status, ErrConflict)
	}
	return nil
}

// APIKey reads a key by its public id.
func (q Queries) APIKey(ctx context.Context, id string) (*APIKey, error) {
	return first[APIKey](ctx, q.db, "api key", "id = ?", id)
}

// APIKeys lists the keys of a provider (admin keys when providerID is empty), newest first.
func (q Queries) APIKeys(ctx context.Context, providerID string) ([]APIKey, error) {
	db := q.db.WithContext(ctx)
	if providerID == "" {
		db = db.Where("provider_id IS NULL")
	} else {
		db = db.Where("provider_id = ?", providerID)
	}
	var out []APIKey
	return out, translate("list api keys", db.Order("created_at DESC").Find(&out).Error)
}

// RevokeAPIKey marks a key revoked. Revoking it again is ErrConflict and keeps the first
// time.
func (q Queries) RevokeAPIKey(ctx context.Context, id string, now time.Time) error {
	res := q.db.WithContext(ctx).Model(&APIKey{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", now)
	if res.Error != nil {
		return translate("revoke api key", res.Error)
	}
	if res.RowsAffected == 0 {
		k, err := q.APIKey(ctx, id)
		if err != nil {
			return err
		}
		return fmt.Errorf("api key %s was revoked at %s: %w", id, k.RevokedAt.UTC().Format(time.RFC3339), ErrConflict)
	}
	return nil
}

// Dataset reads a dataset by commitment.
func (q Queries) Dataset(ctx context.Context, commitment string) (*Dataset, error) {
	return first[Dataset](ctx, q.db, "dataset "+commitment, "commitment = ?", commitment)
}

// Model reads a model by SHA-256.
func (q Queries) Model(ctx context.Context, sha256 string) (*Model, error) {
	return first[Model](ctx, q.db, "model "+sha256, "sha256 = ?", sha256)
}

// SetModelOwner records on a model the provider and the name of the submission that was
// attested, replacing those of the first upload.
func (q Queries) SetModelOwner(ctx context.Context, sha256, providerID, name string) error {
	res := q.db.WithContext(ctx).Model(&Model{}).Where("sha256 = ?", sha256).
		Updates(map[string]any{"provider_id": providerID, "name": name})
	if res.Error != nil {
		return translate("model owner "+sha256, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("model %s: %w", sha256, ErrNotFound)
	}
	return nil
}

// Submission reads a submission.
func (q Queries) Submission(ctx context.Context, id string) (*Submission, error) {
	return first[Submission](ctx, q.db, "submission "+id, "id = ?", id)
}

// SubmissionFilter narrows a list of submissions.
type SubmissionFilter struct {
	ProviderID string
	Status     SubmissionStatus
}

// LiveSubmission reads a provider's submission of a model that is not rejected, if any. A
// provider has at most one; other providers' live submissions of the model do not count.
func (q Queries) LiveSubmission(ctx context.Context, modelSHA256, providerID string) (*Submission, error) {
	return first[Submission](ctx, q.db, "live submission of model "+modelSHA256+" by "+providerID,
		"model_sha256 = ? AND provider_id = ? AND status <> ?", modelSHA256, providerID, StatusRejected)
}

// Submissions lists submissions newest first, without their proofs.
func (q Queries) Submissions(ctx context.Context, f SubmissionFilter, p Page) ([]Submission, string, error) {
	db := q.db.Model(&Submission{}).Omit("proof", "manifest")
	if f.ProviderID != "" {
		db = db.Where("provider_id = ?", f.ProviderID)
	}
	if f.Status != "" {
		db = db.Where("status = ?", f.Status)
	}
	return list(ctx, db, p, "id", true, func(v *Submission) string { return v.ID })
}

// OpenSubmissions lists submissions that are neither logged nor rejected, oldest first.
func (q Queries) OpenSubmissions(ctx context.Context, limit int) ([]Submission, error) {
	var out []Submission
	err := q.db.WithContext(ctx).Omit("proof", "manifest").Where("status IN ?", []SubmissionStatus{StatusReceived, StatusVerifying}).
		Order("id").Limit(limit).Find(&out).Error
	return out, translate("open submissions", err)
}

// SetSubmissionStatus moves a submission to `to` if its status is one of `from`, and
// reports whether it did.
func (q Queries) SetSubmissionStatus(ctx context.Context, id string, from []SubmissionStatus, to SubmissionStatus, failedCheck, message string, now time.Time) (bool, error) {
	res := q.db.WithContext(ctx).Model(&Submission{}).Where("id = ? AND status IN ?", id, from).
		Updates(map[string]any{"status": to, "failed_check": failedCheck, "message": message, "updated_at": now})
	if res.Error != nil {
		return false, translate("submission status", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// SetSubmissionJob records the job that works a submission.
func (q Queries) SetSubmissionJob(ctx context.Context, id string, jobID int64) error {
	return translate("submission job", q.db.WithContext(ctx).Model(&Submission{}).Where("id = ?", id).Update("job_id", jobID).Error)
}

// ReplaceSubmissionJob moves a submission from job old to job new, and reports whether it
// did: of several processes that find one job dead, one gives it a successor.
func (q Queries) ReplaceSubmissionJob(ctx context.Context, id string, old, new int64) (bool, error) {
	res := q.db.WithContext(ctx).Model(&Submission{}).Where("id = ? AND job_id = ?", id, old).Update("job_id", new)
	if res.Error != nil {
		return false, translate("submission job", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// SubmissionLeased reports whether anyone holds a lease on a submission, stale or not.
func (q Queries) SubmissionLeased(ctx context.Context, id string) (bool, error) {
	var n int64
	err := q.db.WithContext(ctx).Model(&SubmissionLease{}).Where("submission_id = ?", id).Count(&n).Error
	return n > 0, translate("submission lease "+id, err)
}

// BeatSubmission takes or renews holder's lease on a submission: the heartbeat of the job
// verifying it.
func (q Queries) BeatSubmission(ctx context.Context, id, holder string, now time.Time) error {
	err := q.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "submission_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"holder", "beat_at"}),
	}).Create(&SubmissionLease{SubmissionID: id, Holder: holder, BeatAt: now}).Error
	return translate("submission lease "+id, err)
}

// ReleaseSubmission drops holder's lease on a submission (another holder's stays).
func (q Queries) ReleaseSubmission(ctx context.Context, id, holder string) error {
	err := q.db.WithContext(ctx).Where("submission_id = ? AND holder = ?", id, holder).Delete(&SubmissionLease{}).Error
	return translate("release submission lease "+id, err)
}

// StaleSubmissionLeases lists up to limit leases not renewed since before, oldest first.
func (q Queries) StaleSubmissionLeases(ctx context.Context, before time.Time, limit int) ([]SubmissionLease, error) {
	var out []SubmissionLease
	err := q.db.WithContext(ctx).Where("beat_at < ?", before).Order("beat_at").Limit(limit).Find(&out).Error
	return out, translate("stale submission leases", err)
}

// TakeStaleLease deletes a submission's lease if it is still not renewed since before, and
// reports whether it did: of several processes that find one stale lease, one takes it.
func (q Queries) TakeStaleLease(ctx context.Context, id string, before time.Time) (bool, error) {
	res := q.db.WithContext(ctx).Where("submission_id = ? AND beat_at < ?", id, before).Delete(&SubmissionLease{})
	if res.Error != nil {
		return false, translate("take submission lease "+id, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// Attestation reads an attestation by id (envelope digest).
func (q Queries) Attestation(ctx context.Context, id string) (*Attestation, error) {
	return first[Attestation](ctx, q.db, "attestation "+id, "id = ?", id)
}

// AttestationBySubmission reads the attestation a submission produced.
func (q Queries) AttestationBySubmission(ctx context.Context, submissionID string) (*Attestation, error) {
	return first[Attestation](ctx, q.db, "attestation of submission "+submissionID, "submission_id = ?", submissionID)
}

// AttestationByModel reads the attestation of a model.
func (q Queries) AttestationByModel(ctx context.Context, sha256 string) (*Attestation, error) {
	return first[Attestation](ctx, q.db, "attestation of model "+sha256, "model_sha256 = ?", sha256)
}

// UnloggedAttestations lists attestations not yet in the log, oldest first.
func (q Queries) UnloggedAttestations(ctx context.Context, limit int) ([]Attestation, error) {
	var out []Attestation
	err := q.db.WithContext(ctx).Where("log_index IS NULL").Order("created_at").Limit(limit).Find(&out).Error
	return out, translate("unlogged attestations", err)
}

// SetAttestationLogged records an attestation's log index. Setting the same index again is
// harmless; a different one is ErrConflict.
func (q Queries) SetAttestationLogged(ctx context.Context, id string, index int64, now time.Time) error {
	return setLogged(ctx, q.db, &Attestation{}, "attestation "+id, id, index, now)
}

// Evaluation reads an evaluation with its bundle and manifest.
func (q Queries) Evaluation(ctx context.Context, id string) (*Evaluation, error) {
	return first[Evaluation](ctx, q.db, "evaluation "+id, "id = ?", id)
}

// EvaluationByAttestation reads the evaluation whose signed attestation has id (its
// envelope digest).
func (q Queries) EvaluationByAttestation(ctx context.Context, attestationID string) (*Evaluation, error) {
	return first[Evaluation](ctx, q.db, "evaluation attestation "+attestationID, "attestation_id = ?", attestationID)
}

// LiveEvaluation reads an evaluator's evaluation of a bundle that is not rejected, if any.
func (q Queries) LiveEvaluation(ctx context.Context, bundleSHA256, evaluatorID string) (*Evaluation, error) {
	return first[Evaluation](ctx, q.db, "live evaluation of bundle "+bundleSHA256+" by "+evaluatorID,
		"bundle_sha256 = ? AND evaluator_id = ? AND status <> ?", bundleSHA256, evaluatorID, StatusRejected)
}

// ModelEvaluations lists a model's evaluations newest first, without their bundles and
// manifests; with logged, only those in the log.
func (q Queries) ModelEvaluations(ctx context.Context, modelSHA256 string, logged bool, p Page) ([]Evaluation, string, error) {
	db := q.db.Model(&Evaluation{}).Omit("bundle", "manifest").Where("model_sha256 = ?", modelSHA256)
	if logged {
		db = db.Where("status = ?", StatusLogged)
	}
	return list(ctx, db, p, "id", true, func(v *Evaluation) string { return v.ID })
}

// SetEvaluationStatus moves an evaluation to `to` if its status is one of `from`, and
// reports whether it did.
func (q Queries) SetEvaluationStatus(ctx context.Context, id string, from []SubmissionStatus, to SubmissionStatus, failedCheck, message string, now time.Time) (bool, error) {
	res := q.db.WithContext(ctx).Model(&Evaluation{}).Where("id = ? AND status IN ?", id, from).
		Updates(map[string]any{"status": to, "failed_check": failedCheck, "message": message, "updated_at": now})
	if res.Error != nil {
		return false, translate("evaluation status", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// SetEvaluationJob records the job that works an evaluation.
func (q Queries) SetEvaluationJob(ctx context.Context, id string, jobID int64) error {
	return translate("evaluation job", q.db.WithContext(ctx).Model(&Evaluation{}).Where("id = ?", id).Update("job_id", jobID).Error)
}

// SetEvaluationSigned records an evaluation's signed envelope and leaf, once: an evaluation
// signed before keeps its envelope, and ErrConflict says so.
func (q Queries) SetEvaluationSigned(ctx context.Context, id, attestationID string, envelope, leaf []byte, keyID string, issuedAt, now time.Time) error {
	res := q.db.WithContext(ctx).Model(&Evaluation{}).Where("id = ? AND attestation_id IS NULL", id).
		Updates(map[string]any{"attestation_id": attestationID, "envelope": envelope, "leaf": leaf, "key_id": keyID, "issued_at": issuedAt, "updated_at": now})
	if res.Error != nil {
		return translate("evaluation signed", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("evaluation %s: not found or signed already: %w", id, ErrConflict)
	}
	return nil
}

// SetEvaluationLogged records a signed evaluation's log index and moves it to logged.
// Setting the same index again is harmless; a different one is ErrConflict.
func (q Queries) SetEvaluationLogged(ctx context.Context, id string, index int64, now time.Time) error {
	if err := setLogged(ctx, q.db, &Evaluation{}, "evaluation "+id, id, index, now); err != nil {
		return err
	}
	_, err := q.SetEvaluationStatus(ctx, id, []SubmissionStatus{StatusReceived, StatusVerifying}, StatusLogged, "", "", now)
	return err
}

// OpenEvaluations lists evaluations that are neither logged nor rejected, oldest first.
func (q Queries) OpenEvaluations(ctx context.Context, limit int) ([]Evaluation, error) {
	var out []Evaluation
	err := q.db.WithContext(ctx).Omit("bundle", "manifest").Where("status IN ?", []SubmissionStatus{StatusReceived, StatusVerifying}).
		Order("id").Limit(limit).Find(&out).Error
	return out, translate("open evaluations", err)
}

// UnloggedEvaluations lists signed evaluations not yet in the log, oldest first.
func (q Queries) UnloggedEvaluations(ctx context.Context, limit int) ([]Evaluation, error) {
	var out []Evaluation
	err := q.db.WithContext(ctx).Omit("bundle", "manifest").Where("attestation_id IS NOT NULL AND log_index IS NULL").Order("created_at").Limit(limit).Find(&out).Error
	return out, translate("unlogged evaluations", err)
}

// Revocation reads the revocation of an attestation.
func (q Queries) Revocation(ctx context.Context, attestationID string) (*Revocation, error) {
	return first[Revocation](ctx, q.db, "revocation of "+attestationID, "attestation_id = ?", attestationID)
}

// Revoked reports whether an attestation (a training attestation's or an evaluation's) is
// revoked.
func (q Queries) Revoked(ctx context.Context, attestationID string) (bool, error) {
	_, err := q.Revocation(ctx, attestationID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// RevocationByID reads a revocation by its id (envelope digest).
func (q Queries) RevocationByID(ctx context.Context, id string) (*Revocation, error) {
	return first[Revocation](ctx, q.db, "revocation "+id, "id = ?", id)
}

// UnloggedRevocations lists revocations not yet in the log, oldest first.
func (q Queries) UnloggedRevocations(ctx context.Context, limit int) ([]Revocation, error) {
	var out []Revocation
	err := q.db.WithContext(ctx).Where("log_index IS NULL").Order("created_at").Limit(limit).Find(&out).Error
	return out, translate("unlogged revocations", err)
}

// SetRevocationLogged records a revocation's log index, as SetAttestationLogged.
func (q Queries) SetRevocationLogged(ctx context.Context, id string, index int64, now time.Time) error {
	return setLogged(ctx, q.db, &Revocation{}, "revocation "+id, id, index, now)
}

func setLogged(ctx context.Context, db *gorm.DB, model any, what, id string, index int64, now time.Time) error {
	res := db.WithContext(ctx).Model(model).Where("id = ? AND (log_index IS NULL OR log_index = ?)", id, index).
		Updates(map[string]any{"log_index": index, "logged_at": gorm.Expr("COALESCE(logged_at, ?)", now)})
	if res.Error != nil {
		return translate(what+" logged", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%s: not found or logged at another index than %d: %w", what, index, ErrConflict)
	}
	return nil
}

// AddAudit appends an audit event.
func (q Queries) AddAudit(ctx context.Context, e *AuditEvent) error {
	return q.Create(ctx, e)
}

// AuditEvents lists audit events newest first, optionally about one subject.
func (q Queries) AuditEvents(ctx context.Context, subject string, p Page) ([]AuditEvent, string, error) {
	return q.SearchAudit(ctx, AuditFilter{Subject: subject}, p)
}

// Anchors lists anchors, largest tree size first.
func (q Queries) Anchors(ctx context.Context, limit int) ([]Anchor, error) {
	if limit <= 0 || limit > MaxPageLimit {
		limit = MaxPageLimit
	}
	var out []Anchor
	err := q.db.WithContext(ctx).Order("tree_size DESC").Limit(limit).Find(&out).Error
	return out, translate("anchors", err)
}

// AnchorBySize reads the anchor of one tree size.
func (q Queries) AnchorBySize(ctx context.Context, size int64) (*Anchor, error) {
	return first[Anchor](ctx, q.db, fmt.Sprintf("anchor of size %d", size), "tree_size = ?", size)
}

// AcceptedAnchorBetween reads the largest accepted anchor whose tree size lies in
// (after, upTo]: one that covers an entry at index after and is not newer than a checkpoint
// of size upTo.
func (q Queries) AcceptedAnchorBetween(ctx context.Context, after, upTo int64) (*Anchor, error) {
	var a []Anchor
	err := q.db.WithContext(ctx).Where("status = ? AND tree_size > ? AND tree_size <= ?", AnchorAccepted, after, upTo).
		Order("tree_size DESC").Limit(1).Find(&a).Error
	if err != nil {
		return nil, translate("anchor", err)
	}
	if len(a) == 0 {
		return nil, fmt.Errorf("accepted anchor in (%d, %d]: %w", after, upTo, ErrNotFound)
	}
	return &a[0], nil
}

// SaveAnchor updates an anchor's progress.
func (q Queries) SaveAnchor(ctx context.Context, a *Anchor) error {
	return translate("save anchor", q.db.WithContext(ctx).Save(a).Error)
}

// ModelView is everything a lookup by model hash shows, read in one query. The submission
// it shows is the attested one if there is an attestation; otherwise the oldest that is not
// rejected (the next to be verified), or else the newest rejected one: a rejected
// submission never hides a live one, and a live one is not displaced by later ones, so a
// provider cannot push another's submission out of view by submitting the same file. Name
// and ProviderID are that submission's (the model row's while it has none): the provider
// shown is the attested one, or while nothing is attested the one whose submission is shown.
type ModelView struct {
	SHA256            string
	Name              string
	ProviderID        string
	DatasetCommitment string
	CreatedAt         time.Time

	SubmissionID     *string
	Status           *SubmissionStatus
	FailedCheck      *string
	Message          *string
	SubmissionUpdate *time.Time

	AttestationID *string
	LogIndex      *int64
	KeyID         *string
	IssuedAt      *time.Time

	RevocationID       *string
	RevocationReason   *string
	RevokedAt          *time.Time
	RevocationLogIndex *int64

	// Manifest is the shown submission's manifest and Envelope the attestation's, for what a
	// lookup shows of them (the featurizer) without reading the submission and its proof.
	Manifest []byte
	Envelope []byte
}

// modelViewSQL reads a ModelView; $1 is StatusRejected and $2 the model's hash. Both
// dialects take $n placeholders (SQLite numbers them in order of first appearance).
const modelViewSQL = `SELECT m.sha256, COALESCE(s.model_name, m.name), COALESCE(s.provider_id, m.provider_id),
	m.dataset_commitment, m.created_at,
	s.id, s.status, s.failed_check, s.message, s.updated_at, s.manifest,
	a.id, a.log_index, a.key_id, a.issued_at, a.envelope,
	r.id, r.reason, r.revoked_at, r.log_index
FROM models m
LEFT JOIN attestations a ON a.model_sha256 = m.sha256
LEFT JOIN submissions s ON s.id = COALESCE(a.submission_id, (SELECT s2.id FROM submissions s2 WHERE s2.model_sha256 = m.sha256
	ORDER BY CASE WHEN s2.status = $1 THEN 1 ELSE 0 END, CASE WHEN s2.status = $1 THEN '' ELSE s2.id END, s2.id DESC LIMIT 1))
LEFT JOIN revocations r ON r.attestation_id = a.id
WHERE m.sha256 = $2`

// fields are v's columns in modelViewSQL's order, for Scan.
func (v *ModelView) fields() []any {
	return []any{&v.SHA256, &v.Name, &v.ProviderID, &v.DatasetCommitment, &v.CreatedAt,
		&v.SubmissionID, &v.Status, &v.FailedCheck, &v.Message, &v.SubmissionUpdate, &v.Manifest,
		&v.AttestationID, &v.LogIndex, &v.KeyID, &v.IssuedAt, &v.Envelope,
		&v.RevocationID, &v.RevocationReason, &v.RevokedAt, &v.RevocationLogIndex}
}

// ModelView reads a model with the submission a lookup shows (see ModelView), its
// attestation and any revocation. It is the public lookup, the registry's hottest read, so
// it goes to the driver without gorm: on PostgreSQL straight to pgx's pool, which alone took
// BenchmarkLookupReplicas from 11,200 to 14,300–17,000 lookups/s (docs/api.md).
func (s *Store) ModelView(ctx context.Context, sha256 string) (*ModelView, error) {
	var v ModelView
	var err error
	if s.pool != nil {
		err = s.pool.QueryRow(ctx, modelViewSQL, string(StatusRejected), sha256).Scan(v.fields()...)
	} else {
		var db *sql.DB
		if db, err = s.db.DB(); err == nil {
			err = db.QueryRowContext(ctx, modelViewSQL, string(StatusRejected), sha256).Scan(v.fields()...)
		}
	}
	switch {
	case errors.Is(err, sql.ErrNoRows), errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("model %s: %w", sha256, ErrNotFound)
	case err != nil:
		return nil, translate("model "+sha256, err)
	}
	// pgx reads timestamptz in the local zone; the store's times are UTC everywhere else.
	v.CreatedAt = v.CreatedAt.UTC()
	for _, t := range []*time.Time{v.SubmissionUpdate, v.IssuedAt, v.RevokedAt} {
		if t != nil {
			*t = t.UTC()
		}
	}
	return &v, nil
}
