package leaf

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/statement"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// Version is the leaf format version this package writes and reads.
const Version = 1

// Size is the encoded size of a version 1 leaf.
const Size = 2 + 5*32

// Kind says what a leaf records.
type Kind uint8

const (
	// KindTraining is a training attestation.
	KindTraining Kind = 1
	// KindRevocation is the revocation of an earlier attestation.
	KindRevocation Kind = 2
	// KindEvaluation is an evaluation attestation: its dataset is the test set's
	// commitment and its proof the evaluation bundle's digest.
	KindEvaluation Kind = 3
)

// ErrMalformed reports bytes that are not a version 1 leaf.
var ErrMalformed = errors.New("malformed leaf")

// Leaf is the decoded record.
type Leaf struct {
	Kind     Kind
	Envelope [32]byte
	Subject  [32]byte
	Dataset  [32]byte
	Proof    [32]byte
	Signer   [32]byte
}

// Marshal encodes the leaf in the version 1 layout.
func (l Leaf) Marshal() []byte {
	b := make([]byte, 0, Size)
	b = append(b, Version, byte(l.Kind))
	for _, f := range [][32]byte{l.Envelope, l.Subject, l.Dataset, l.Proof, l.Signer} {
		b = append(b, f[:]...)
	}
	return b
}

// Parse decodes a version 1 leaf.
func Parse(b []byte) (Leaf, error) {
	if len(b) != Size {
		return Leaf{}, fmt.Errorf("%w: %d bytes, want %d", ErrMalformed, len(b), Size)
	}
	if b[0] != Version {
		return Leaf{}, fmt.Errorf("%w: version %d", ErrMalformed, b[0])
	}
	l := Leaf{Kind: Kind(b[1])}
	if l.Kind != KindTraining && l.Kind != KindRevocation && l.Kind != KindEvaluation {
		return Leaf{}, fmt.Errorf("%w: kind %d", ErrMalformed, b[1])
	}
	for i, f := range []*[32]byte{&l.Envelope, &l.Subject, &l.Dataset, &l.Proof, &l.Signer} {
		copy(f[:], b[2+32*i:])
	}
	if l.Kind == KindRevocation && (l.Dataset != [32]byte{} || l.Proof != [32]byte{}) {
		return Leaf{}, fmt.Errorf("%w: revocation leaf with dataset or proof digest", ErrMalformed)
	}
	return l, nil
}

// Training computes the leaf of a training attestation from its parts.
func Training(envelopeDigest [32]byte, subject statement.Subject, t *statement.Training, signer *keys.Verifier) (Leaf, error) {
	return attestation(KindTraining, envelopeDigest, subject, t.Dataset.Commitment, t.Proof.BundleSHA256, signer)
}

// Evaluation computes the leaf of an evaluation attestation from its parts.
func Evaluation(envelopeDigest [32]byte, subject statement.Subject, e *statement.Evaluation, signer *keys.Verifier) (Leaf, error) {
	return attestation(KindEvaluation, envelopeDigest, subject, e.TestSet.Commitment, e.BundleSHA256, signer)
}

func attestation(kind Kind, envelopeDigest [32]byte, subject statement.Subject, dataset, bundle string, signer *keys.Verifier) (Leaf, error) {
	l := Leaf{Kind: kind, Envelope: envelopeDigest, Signer: signer.Fingerprint()}
	for _, f := range []struct {
		dst  *[32]byte
		name string
		hex  string
	}{
		{&l.Subject, "subject sha256", subject.SHA256},
		{&l.Dataset, "dataset commitment", dataset},
		{&l.Proof, "proof bundle sha256", bundle},
	} {
		if err := decodeHex32(f.dst, f.hex); err != nil {
			return Leaf{}, fmt.Errorf("leaf %s: %w", f.name, err)
		}
	}
	return l, nil
}

// Revocation computes the leaf of a revocation.
func Revocation(envelopeDigest, revoked [32]byte, signer *keys.Verifier) Leaf {
	return Leaf{Kind: KindRevocation, Envelope: envelopeDigest, Subject: revoked, Signer: signer.Fingerprint()}
}

// FromEnvelope computes the leaf of a signed envelope holding a training, evaluation or
// revocation statement; signer is the registry key that signed it. It does
// not verify the signature.
func FromEnvelope(env *dsse.Envelope, signer *keys.Verifier) (Leaf, error) {
	d, err := envelope.Digest(env)
	if err != nil {
		return Leaf{}, err
	}
	payload, err := envelope.Payload(env)
	if err != nil {
		return Leaf{}, err
	}
	pt, err := statement.PredicateType(payload)
	if err != nil {
		return Leaf{}, err
	}
	switch pt {
	case statement.TrainingPredicateType:
		subj, t, err := statement.ParseTraining(payload)
		if err != nil {
			return Leaf{}, err
		}
		return Training(d, subj, t, signer)
	case statement.EvaluationPredicateType:
		subj, e, err := statement.ParseEvaluation(payload)
		if err != nil {
			return Leaf{}, err
		}
		return Evaluation(d, subj, e, signer)
	case statement.RevocationPredicateType:
		revoked, _, err := statement.ParseRevocation(payload)
		if err != nil {
			return Leaf{}, err
		}
		return Revocation(d, revoked, signer), nil
	default:
		return Leaf{}, fmt.Errorf("%w: predicate type %q has no leaf", statement.ErrInvalid, pt)
	}
}

func decodeHex32(dst *[32]byte, s string) error {
	if len(s) != 64 {
		return fmt.Errorf("%w: %d hex characters, want 64", ErrMalformed, len(s))
	}
	if _, err := hex.Decode(dst[:], []byte(s)); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}
