package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/registry/store"
	f_log "github.com/transparency-dev/formats/log"
)

var (
	// ErrNotFound reports a record that does not exist.
	ErrNotFound = store.ErrNotFound
	// ErrConflict reports a request that contradicts the current state (a replayed
	// submission, approving an approved provider, revoking twice).
	ErrConflict = store.ErrConflict
	// ErrUnauthorized reports a missing, malformed, unknown or revoked API key.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden reports a valid key that may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrNotReady reports a record that exists but is not yet in the state asked for (a
	// bundle of an attestation not yet logged).
	ErrNotReady = errors.New("not ready")
)

// InvalidError is a request that cannot be used, naming the field at fault.
type InvalidError struct {
	Field string
	Err   error
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

func invalid(field string, format string, a ...any) error {
	return &InvalidError{Field: field, Err: fmt.Errorf(format, a...)}
}

// CheckError is a verification check that failed; a submission rejected by it records
// Check as its failed check.
type CheckError struct {
	Check string
	Err   error
}

func (e *CheckError) Error() string { return e.Check + ": " + e.Err.Error() }
func (e *CheckError) Unwrap() error { return e.Err }

// Claim is what a verified proof establishes about a model, for the attestation.
type Claim struct {
	// Training is the predicate the verified proof states (attest/verify.TrainingClaim), all
	// but IssuedAt, which the service sets when it signs. Precheck leaves it empty.
	Training statement.Training
	// DatasetCommitment is the commitment the proof and model are bound to.
	DatasetCommitment string
	// ProofFile is the proof bundle's canonical encoding: what the registry stores, serves
	// and attests (bundle_sha256), whatever spelling the request carried it in.
	ProofFile []byte
	// RelativeGradient is the bound the proof puts on the objective's gradient at the
	// model's weights, relative to the scale of the data; +Inf when the proof bounds nothing.
	// The service refuses a claim above Config.MaxRelativeGradient: a tolerance that loose
	// says nothing about how close the weights are to the optimum.
	RelativeGradient float64
}

// Submission is the public material a provider uploads: never the data or the salt.
type Submission struct {
	ModelName string
	Model     []byte // the model file; its SHA-256 is the attestation's subject
	Manifest  []byte // the dataset manifest
	Proof     []byte // the proof bundle
}

// Parts are a submission's parts as the service decoded them, once: the model and the
// manifest parsed (and canonical), the proof bundle as submitted, which the checker alone
// reads.
type Parts struct {
	ModelName string
	Model     *model.Model
	Manifest  *commitment.Manifest
	Proof     []byte
	// ProviderID is the submitting provider, whose identity the proof binds: the service sets
	// it from the authenticated key (Submit) or the stored submission (verification), never
	// from what the provider sent, so that a proof made for one provider fails for another.
	ProviderID string
}

// ProofChecker checks a submission's parts. Precheck is cheap (the proof's syntax, agreement
// between model, manifest and proof) and runs before the submission is accepted; Verify
// checks the proof itself against the registry's published verifying keys, never a key
// carried by the submission. Precheck's problems are *InvalidError naming the part; Verify's
// are a *CheckError naming the failed check when the material is at fault, and any other
// error for a failure of the registry itself (which is retried).
type ProofChecker interface {
	Precheck(p Parts) (Claim, error)
	Verify(ctx context.Context, p Parts) (Claim, error)
}

// Log is the transparency log; *tlog.Log provides it.
type Log interface {
	Append(ctx context.Context, leaf []byte) (uint64, error)
	Checkpoint(ctx context.Context) ([]byte, *f_log.Checkpoint, error)
	AwaitCheckpoint(ctx context.Context, index uint64) ([]byte, *f_log.Checkpoint, error)
	InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error)
	ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error)
}

// Standby is what a Log may also say: whether this process appends to it now. A registry
// replica without the log-owner lease reads the log but leaves its attestations to the
// holder, which logs what others signed (LogPending); a Log without the method always
// appends.
type Standby interface {
	Appending() bool
}

// appends reports whether this process appends its attestations to the log itself.
func (s *Service) appends() bool {
	if s.log == nil {
		return false
	}
	sb, ok := s.log.(Standby)
	return !ok || sb.Appending()
}

