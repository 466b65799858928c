package statement

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/comet-attest/comet/internal/hexdigest"
	"github.com/comet-attest/comet/internal/strictjson"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/train"
)

const (
	// TrainingPredicateType names version 2 of the training claim.
	TrainingPredicateType = "https://comet-attest.dev/training/v2"
	// EvaluationPredicateType names version 1 of the held-out evaluation claim.
	EvaluationPredicateType = "https://comet-attest.dev/evaluation/v1"
	// RevocationPredicateType names version 1 of the revocation of an attestation.
	RevocationPredicateType = "https://comet-attest.dev/revocation/v1"
	// RevokedSubjectName is the subject name of a revocation statement; its
	// digest is the revoked envelope's digest.
	RevokedSubjectName = "dsse-envelope"

	// maxStatementSize bounds what Parse accepts; real statements are ~1 KiB.
	maxStatementSize = 1 << 20
)

// ErrInvalid reports a statement that does not have the expected shape.
var ErrInvalid = errors.New("invalid statement")

var decimalRE = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.[0-9]+)?$`)

// Subject is the model file an attestation is about.
type Subject struct {
	Name   string // file name, no directory
	SHA256 string // 64 lower-case hex characters
}

// Dataset is the committed training data.
type Dataset struct {
	Commitment string            `json:"commitment"` // 64 lower-case hex: 32-byte big-endian field element
	Header     commitment.Header `json:"header"`
	// FileDigest is the dataset file's digest keyed from its salt (docs/manifest.md): it
	// lets whoever holds the file and the salt check it, and nobody else test guesses.
	FileDigest string `json:"file_digest"`
	// Public is true when the provider published the dataset; then SHA256 is the plain
	// SHA-256 of the file, and the manifest carries the salt.
	Public bool   `json:"public,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

// Model is what the proof is about: the model kind and hyper-parameters as proven, and the
// tolerance. Decimal values are strings so that no float rounding changes what was signed.
type Model struct {
	// Kind is train.KindRidge when the proven Λ is positive and train.KindOLS otherwise, whatever
	// the model file asked for.
	Kind      string `json:"kind"`
	Intercept bool   `json:"intercept"`
	// LambdaFixed is Λ; Lambda is Λ / 2^(2f), exactly: the penalty the proof is about.
	LambdaFixed string `json:"lambda_fixed"`
	Lambda      string `json:"lambda"`
	// TauFixed is tau in units of 2^-(3f); Tau is its exact decimal value, the bound on
	// the gradient's largest entry.
	TauFixed string `json:"tau_fixed"`
	Tau      string `json:"tau"`
}

// Metrics are the proven training metrics: the integer sums the proof makes public
// (docs/model.md units) and the figures they determine, as decimal strings.
type Metrics struct {
	N          int64  `json:"n"`
	SSR        string `json:"ssr"`
	SumY       string `json:"sum_y"`
	SumY2      string `json:"sum_y2"`
	R2         string `json:"r2"`
	RMSE       string `json:"rmse"`
	ResidualSD string `json:"residual_sd"`
}

// Guarantee is what the proof guarantees, derived from public values (docs/proof.md):
// the relative gradient, and for ridge the distance to the exact optimum and the objective's
// excess over its minimum. Bounds are decimal strings rounded up.
type Guarantee struct {
	RelativeGradient string `json:"relative_gradient"` // "inf" when the labels are all zero
	DistanceBound    string `json:"distance_bound,omitempty"`
	LossGapBound     string `json:"loss_gap_bound,omitempty"`
}

// Circuit names a circuit and its verifying key.
type Circuit struct {
	ID                 string `json:"id"`
	VerifyingKeySHA256 string `json:"verifying_key_sha256"`
}

// Proof identifies the zero-knowledge proof the registry checked.
type Proof struct {
	BundleSHA256 string  `json:"bundle_sha256"`
	Chunk        Circuit `json:"chunk_circuit"`
	Final        Circuit `json:"final_circuit"`
}

// Circuits returns the proof's circuits by name, "chunk" and "final".
func (p Proof) Circuits() map[string]Circuit {
	return map[string]Circuit{"chunk": p.Chunk, "final": p.Final}
}

