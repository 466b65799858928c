package store

import "time"

// ProviderStatus is where a provider stands with the registry.
type ProviderStatus string

const (
	ProviderPending   ProviderStatus = "pending"
	ProviderApproved  ProviderStatus = "approved"
	ProviderSuspended ProviderStatus = "suspended"
)

// Provider is an account: a model provider or an evaluator (Role). ID is the name it
// registered with.
type Provider struct {
	ID          string `gorm:"primaryKey"`
	DisplayName string
	Contact     string
	Status      ProviderStatus
	// Role is RoleProvider or RoleEvaluator: what the account's keys may submit. Left
	// empty, the database's default (provider) applies.
	Role      Role `gorm:"default:provider"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Role is what an API key may do (admin, or an account's key), and what an account is.
type Role string

const (
	RoleAdmin    Role = "admin"
	RoleProvider Role = "provider"
	// RoleEvaluator is an account that may submit evaluations of registered models but no
	// training submissions; its keys have RoleProvider, the role of an account's key.
	RoleEvaluator Role = "evaluator"
)

// APIKey is a key's public id and the SHA-256 of its secret.
type APIKey struct {
	ID           string `gorm:"primaryKey"`
	Role         Role
	ProviderID   *string
	SecretSHA256 []byte `gorm:"column:secret_sha256"`
	Label        string
	CreatedAt    time.Time
	RevokedAt    *time.Time
}

// Dataset is a committed dataset's public header and manifest.
type Dataset struct {
	Commitment string `gorm:"primaryKey"`
	// FileDigest is the manifest's keyed digest of the dataset file.
	FileDigest   string
	N            int64
	D            int64
	FractionBits int64
	ValueBits    int64
	ChunkRows    int64
	Manifest     []byte
	CreatedAt    time.Time
}

// Model is a submitted model file, named by its SHA-256. Every file with one SHA-256 is the
// same model (the digest covers its canonical encoding), so Body is the first upload's,
// whoever sent it. Name and ProviderID are the attested submission's once the model is
// attested, and until then the first upload's: they decide nothing, the attestation does.
type Model struct {
	SHA256            string `gorm:"primaryKey;column:sha256"`
	Name              string
	ProviderID        string
	DatasetCommitment string
	Body              []byte
	CreatedAt         time.Time
}

// SubmissionStatus is where a submission is in its life:
// received → verifying → logged, or rejected.
type SubmissionStatus string

const (
	StatusReceived  SubmissionStatus = "received"
	StatusVerifying SubmissionStatus = "verifying"
	StatusLogged    SubmissionStatus = "logged"
	StatusRejected  SubmissionStatus = "rejected"
)

// Final reports whether no job will change the status again.
func (s SubmissionStatus) Final() bool { return s == StatusLogged || s == StatusRejected }

// Submission is a provider's request to attest a model.
type Submission struct {
	ID                string `gorm:"primaryKey"`
	ProviderID        string
	ModelSHA256       string `gorm:"column:model_sha256"`
	ModelName         string // the name this provider gave the model: its attestation's subject name
	DatasetCommitment string
	Manifest          []byte // the manifest this provider sent: its file digest is not bound by the commitment
	ProofSHA256       string `gorm:"column:proof_sha256"`
	Proof             []byte
	Status            SubmissionStatus
	FailedCheck       string
	Message           string
	JobID             *int64
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Attestation is a signed training attestation. ID is its envelope digest (hex).
type Attestation struct {
	ID           string `gorm:"primaryKey"`
	SubmissionID string
	ModelSHA256  string `gorm:"column:model_sha256"`
	ProviderID   string
	Envelope     []byte
	Leaf         []byte
	KeyID        string
	LogIndex     *int64
	IssuedAt     time.Time
	CreatedAt    time.Time
	LoggedAt     *time.Time
}

// Evaluation is an evaluation submission (received → verifying → logged, or rejected) and,
// once verified, its signed attestation: AttestationID (the envelope digest), Envelope and
// Leaf are set together when the registry signs.
type Evaluation struct {
	ID             string `gorm:"primaryKey"`
	EvaluatorID    string
	ModelSHA256    string `gorm:"column:model_sha256"`
	TestCommitment string
	Manifest       []byte // the test set's manifest, canonical
	BundleSHA256   string `gorm:"column:bundle_sha256"`
	Bundle         []byte // the evaluation bundle, canonical
	Status         SubmissionStatus
	FailedCheck    string
	Message        string
	JobID          *int64
	AttestationID  *string
	Envelope       []byte
	Leaf           []byte
	KeyID          string
	LogIndex       *int64
	IssuedAt       *time.Time
	LoggedAt       *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Revocation is a signed revocation of an attestation. ID is its envelope digest (hex).
type Revocation struct {
	ID            string `gorm:"primaryKey"`
	AttestationID string
	Reason        string
	Envelope      []byte
	Leaf          []byte
	LogIndex      *int64
	RevokedAt     time.Time
	CreatedAt     time.Time
	LoggedAt      *time.Time
}

// AuditEvent records who did what to which record.
type AuditEvent struct {
	ID      int64 `gorm:"primaryKey"`
	At      time.Time
	Actor   string
	Action  string
	Subject string
	Detail  string
}

// AnchorStatus is where an anchoring transaction stands.
type AnchorStatus string

const (
	AnchorPending   AnchorStatus = "pending"
	AnchorSubmitted AnchorStatus = "submitted"
	AnchorAccepted  AnchorStatus = "accepted"
	AnchorFailed    AnchorStatus = "failed"
)

// Anchor is a checkpoint anchored (or being anchored) on Starknet.
type Anchor struct {
	ID          int64 `gorm:"primaryKey"`
	TreeSize    int64
	Root        string
	Checkpoint  string
	Status      AnchorStatus
	TxHash      string
	BlockNumber *int64
	Finality    string
	Error       string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// SubmissionLease says which job is verifying a submission and when it last renewed the
// claim; a lease whose BeatAt is old belongs to a worker that died.
type SubmissionLease struct {
	SubmissionID string `gorm:"primaryKey"`
	Holder       string
	BeatAt       time.Time
}

// StartedJob is a verification job that a worker fetched and has not finished: River's
// row, read through registry/jobs. A started job whose submission has no lease a while
// later belongs to a worker that died before its first heartbeat.
type StartedJob struct {
	JobID        int64
	SubmissionID string
	StartedAt    time.Time
}

func (Provider) TableName() string    { return "providers" }
func (APIKey) TableName() string      { return "api_keys" }
func (Dataset) TableName() string     { return "datasets" }
func (Model) TableName() string       { return "models" }
func (Submission) TableName() string  { return "submissions" }
func (Attestation) TableName() string { return "attestations" }
func (Revocation) TableName() string  { return "revocations" }
func (Evaluation) TableName() string  { return "evaluations" }
func (AuditEvent) TableName() string  { return "audit_events" }
func (Anchor) TableName() string      { return "anchors" }

func (SubmissionLease) TableName() string { return "submission_leases" }