// Enqueuer inserts the jobs that writes cause, in the writer's transaction.
type Enqueuer interface {
	EnqueueSubmission(ctx context.Context, tx *store.Tx, submissionID string) (jobID int64, err error)
	EnqueueRevocation(ctx context.Context, tx *store.Tx, revocationID string) (jobID int64, err error)
	EnqueueEvaluation(ctx context.Context, tx *store.Tx, evaluationID string) (jobID int64, err error)
	// StartedSubmissions lists up to limit verification jobs that workers have fetched and
	// not finished.
	StartedSubmissions(ctx context.Context, limit int) ([]store.StartedJob, error)
}

// Service is the registry's rules over its store, log and keys.
type Service struct {
	store  *store.Store
	log    Log
	signer *keys.Signer
	proofs ProofChecker
	evals  EvaluationChecker
	jobs   Enqueuer
	now    func() time.Time
	logger *slog.Logger
	chain  ChainInfo

	maxRelativeGradient float64
	leases              Leases
}

// Config gathers what New needs.
type Config struct {
	Store *store.Store
	// Log is the transparency log, nil in a process that does not own it (`comet worker`):
	// such a process verifies and signs, and the owner logs what it signed (LogPending). A
	// replica that may come to own it passes a Log that is also a Standby.
	Log    Log
	Signer *keys.Signer // the registry's attestation key
	Proofs ProofChecker
	// Evaluations checks evaluation submissions; without it they are refused
	// (ErrNoEvaluations).
	Evaluations EvaluationChecker
	Jobs        Enqueuer
	Now         func() time.Time // default time.Now
	Logger      *slog.Logger
	// Chain names where anchors live, for the receipts in bundles (empty without anchoring).
	Chain ChainInfo
	// MaxRelativeGradient is the largest Claim.RelativeGradient the registry attests
	// (registry.max_relative_gradient); it must be positive and finite, so that no
	// configuration attests a proof that bounds nothing.
	MaxRelativeGradient float64
	// Leases, when set, makes verifying jobs hold a lease that RequeueStale takes over from
	// a dead worker: for processes sharing one queue (PostgreSQL).
	Leases Leases
}

// ChainInfo names the anchoring chain and contract.
type ChainInfo struct {
	Network  string // chain id, e.g. SN_SEPOLIA
	Contract string
}

// New checks the configuration and returns the service.
func New(c Config) (*Service, error) {
	if c.Store == nil || c.Signer == nil || c.Proofs == nil || c.Jobs == nil {
		return nil, errors.New("service: store, signer, proof checker and job queue are all required")
	}
	if !(c.MaxRelativeGradient > 0) || math.IsInf(c.MaxRelativeGradient, 1) {
		return nil, fmt.Errorf("service: max relative gradient %g must be positive and finite", c.MaxRelativeGradient)
	}
	if c.Leases.Heartbeat < 0 || (c.Leases.Heartbeat > 0) != (c.Leases.StaleAfter > c.Leases.Heartbeat) {
		return nil, fmt.Errorf("service: leases need a positive heartbeat %s and a longer stale_after %s", c.Leases.Heartbeat, c.Leases.StaleAfter)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return &Service{store: c.Store, log: c.Log, signer: c.Signer, proofs: c.Proofs, evals: c.Evaluations, jobs: c.Jobs, now: c.Now, logger: c.Logger,
		chain: c.Chain, maxRelativeGradient: c.MaxRelativeGradient, leases: c.Leases}, nil
}

// Store is the service's store, for reads the API serves directly.
func (s *Service) Store() *store.Store { return s.store }

// Signer is the registry's attestation key.
func (s *Service) Signer() *keys.Signer { return s.signer }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// newID returns prefix followed by 12 hex digits of milliseconds and 16 random hex digits:
// unique, and sorted by creation time, which pagination relies on.
func newID(prefix string, now time.Time) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s%012x%s", prefix, now.UnixMilli(), hex.EncodeToString(b[:]))
}

func audit(ctx context.Context, tx *store.Tx, at time.Time, actor, action, subject, detail string) error {
	return tx.AddAudit(ctx, &store.AuditEvent{At: at, Actor: actor, Action: action, Subject: subject, Detail: detail})
}
