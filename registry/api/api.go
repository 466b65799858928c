package api

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/registry/jobs"
	"github.com/comet-attest/comet/registry/keyset"
	"github.com/comet-attest/comet/registry/ratelimit"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river/rivertype"
)

// Registry is what the handlers ask of the registry's rules; *service.Service provides it.
type Registry interface {
	Authenticate(ctx context.Context, raw string) (*service.Principal, error)
	Register(ctx context.Context, r service.Registration) (*store.Provider, string, error)
	SetProvider(ctx context.Context, by *service.Principal, id string, action service.ProviderAction, reason string) (*store.Provider, error)
	IssueKey(ctx context.Context, by *service.Principal, providerID, label string) (string, *store.APIKey, error)
	RevokeKey(ctx context.Context, by *service.Principal, keyID string) error
	Submit(ctx context.Context, by *service.Principal, s service.Submission) (*store.Submission, error)
	Submission(ctx context.Context, by *service.Principal, id string) (*store.Submission, *store.Attestation, error)
	Submissions(ctx context.Context, by *service.Principal, f store.SubmissionFilter, p store.Page) ([]store.Submission, string, error)
	Revoke(ctx context.Context, by *service.Principal, attestationID, reason string) (*store.Revocation, error)
	SubmitEvaluation(ctx context.Context, by *service.Principal, s service.EvaluationSubmission) (*store.Evaluation, error)
	Evaluation(ctx context.Context, by *service.Principal, id string) (*store.Evaluation, error)
	ModelEvaluations(ctx context.Context, sha256 string, p store.Page) ([]store.Evaluation, string, error)
	RevokeEvaluation(ctx context.Context, by *service.Principal, evaluationID, reason string) (*store.Revocation, error)
	Bundle(ctx context.Context, attestationID string) (*bundle.Bundle, error)
	Consistency(ctx context.Context, from, to uint64) ([][]byte, error)
	Checkpoint(ctx context.Context) ([]byte, error)
}

// Records is what the handlers read directly; *store.Store provides it.
type Records interface {
	Ping(ctx context.Context) error
	ModelView(ctx context.Context, sha256 string) (*store.ModelView, error)
	Model(ctx context.Context, sha256 string) (*store.Model, error)
	Attestation(ctx context.Context, id string) (*store.Attestation, error)
	Revocation(ctx context.Context, attestationID string) (*store.Revocation, error)
	Revoked(ctx context.Context, attestationID string) (bool, error)
	Submission(ctx context.Context, id string) (*store.Submission, error)
	Provider(ctx context.Context, id string) (*store.Provider, error)
	Providers(ctx context.Context, status store.ProviderStatus, p store.Page) ([]store.Provider, string, error)
	APIKeys(ctx context.Context, providerID string) ([]store.APIKey, error)
	AuditEvents(ctx context.Context, subject string, p store.Page) ([]store.AuditEvent, string, error)
	Anchors(ctx context.Context, limit int) ([]store.Anchor, error)
}

// Jobs shows the job queue; *jobs.Queue provides it.
type Jobs interface {
	Job(ctx context.Context, id int64) (*rivertype.JobRow, error)
	List(ctx context.Context, p jobs.ListParams) ([]*rivertype.JobRow, string, error)
}

// CircuitKeys is the registry's published key set; *keyset.Set provides it.
type CircuitKeys interface {
	// Circuits lists every published circuit.
	Circuits() []keyset.Circuit
	// File returns the path of one file of a circuit's keys ("vk", "pk", "r1cs" or
	// "keys.json"), or "" when there is none.
	File(circuitID, name string) string
}

// TrustRoots are the signed trust root versions, 1 to the latest.
type TrustRoots interface {
	Latest() *trustroot.Root
	Version(n int64) ([]byte, bool)
}

// Config gathers what New needs.
type Config struct {
	Registry Registry
	Records  Records
	Jobs     Jobs
	Keys     CircuitKeys
	// TrustRoots is the registry's chain of signed trust root versions (attest/trustroot),
	// served for clients to pin and to walk to the newest; nil serves none.
	TrustRoots TrustRoots
	// LogDir is the tessera log directory whose public files are served under /v1/log/.
	LogDir string
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int64
	// RatePerSecond and RateBurst bound each API key's (and each unauthenticated client
	// address's registrations).
	RatePerSecond float64
	RateBurst     int
	// FailedAuthPerSecond and FailedAuthGlobalPerSecond bound failed authentications per
	// client address and in all; each has a burst of ten seconds' worth.
	FailedAuthPerSecond, FailedAuthGlobalPerSecond float64
	// TrustedProxies are the proxies (addresses or CIDR ranges) whose forwarding headers
	// name the client; none by default, so that a client cannot choose its own address.
	TrustedProxies []string
	// BundleWait bounds how long a bundle request waits for a checkpoint (default 5s).
	BundleWait time.Duration
	// Ready reports whether background parts (jobs, log) are running, for /readyz.
	Ready func(ctx context.Context) error
	// Metrics is the registry the request metrics are added to; /metrics serves it.
	Metrics *prometheus.Registry
	Logger  *slog.Logger
	Now     func() time.Time
}

// API holds the handlers.
type API struct {
	reg        Registry
	rec        Records
	jobs       Jobs
	keys       CircuitKeys
	trustRoots TrustRoots
	logDir     string
	maxBody    int64
	bundleWait time.Duration
	ready      func(ctx context.Context) error
	limiter    *ratelimit.Limiter  // requests per key (and unauthenticated ones per address)
	failedAuth *ratelimit.Failures // failed authentications per address and of everyone
	proxies    []string
	metrics    *metrics
	promReg    *prometheus.Registry
	logger     *slog.Logger
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
