package envelope

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/internal/strictjson"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// PayloadType is the DSSE payload type of in-toto statements.
const PayloadType = "application/vnd.in-toto+json"

// MaxSize bounds the envelope Parse accepts.
const MaxSize = 1 << 20

var (
	// ErrMalformed reports an envelope that cannot be parsed.
	ErrMalformed = errors.New("malformed envelope")
	// ErrSignature reports that no trusted key signed the envelope.
	ErrSignature = errors.New("envelope signature not verified")
)

// Sign wraps an in-toto statement in an envelope signed by each signer in order (the
// registry first, by convention).
func Sign(ctx context.Context, payload []byte, signers ...*keys.Signer) (*dsse.Envelope, error) {
	return SignType(ctx, PayloadType, payload, signers...)
}

// SignType is Sign for a payload of another type (a trust root, say).
func SignType(ctx context.Context, payloadType string, payload []byte, signers ...*keys.Signer) (*dsse.Envelope, error) {
	if len(signers) == 0 {
		return nil, errors.New("sign envelope: no signers")
	}
	ds := make([]dsse.Signer, len(signers))
	for i, s := range signers {
		ds[i] = signer{s}
	}
	es, err := dsse.NewEnvelopeSigner(ds...)
	if err != nil {
		return nil, fmt.Errorf("sign envelope: %w", err)
	}
	env, err := es.SignPayload(ctx, payloadType, payload)
	if err != nil {
		return nil, fmt.Errorf("sign envelope: %w", err)
	}
	return env, nil
}

// CoSign returns a copy of env with one more signature, by s, over the same
// payload. The digest does not change.
func CoSign(ctx context.Context, env *dsse.Envelope, s *keys.Signer) (*dsse.Envelope, error) {
	payload, err := decodePayload(env)
	if err != nil {
		return nil, err
	}
	sig, err := signer{s}.Sign(ctx, dsse.PAE(env.PayloadType, payload))
	if err != nil {
		return nil, fmt.Errorf("co-sign envelope: %w", err)
	}
	out := &dsse.Envelope{PayloadType: env.PayloadType, Payload: env.Payload}
	out.Signatures = append(append(out.Signatures, env.Signatures...),
		dsse.Signature{KeyID: s.KeyID(), Sig: base64.StdEncoding.EncodeToString(sig)})
	return out, nil
}

// Verify checks the signatures of an in-toto envelope against the trusted keys and returns
// the keys that signed it (at least one) and the payload. Signatures by unknown keys are
// ignored; a signature that claims a trusted key id but does not verify is not counted.
func Verify(ctx context.Context, env *dsse.Envelope, trusted ...*keys.Verifier) ([]*keys.Verifier, []byte, error) {
	return VerifyType(ctx, env, PayloadType, trusted...)
}

// VerifyType is Verify for an envelope that must carry payloadType.
func VerifyType(ctx context.Context, env *dsse.Envelope, payloadType string, trusted ...*keys.Verifier) ([]*keys.Verifier, []byte, error) {
	if err := CheckType(env, payloadType); err != nil {
		return nil, nil, err
	}
	if len(trusted) == 0 {
		return nil, nil, fmt.Errorf("%w: no trusted keys", ErrSignature)
	}
	vs := make([]dsse.Verifier, len(trusted))
	for i, k := range trusted {
		vs[i] = verifier{k}
	}
	ev, err := dsse.NewEnvelopeVerifier(vs...)
	if err != nil {
		return nil, nil, fmt.Errorf("verify envelope: %w", err)
	}
	accepted, payload, err := ev.VerifyAndDecode(ctx, env)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	byID := make(map[string]*keys.Verifier, len(trusted))
	for _, k := range trusted {
		byID[k.KeyID()] = k
	}
	out := make([]*keys.Verifier, 0, len(accepted))
	for _, a := range accepted {
		out = append(out, byID[a.KeyID])
	}
	return out, payload, nil
}

// Digest is SHA-256 of PAE(payloadType, payload).
func Digest(env *dsse.Envelope) ([32]byte, error) {
	payload, err := decodePayload(env)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(dsse.PAE(env.PayloadType, payload)), nil
}

// Parse decodes an envelope and checks its shape: the in-toto payload type, a
// standard-base64 payload and at least one signature with a key id. It does
// not verify signatures.
func Parse(b []byte) (*dsse.Envelope, error) { return ParseType(b, PayloadType) }

// ParseType is Parse for an envelope that must carry payloadType.
func ParseType(b []byte, payloadType string) (*dsse.Envelope, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes is over the %d byte limit", ErrMalformed, len(b), MaxSize)
	}
	env := &dsse.Envelope{}
	if err := strictjson.Unmarshal(b, env); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := CheckType(env, payloadType); err != nil {
		return nil, err
	}
	return env, nil
}

// Check validates the shape of an in-toto envelope already decoded, as Parse does.
func Check(env *dsse.Envelope) error { return CheckType(env, PayloadType) }

// CheckType is Check for an envelope that must carry payloadType.
func CheckType(env *dsse.Envelope, payloadType string) error {
	if env.PayloadType != payloadType {
		return fmt.Errorf("%w: payload type %q, want %q", ErrMalformed, env.PayloadType, payloadType)
	}
	if _, err := decodePayload(env); err != nil {
		return err
	}
	if len(env.Signatures) == 0 {
		return fmt.Errorf("%w: no signatures", ErrMalformed)
	}
	for i, s := range env.Signatures {
		if s.KeyID == "" {
			return fmt.Errorf("%w: signature %d has no key id", ErrMalformed, i)
		}
		if _, err := base64.StdEncoding.Strict().DecodeString(s.Sig); err != nil {
			return fmt.Errorf("%w: signature %d: %w", ErrMalformed, i, err)
		}
	}
	return nil
}

// Marshal encodes an envelope as JSON.
func Marshal(env *dsse.Envelope) ([]byte, error) {
	b, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("marshal envelope: %w", err)
	}
	return b, nil
}

// decodePayload insists on strict standard base64: the dsse package also
// accepts URL encoding, which would let one envelope be spelled many ways.
func decodePayload(env *dsse.Envelope) ([]byte, error) {
	p, err := base64.StdEncoding.Strict().DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}
	return p, nil
}

// signer adapts keys.Signer to dsse.Signer.
type signer struct{ s *keys.Signer }

func (s signer) Sign(_ context.Context, data []byte) ([]byte, error) { return s.s.Sign(data) }
func (s signer) KeyID() (string, error)                              { return s.s.KeyID(), nil }

// verifier adapts keys.Verifier to dsse.Verifier.
type verifier struct{ v *keys.Verifier }

func (v verifier) Verify(_ context.Context, data, sig []byte) error {
	if !v.v.Verify(data, sig) {
		return ErrSignature
	}
	return nil
}
func (v verifier) KeyID() (string, error)   { return v.v.KeyID(), nil }
func (v verifier) Public() crypto.PublicKey { return v.v.Public() }

// Payload returns the decoded payload without verifying any signature.
func Payload(env *dsse.Envelope) ([]byte, error) { return decodePayload(env) }

// ParsePayload is Parse then Payload: the payload of an envelope whose signature is checked
// elsewhere, such as one a registry reads back from its own database.
func ParsePayload(raw []byte) ([]byte, error) {
	env, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	return Payload(env)
}
