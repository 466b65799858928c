package statement

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	// TrainingPredicateType names version 1 of the training claim.
	TrainingPredicateType = "https://comet-attest.dev/training/v1"
	// RevocationPredicateType names version 1 of the revocation of an attestation.
	RevocationPredicateType = "https://comet-attest.dev/revocation/v1"
	// RevokedSubjectName is the subject name of a revocation statement; its
	// digest is the revoked envelope's digest.
	RevokedSubjectName = "dsse-envelope"

	// ModelOLS and ModelRidge are the model kinds a training claim can name.
	ModelOLS   = "ols"
	ModelRidge = "ridge"

	// maxStatementSize bounds what Parse accepts; real statements are ~1 KiB.
	maxStatementSize = 1 << 20
)

// ErrInvalid reports a statement that does not have the expected shape.
var ErrInvalid = errors.New("invalid statement")

var (
	decimalRE = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.[0-9]+)?$`)
	hex32RE   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Subject is the model file an attestation is about.
type Subject struct {
	Name   string // file name, no directory
	SHA256 string // 64 lower-case hex characters
}

// Header is the dataset's public header, as committed to by the dataset
// commitment.
type Header struct {
	N            int64 `json:"n"`
	D            int64 `json:"d"`
	FractionBits int64 `json:"fraction_bits"`
	ValueBits    int64 `json:"value_bits"`
	ChunkRows    int64 `json:"chunk_rows"`
}

// Dataset is the committed training data.
type Dataset struct {
	Commitment string `json:"commitment"` // 64 lower-case hex: 32-byte big-endian field element
	Header     Header `json:"header"`
	SHA256     string `json:"sha256"` // of the original dataset file
}

// Model is the model kind and its hyper-parameters. Decimal values are
// strings so that no float rounding changes what was signed.
type Model struct {
	Kind      string `json:"kind"`   // ModelOLS or ModelRidge
	Lambda    string `json:"lambda"` // decimal, "0" for OLS
	Intercept bool   `json:"intercept"`
	Tau       string `json:"tau"` // decimal tolerance of the optimality check
}

// Proof identifies the zero-knowledge proof the registry checked.
type Proof struct {
	BundleSHA256       string `json:"bundle_sha256"`
	CircuitID          string `json:"circuit_id"`
	VerifyingKeySHA256 string `json:"verifying_key_sha256"`
}

// Featurizer names the deterministic text featurizer, when there is one.
type Featurizer struct {
	Name    string            `json:"name"`
	Version string            `json:"version"`
	Params  map[string]string `json:"params,omitempty"`
}

// Training is the predicate of a training attestation.
type Training struct {
	Dataset    Dataset     `json:"dataset"`
	Model      Model       `json:"model"`
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
	add(checkHex("dataset.commitment", t.Dataset.Commitment))
	add(checkHex("dataset.sha256", t.Dataset.SHA256))
	h := t.Dataset.Header
	if h.N <= 0 || h.D <= 0 || h.FractionBits < 0 || h.ValueBits <= 0 || h.ChunkRows <= 0 {
		add(fmt.Errorf("%w: dataset.header has a non-positive field: %+v", ErrInvalid, h))
	}
	switch t.Model.Kind {
	case ModelOLS, ModelRidge:
	default:
		add(fmt.Errorf("%w: model.kind %q is neither %q nor %q", ErrInvalid, t.Model.Kind, ModelOLS, ModelRidge))
	}
	add(checkDecimal("model.lambda", t.Model.Lambda))
	add(checkDecimal("model.tau", t.Model.Tau))
	add(checkHex("proof.bundle_sha256", t.Proof.BundleSHA256))
	add(checkHex("proof.verifying_key_sha256", t.Proof.VerifyingKeySHA256))
	if t.Proof.CircuitID == "" {
		add(fmt.Errorf("%w: proof.circuit_id is empty", ErrInvalid))
	}
	if t.Provider == "" {
		add(fmt.Errorf("%w: provider is empty", ErrInvalid))
	}
	if f := t.Featurizer; f != nil && (f.Name == "" || f.Version == "") {
		add(fmt.Errorf("%w: featurizer needs a name and a version", ErrInvalid))
	}
	if t.IssuedAt.IsZero() {
		add(fmt.Errorf("%w: issued_at is missing", ErrInvalid))
	}
	return errors.Join(errs...)
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
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: predicate: %w", ErrInvalid, err)
	}
	return nil
}

func checkHex(field, s string) error {
	if !hex32RE.MatchString(s) {
		return fmt.Errorf("%w: %s must be 64 lower-case hex characters, got %q", ErrInvalid, field, s)
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
