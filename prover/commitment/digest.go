package commitment

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/comet-attest/comet/internal/hexdigest"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// ErrDigest means a hex string is not a canonical field element.
var ErrDigest = errors.New("invalid commitment digest")

// Digest is a field element in its published form: 32 bytes, big-endian, shown as 64
// lower-case hex characters.
type Digest [32]byte

// DigestOf returns the canonical encoding of e.
func DigestOf(e fr.Element) Digest { return Digest(e.Bytes()) }

// Element decodes the digest, refusing encodings of values ≥ r so that every element has
// exactly one published form.
func (d Digest) Element() (fr.Element, error) {
	var e fr.Element
	if err := e.SetBytesCanonical(d[:]); err != nil {
		return fr.Element{}, fmt.Errorf("%w: %w", ErrDigest, err)
	}
	return e, nil
}

func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// MarshalText encodes the digest as 64 lower-case hex characters.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText accepts exactly 64 lower-case hex characters of a canonical field element:
// one spelling per digest, so that digests compare as strings.
func (d *Digest) UnmarshalText(b []byte) error {
	if !hexdigest.Valid(string(b)) {
		return fmt.Errorf("%w: want 64 lower-case hex characters, got %.70q", ErrDigest, b)
	}
	var tmp Digest
	if _, err := hex.Decode(tmp[:], b); err != nil {
		return fmt.Errorf("%w: %w", ErrDigest, err)
	}
	if _, err := tmp.Element(); err != nil {
		return err
	}
	*d = tmp
	return nil
}

// ParseDigest decodes a digest from its hex form.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	err := d.UnmarshalText([]byte(s))
	return d, err
}
