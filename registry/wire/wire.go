package wire

import (
	"encoding/json"
	"time"
)

// Provider is a provider as the API shows it.
type Provider struct {
	ID          string    `json:"id"`
	DisplayName string    `json:"display_name"`
	Contact     string    `json:"contact"`
	Status      string    `json:"status"`
	Role        string    `json:"role"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
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

// Evaluation is an evaluation with its status and, once signed, its attestation's id,
// envelope and log index.
type Evaluation struct {
	ID             string          `json:"id"`
	EvaluatorID    string          `json:"evaluator_id"`
	ModelSHA256    string          `json:"model_sha256"`
	TestCommitment string          `json:"test_commitment"`
	BundleSHA256   string          `json:"bundle_sha256"`
	Status         string          `json:"status"`
	FailedCheck    string          `json:"failed_check,omitempty"`
	Message        string          `json:"message,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
	AttestationID  string          `json:"attestation_id,omitempty"`
	KeyID          string          `json:"key_id,omitempty"`
	IssuedAt       *time.Time      `json:"issued_at,omitempty"`
	LogIndex       *int64          `json:"log_index,omitempty"`
	LoggedAt       *time.Time      `json:"logged_at,omitempty"`
	Envelope       json.RawMessage `json:"envelope,omitempty"`
	// Revoked says an admin revoked the evaluation: its signed revocation is at
	// /v1/attestations/{attestation_id}/revocation.
	Revoked bool `json:"revoked"`
	Job     *Job `json:"job,omitempty"`
}

// EvaluationRequest is the body of POST /v1/evaluations: the evaluated model's digest, the
// test set's manifest and the evaluation bundle; never the test rows or the salt.
type EvaluationRequest struct {
	ModelSHA256 string          `json:"model_sha256"`
	Manifest    json.RawMessage `json:"manifest"`
	Proof       json.RawMessage `json:"proof"`
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

// Consistency is a consistency proof between two tree sizes.
type Consistency struct {
	From   uint64   `json:"from"`
	To     uint64   `json:"to"`
	Hashes [][]byte `json:"hashes"`
}

// Submission statuses: a submission is received, then verifying, then logged or rejected.
const (
	StatusReceived  = "received"
	StatusVerifying = "verifying"
	StatusLogged    = "logged"
	StatusRejected  = "rejected"
)

// Done reports whether a submission has reached its final status.
func (s *Submission) Done() bool { return s.Status == StatusLogged || s.Status == StatusRejected }

// RegisterRequest is the body of POST /v1/providers.
type RegisterRequest struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	Contact     string `json:"contact"`
	// Role is "provider" (the default) or "evaluator".
	Role string `json:"role,omitempty"`
}

// SubmitRequest is the body of POST /v1/submissions: the public material, never data or salt.
type SubmitRequest struct {
	ModelName string          `json:"model_name"`
	Model     json.RawMessage `json:"model"`
	Manifest  json.RawMessage `json:"manifest"`
	Proof     json.RawMessage `json:"proof"`
}

// ReasonRequest carries the reason for an admin action.
type ReasonRequest struct {
	Reason string `json:"reason"`
}

// IssueKeyRequest is the body of POST /v1/providers/{id}/keys.
type IssueKeyRequest struct {
	Label string `json:"label"`
}

// KeyRevoked answers POST /v1/api-keys/{id}/revoke.
type KeyRevoked struct {
	ID      string `json:"id"`
	Revoked bool   `json:"revoked"`
}

// Circuit is one circuit whose keys the registry publishes under /v1/keys/{circuit_id}/.
type Circuit struct {
	ID          string `json:"circuit_id"`
	Shape       string `json:"shape"`
	Circuit     string `json:"circuit"` // "chunk" or "final"
	VKSHA256    string `json:"vk_sha256"`
	Constraints int    `json:"constraints"`
	// Ceremony is the multi-party ceremony the keys came from; nil for a single-party setup.
	Ceremony *Ceremony `json:"ceremony"`
}

// Ceremony says where a circuit's keys came from: the transcript (a file of the circuit's,
// with its SHA-256) and who contributed to each phase.
type Ceremony struct {
	Transcript         string   `json:"transcript"`
	TranscriptSHA256   string   `json:"transcript_sha256"`
	Phase1Contributors []string `json:"phase1_contributors"`
	Phase2Contributors []string `json:"phase2_contributors"`
}

// CircuitFiles are the files of a circuit's keys, as GET /v1/keys/{circuit_id}/{file}
// names them.
var CircuitFiles = []string{"vk", "pk", "r1cs", "keys.json", "transcript"}
