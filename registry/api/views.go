package api

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/registry/store"
	"github.com/riverqueue/river/rivertype"
)

// The JSON shapes of responses; docs/openapi.yaml names each in components/schemas.

// Provider is a provider as the API shows it.
type Provider struct {
	ID          string    `json:"id"`
	DisplayName string    `json:"display_name"`
	Contact     string    `json:"contact"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func viewProvider(p *store.Provider) Provider {
	return Provider{ID: p.ID, DisplayName: p.DisplayName, Contact: p.Contact, Status: string(p.Status), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// APIKey is an API key without its secret.
type APIKey struct {
	ID         string     `json:"id"`
	Role       string     `json:"role"`
	ProviderID *string    `json:"provider_id,omitempty"`
	Label      string     `json:"label"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

func viewAPIKey(k *store.APIKey) APIKey {
	return APIKey{ID: k.ID, Role: string(k.Role), ProviderID: k.ProviderID, Label: k.Label, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
}

// IssuedKey carries a new key's secret: the only response besides Registration that does.
type IssuedKey struct {
	Key    string `json:"key"`
	APIKey APIKey `json:"api_key"`
}

// Registration answers a provider's registration: its record and its first key, shown once.
type Registration struct {
	Provider Provider `json:"provider"`
	Key      string   `json:"key"`
}

// Submission is a submission with its status, its attestation once signed, and its job.
type Submission struct {
	ID                string    `json:"id"`
	ProviderID        string    `json:"provider_id"`
	ModelSHA256       string    `json:"model_sha256"`
	DatasetCommitment string    `json:"dataset_commitment"`
	ProofSHA256       string    `json:"proof_sha256"`
	Status            string    `json:"status"`
	FailedCheck       string    `json:"failed_check,omitempty"`
	Message           string    `json:"message,omitempty"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
	AttestationID     string    `json:"attestation_id,omitempty"`
	LogIndex          *int64    `json:"log_index,omitempty"`
	Job               *Job      `json:"job,omitempty"`
}

func viewSubmission(s *store.Submission) Submission {
	return Submission{
		ID: s.ID, ProviderID: s.ProviderID, ModelSHA256: s.ModelSHA256, DatasetCommitment: s.DatasetCommitment,
		ProofSHA256: s.ProofSHA256, Status: string(s.Status), FailedCheck: s.FailedCheck, Message: s.Message,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
}

// LookupAttestation is the attestation part of a lookup.
type LookupAttestation struct {
	ID       string    `json:"id"`
	LogIndex *int64    `json:"log_index,omitempty"`
	KeyID    string    `json:"key_id"`
	IssuedAt time.Time `json:"issued_at"`
}

// LookupRevocation is the revocation part of a lookup.
type LookupRevocation struct {
	ID        string    `json:"id"`
	Reason    string    `json:"reason"`
	RevokedAt time.Time `json:"revoked_at"`
	LogIndex  *int64    `json:"log_index,omitempty"`
}

// LookupFeaturizer is the text featurizer that made a model's features: the signed one
// once the model is attested, else the one the shown submission's manifest declares.
type LookupFeaturizer struct {
	Name         string            `json:"name"`
	Version      string            `json:"version"`
	Params       map[string]string `json:"params"`
	SpecSHA256   string            `json:"spec_sha256"`
	CorpusDigest string            `json:"corpus_digest"`
	CorpusSHA256 string            `json:"corpus_sha256,omitempty"`
}

// featurizerOfEnvelope reads the featurizer from the training statement that a stored
// envelope carries. The envelope is the registry's own, so its signature is not checked here.
func featurizerOfEnvelope(env []byte) (*LookupFeaturizer, error) {
	e, err := envelope.Parse(env)
	if err != nil {
		return nil, fmt.Errorf("attestation envelope: %w", err)
	}
	payload, err := envelope.Payload(e)
	if err != nil {
		return nil, fmt.Errorf("attestation envelope: %w", err)
	}
	_, tr, err := statement.ParseTraining(payload)
	if err != nil {
		return nil, fmt.Errorf("attestation statement: %w", err)
	}
	f := tr.Featurizer
	if f == nil {
		return nil, nil
	}
	return viewFeaturizer(LookupFeaturizer{Name: f.Name, Version: f.Version, Params: f.Params, SpecSHA256: f.SpecSHA256,
		CorpusDigest: f.CorpusDigest, CorpusSHA256: f.CorpusSHA256}), nil
}

// featurizerOfManifest reads the featurizer a submitted manifest declares: the part of it that
// the registry signs once the submission is attested. The manifest was validated when it was
// submitted, so only its featurizer is decoded here, not the whole manifest checked again.
func featurizerOfManifest(manifest []byte) (*LookupFeaturizer, error) {
	var m struct {
		Featurizer *commitment.Featurizer `json:"featurizer"`
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, fmt.Errorf("submitted manifest: %w", err)
	}
	f := m.Featurizer
	if f == nil {
		return nil, nil
	}
	return viewFeaturizer(LookupFeaturizer{Name: f.Name, Version: f.Version, Params: f.Params, SpecSHA256: f.SpecSHA256,
		CorpusDigest: f.CorpusDigest, CorpusSHA256: f.CorpusSHA256}), nil
}

func viewFeaturizer(f LookupFeaturizer) *LookupFeaturizer {
	if f.Params == nil {
		f.Params = map[string]string{} // an object in the JSON, as the schema requires
	}
	return &f
}

// ModelLookup answers a lookup by model hash: status, attestation, log index, revocation and
// the featurizer, if the features came from text.
type ModelLookup struct {
	ModelSHA256       string             `json:"model_sha256"`
	Name              string             `json:"name"`
	ProviderID        string             `json:"provider_id"`
	DatasetCommitment string             `json:"dataset_commitment"`
	CreatedAt         time.Time          `json:"created_at"`
	Status            string             `json:"status"`
	Revoked           bool               `json:"revoked"`
	SubmissionID      string             `json:"submission_id,omitempty"`
	FailedCheck       string             `json:"failed_check,omitempty"`
	Message           string             `json:"message,omitempty"`
	Attestation       *LookupAttestation `json:"attestation,omitempty"`
	Revocation        *LookupRevocation  `json:"revocation,omitempty"`
	Featurizer        *LookupFeaturizer  `json:"featurizer,omitempty"`
}

func viewModel(v *store.ModelView) ModelLookup {
	out := ModelLookup{ModelSHA256: v.SHA256, Name: v.Name, ProviderID: v.ProviderID, DatasetCommitment: v.DatasetCommitment, CreatedAt: v.CreatedAt, Status: "none"}
	if v.SubmissionID != nil {
		out.SubmissionID, out.Status = *v.SubmissionID, string(*v.Status)
		out.FailedCheck, out.Message = deref(v.FailedCheck), deref(v.Message)
	}
	if v.AttestationID != nil {
		out.Attestation = &LookupAttestation{ID: *v.AttestationID, LogIndex: v.LogIndex, KeyID: deref(v.KeyID), IssuedAt: *v.IssuedAt}
	}
	if v.RevocationID != nil {
		out.Revoked = true
		out.Revocation = &LookupRevocation{ID: *v.RevocationID, Reason: deref(v.RevocationReason), RevokedAt: *v.RevokedAt, LogIndex: v.RevocationLogIndex}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Attestation is a signed attestation with its DSSE envelope.
type Attestation struct {
	ID           string          `json:"id"`
	SubmissionID string          `json:"submission_id"`
	ModelSHA256  string          `json:"model_sha256"`
	ProviderID   string          `json:"provider_id"`
	KeyID        string          `json:"key_id"`
	IssuedAt     time.Time       `json:"issued_at"`
	LogIndex     *int64          `json:"log_index,omitempty"`
	LoggedAt     *time.Time      `json:"logged_at,omitempty"`
	Envelope     json.RawMessage `json:"envelope"`
}

func viewAttestation(a *store.Attestation) Attestation {
	return Attestation{ID: a.ID, SubmissionID: a.SubmissionID, ModelSHA256: a.ModelSHA256, ProviderID: a.ProviderID,
		KeyID: a.KeyID, IssuedAt: a.IssuedAt, LogIndex: a.LogIndex, LoggedAt: a.LoggedAt, Envelope: a.Envelope}
}

// Revocation is a signed revocation with its DSSE envelope.
type Revocation struct {
	ID            string          `json:"id"`
	AttestationID string          `json:"attestation_id"`
	Reason        string          `json:"reason"`
	RevokedAt     time.Time       `json:"revoked_at"`
	LogIndex      *int64          `json:"log_index,omitempty"`
	Envelope      json.RawMessage `json:"envelope"`
}

func viewRevocation(r *store.Revocation) Revocation {
	return Revocation{ID: r.ID, AttestationID: r.AttestationID, Reason: r.Reason, RevokedAt: r.RevokedAt, LogIndex: r.LogIndex, Envelope: r.Envelope}
}

// JobError is one failed attempt of a job.
type JobError struct {
	At      time.Time `json:"at"`
	Attempt int       `json:"attempt"`
	Error   string    `json:"error"`
}

// Job is a River job with its state.
type Job struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	State       string          `json:"state"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	Args        json.RawMessage `json:"args"`
	CreatedAt   time.Time       `json:"created_at"`
	ScheduledAt time.Time       `json:"scheduled_at"`
	FinalizedAt *time.Time      `json:"finalized_at,omitempty"`
	Errors      []JobError      `json:"errors"`
}

func viewJob(j *rivertype.JobRow) Job {
	v := Job{ID: j.ID, Kind: j.Kind, State: string(j.State), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
		Args: j.EncodedArgs, CreatedAt: j.CreatedAt.UTC(), ScheduledAt: j.ScheduledAt.UTC(), Errors: []JobError{}}
	if j.FinalizedAt != nil {
		t := j.FinalizedAt.UTC()
		v.FinalizedAt = &t
	}
	for _, e := range j.Errors {
		v.Errors = append(v.Errors, JobError{At: e.At.UTC(), Attempt: e.Attempt, Error: e.Error})
	}
	return v
}

// AuditEvent is one audit record.
type AuditEvent struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Subject string    `json:"subject"`
	Detail  string    `json:"detail"`
}

// Anchor is an anchoring of a checkpoint on Starknet.
type Anchor struct {
	TreeSize    int64     `json:"tree_size"`
	Root        string    `json:"root"`
	Status      string    `json:"status"`
	TxHash      string    `json:"tx_hash"`
	BlockNumber *int64    `json:"block_number,omitempty"`
	Finality    string    `json:"finality"`
	Error       string    `json:"error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// List is one page of a list; NextCursor is absent on the last page.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func mapList[S, T any](items []S, next string, f func(*S) T) List[T] {
	out := List[T]{Items: make([]T, 0, len(items)), NextCursor: next}
	for i := range items {
		out.Items = append(out.Items, f(&items[i]))
	}
	return out
}

// Consistency is a consistency proof between two tree sizes.
type Consistency struct {
	From   uint64   `json:"from"`
	To     uint64   `json:"to"`
	Hashes [][]byte `json:"hashes"`
}