// Featurizer names the deterministic text featurizer, when there is one, and pins the
// spec and the raw corpus (salted, unless the dataset is public).
type Featurizer struct {
	Name         string            `json:"name"`
	Version      string            `json:"version"`
	Params       map[string]string `json:"params,omitempty"`
	SpecSHA256   string            `json:"spec_sha256"`
	CorpusDigest string            `json:"corpus_digest"`
	CorpusSHA256 string            `json:"corpus_sha256,omitempty"`
}

// Training is the predicate of a training attestation.
type Training struct {
	Dataset    Dataset     `json:"dataset"`
	Model      Model       `json:"model"`
	Metrics    Metrics     `json:"metrics"`
	Guarantee  Guarantee   `json:"guarantee"`
	Proof      Proof       `json:"proof"`
	Provider   string      `json:"provider"`
	Featurizer *Featurizer `json:"featurizer,omitempty"`
	// IssuedAt is when the registry made the claim (UTC, whole seconds). The
	// verifier compares it with key validity windows and revocation dates.
	IssuedAt time.Time `json:"issued_at"`
}

// Revocation is the predicate of a revocation statement.
type Revocation struct {
	Reason    string    `json:"reason"`
	RevokedAt time.Time `json:"revoked_at"`
}

// Validate checks every field's syntax.
func (s Subject) Validate() error {
	if s.Name == "" {
		return fmt.Errorf("%w: subject name is empty", ErrInvalid)
	}
	return checkHex("subject sha256", s.SHA256)
}

// Validate checks every field's syntax.
func (t *Training) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	t.Dataset.validate("dataset", add)
	h := t.Dataset.Header
	switch train.Kind(t.Model.Kind) {
	case train.KindOLS, train.KindRidge:
	default:
		add(fmt.Errorf("%w: model.kind %q is neither %q nor %q", ErrInvalid, t.Model.Kind, train.KindOLS, train.KindRidge))
	}
	add(checkInteger("model.lambda_fixed", t.Model.LambdaFixed, false))
	add(checkDecimal("model.lambda", t.Model.Lambda))
	add(checkInteger("model.tau_fixed", t.Model.TauFixed, false))
	add(checkDecimal("model.tau", t.Model.Tau))
	m := t.Metrics
	if m.N != int64(h.N) {
		add(fmt.Errorf("%w: metrics.n %d, dataset.header.n %d", ErrInvalid, m.N, h.N))
	}
	add(checkInteger("metrics.ssr", m.SSR, false))
	add(checkInteger("metrics.sum_y", m.SumY, true))
	add(checkInteger("metrics.sum_y2", m.SumY2, false))
	add(checkFloat("metrics.r2", m.R2))
	add(checkFloat("metrics.rmse", m.RMSE))
	add(checkFloat("metrics.residual_sd", m.ResidualSD))
	if g := t.Guarantee.RelativeGradient; g != "inf" {
		add(checkFloat("guarantee.relative_gradient", g))
	}
	if (t.Guarantee.DistanceBound == "") != (t.Guarantee.LossGapBound == "") || (t.Guarantee.DistanceBound != "") != (t.Model.Kind == string(train.KindRidge)) {
		add(fmt.Errorf("%w: guarantee: distance_bound and loss_gap_bound are stated for ridge and only for ridge", ErrInvalid))
	}
	for name, b := range map[string]string{"guarantee.distance_bound": t.Guarantee.DistanceBound, "guarantee.loss_gap_bound": t.Guarantee.LossGapBound} {
		if b != "" {
			add(checkFloat(name, b))
		}
	}
	add(checkHex("proof.bundle_sha256", t.Proof.BundleSHA256))
	for name, c := range t.Proof.Circuits() {
		add(checkHex("proof."+name+"_circuit.id", c.ID))
		add(checkHex("proof."+name+"_circuit.verifying_key_sha256", c.VerifyingKeySHA256))
	}
	if t.Provider == "" {
		add(fmt.Errorf("%w: provider is empty", ErrInvalid))
	}
	if f := t.Featurizer; f != nil {
		f.validate(add)
	}
	if t.IssuedAt.IsZero() {
		add(fmt.Errorf("%w: issued_at is missing", ErrInvalid))
	}
	return errors.Join(errs...)
}

// validate checks a committed data set's fields, naming them under prefix ("dataset",
// "test_set").
func (d Dataset) validate(prefix string, add func(error)) {
	add(checkHex(prefix+".commitment", d.Commitment))
	add(checkHex(prefix+".file_digest", d.FileDigest))
	switch {
	case d.Public:
		add(checkHex(prefix+".sha256", d.SHA256))
	case d.SHA256 != "":
		add(fmt.Errorf("%w: %s.sha256 is only stated for a public dataset", ErrInvalid, prefix))
	}
	h := d.Header
	if h.N <= 0 || h.D <= 0 || h.FractionBits < 0 || h.ValueBits <= 0 || h.ChunkRows <= 0 {
		add(fmt.Errorf("%w: %s.header has a non-positive field: %+v", ErrInvalid, prefix, h))
	}
}

func (f *Featurizer) validate(add func(error)) {
	if f.Name == "" || f.Version == "" {
		add(fmt.Errorf("%w: featurizer needs a name and a version", ErrInvalid))
	}
	add(checkHex("featurizer.spec_sha256", f.SpecSHA256))
	add(checkHex("featurizer.corpus_digest", f.CorpusDigest))
	if f.CorpusSHA256 != "" {
		add(checkHex("featurizer.corpus_sha256", f.CorpusSHA256))
	}
}

// Validate checks every field's syntax.
func (r *Revocation) Validate() error {
	if r.Reason == "" {
		return fmt.Errorf("%w: revocation reason is empty", ErrInvalid)
	}
	if r.RevokedAt.IsZero() {
		return fmt.Errorf("%w: revoked_at is missing", ErrInvalid)
	}
	return nil
}

// NewTraining builds the training statement for a model file.
func NewTraining(subject Subject, t Training) (*intoto.Statement, error) {
	if err := subject.Validate(); err != nil {
		return nil, err
	}
	t.IssuedAt = t.IssuedAt.UTC().Truncate(time.Second)
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return build(subject, TrainingPredicateType, t)
}

// NewRevocation builds the statement revoking the attestation whose envelope
// digest (package envelope's Digest) is given.
func NewRevocation(envelopeDigest [32]byte, r Revocation) (*intoto.Statement, error) {
	r.RevokedAt = r.RevokedAt.UTC().Truncate(time.Second)
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return build(Subject{Name: RevokedSubjectName, SHA256: hex.EncodeToString(envelopeDigest[:])}, RevocationPredicateType, r)
}

func build(subject Subject, predicateType string, predicate any) (*intoto.Statement, error) {
	js, err := json.Marshal(predicate)
	if err != nil {
		return nil, fmt.Errorf("marshal predicate: %w", err)
	}
	pred := &structpb.Struct{}
	if err := protojson.Unmarshal(js, pred); err != nil {
		return nil, fmt.Errorf("predicate to struct: %w", err)
	}
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       []*intoto.ResourceDescriptor{{Name: subject.Name, Digest: map[string]string{"sha256": subject.SHA256}}},
		PredicateType: predicateType,
		Predicate:     pred,
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return st, nil
}

// Marshal encodes a statement with protojson.
func Marshal(st *intoto.Statement) ([]byte, error) {
	b, err := protojson.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("marshal statement: %w", err)
	}
	return b, nil
}

// Parse decodes and validates an in-toto Statement v1 of the given predicate
// type, returning its single subject and the raw predicate JSON.
func Parse(payload []byte, predicateType string) (Subject, []byte, error) {
	if len(payload) > maxStatementSize {
		return Subject{}, nil, fmt.Errorf("%w: %d bytes is over the %d byte limit", ErrInvalid, len(payload), maxStatementSize)
	}
	// protojson takes the last of duplicate keys in the predicate (a Struct): refuse them
	// first, so that what is checked is all that was signed.
	var raw json.RawMessage
	if err := strictjson.Unmarshal(payload, &raw); err != nil {
		return Subject{}, nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	st := &intoto.Statement{}
	if err := protojson.Unmarshal(payload, st); err != nil {
		return Subject{}, nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if st.GetType() != intoto.StatementTypeUri {
		return Subject{}, nil, fmt.Errorf("%w: statement type %q", ErrInvalid, st.GetType())
	}
	if err := st.Validate(); err != nil {
		return Subject{}, nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if st.GetPredicateType() != predicateType {
		return Subject{}, nil, fmt.Errorf("%w: predicate type %q, want %q", ErrInvalid, st.GetPredicateType(), predicateType)
	}
	if len(st.GetSubject()) != 1 {
		return Subject{}, nil, fmt.Errorf("%w: %d subjects, want 1", ErrInvalid, len(st.GetSubject()))
	}
	rd := st.GetSubject()[0]
	if len(rd.GetDigest()) != 1 {
		return Subject{}, nil, fmt.Errorf("%w: subject must carry exactly one digest, sha256", ErrInvalid)
	}
	subj := Subject{Name: rd.GetName(), SHA256: rd.GetDigest()["sha256"]}
	if err := subj.Validate(); err != nil {
		return Subject{}, nil, err
	}
	pred, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return Subject{}, nil, fmt.Errorf("%w: predicate: %w", ErrInvalid, err)
	}
	return subj, pred, nil
}

// ParseTraining decodes and validates a training statement.
func ParseTraining(payload []byte) (Subject, *Training, error) {
	subj, pred, err := Parse(payload, TrainingPredicateType)
	if err != nil {
		return Subject{}, nil, err
	}
	t := &Training{}
	if err := decodeStrict(pred, t); err != nil {
		return Subject{}, nil, err
	}
	if err := t.Validate(); err != nil {
		return Subject{}, nil, err
	}
	return subj, t, nil
}

// ParseRevocation decodes and validates a revocation statement, returning the
// revoked envelope digest.
func ParseRevocation(payload []byte) ([32]byte, *Revocation, error) {
	subj, pred, err := Parse(payload, RevocationPredicateType)
	if err != nil {
		return [32]byte{}, nil, err
	}
	if subj.Name != RevokedSubjectName {
		return [32]byte{}, nil, fmt.Errorf("%w: revocation subject name %q, want %q", ErrInvalid, subj.Name, RevokedSubjectName)
	}
	r := &Revocation{}
	if err := decodeStrict(pred, r); err != nil {
		return [32]byte{}, nil, err
	}
	if err := r.Validate(); err != nil {
		return [32]byte{}, nil, err
	}
	var d [32]byte
	hex.Decode(d[:], []byte(subj.SHA256)) // checked by subj.Validate
	return d, r, nil
}

// decodeStrict rejects unknown fields: a predicate with fields this version
// does not know may claim something the verifier would silently ignore.
func decodeStrict(js []byte, v any) error {
	if err := strictjson.Unmarshal(js, v); err != nil {
		return fmt.Errorf("%w: predicate: %w", ErrInvalid, err)
	}
	return nil
}

func checkHex(field, s string) error {
	if !hexdigest.Valid(s) {
		return fmt.Errorf("%w: %s must be 64 lower-case hex characters, got %q", ErrInvalid, field, s)
	}
	return nil
}

var (
	integerRE = regexp.MustCompile(`^(0|-?[1-9][0-9]{0,99})$`)
	floatRE   = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?(e[-+][0-9]+)?$`)
)

// checkInteger accepts a canonical decimal integer, negative only when signed.
func checkInteger(field, s string, signed bool) error {
	if !integerRE.MatchString(s) || (!signed && strings.HasPrefix(s, "-")) {
		return fmt.Errorf("%w: %s must be a canonical decimal integer, got %q", ErrInvalid, field, s)
	}
	return nil
}

// checkFloat accepts a finite number in decimal or 'e' notation, as strconv writes them.
func checkFloat(field, s string) error {
	if !floatRE.MatchString(s) {
		return fmt.Errorf("%w: %s must be a finite decimal number such as \"0.25\" or \"1.5e-07\", got %q", ErrInvalid, field, s)
	}
	return nil
}

func checkDecimal(field, s string) error {
	if !decimalRE.MatchString(s) {
		return fmt.Errorf("%w: %s must be a non-negative decimal such as \"0.5\", got %q", ErrInvalid, field, s)
	}
	return nil
}

// PredicateType reads only the predicate type of a statement, to choose
// which parser to call.
func PredicateType(payload []byte) (string, error) {
	var head struct {
		PredicateType string `json:"predicateType"`
	}
	if err := json.Unmarshal(payload, &head); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return head.PredicateType, nil
}
