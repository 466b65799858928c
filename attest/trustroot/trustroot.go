package trustroot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/comet-attest/comet/attest/keys"
	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// Version is the trust root format version.
const Version = 1

// maxSize bounds what Parse accepts.
const maxSize = 1 << 20

// ErrInvalid reports a trust root that cannot be used.
var ErrInvalid = errors.New("invalid trust root")

var hex32RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// File is the JSON form of a trust root.
type File struct {
	Version      int               `json:"version"`
	RegistryKeys []KeyEntry        `json:"registry_keys"`
	Log          LogEntry          `json:"log"`
	Witnesses    *WitnessEntry     `json:"witnesses,omitempty"`
	Circuits     map[string]string `json:"circuits,omitempty"`
	Starknet     *Starknet         `json:"starknet,omitempty"`
}

// KeyEntry is one registry signing key. A key signs attestations issued in
// [NotBefore, NotAfter); after NotAfter it is retired but what it signed
// before stays valid. A revoked key is compromised: nothing it signed at or
// after RevokedAt is valid.
type KeyEntry struct {
	Key              string     `json:"key"` // signed-note verifier key
	NotBefore        time.Time  `json:"not_before"`
	NotAfter         *time.Time `json:"not_after,omitempty"`
	RevokedAt        *time.Time `json:"revoked_at,omitempty"`
	RevocationReason string     `json:"revocation_reason,omitempty"`
}

// LogEntry names the log.
type LogEntry struct {
	Origin string `json:"origin"`
	Key    string `json:"key"` // signed-note verifier key; its name is Origin
}

// WitnessEntry lists witness keys and the number that must cosign.
type WitnessEntry struct {
	Quorum int      `json:"quorum"`
	Keys   []string `json:"keys"` // signed-note Ed25519 keys, used as cosignature/v1
}

// Starknet names the anchoring contract. Both fields are optional strings
// so that the trust layer does not depend on the chain package.
type Starknet struct {
	ChainID  string `json:"chain_id,omitempty"`
	Contract string `json:"contract,omitempty"`
}

// RegistryKey is a parsed KeyEntry.
type RegistryKey struct {
	Key              *keys.Verifier
	NotBefore        time.Time
	NotAfter         time.Time // zero: no end
	RevokedAt        time.Time // zero: not revoked
	RevocationReason string
}

// Witness is a parsed witness key.
type Witness struct {
	Key      string        // as written in the trust root
	Verifier note.Verifier // cosignature/v1 verifier
}

// Root is a parsed, validated trust root.
type Root struct {
	Registry      []RegistryKey
	LogOrigin     string
	LogKey        *keys.Verifier
	Witnesses     []Witness
	WitnessQuorum int
	Circuits      map[string]string // circuit id -> verifying key SHA-256 (hex)
	Starknet      *Starknet
	file          File
}

// Parse decodes and validates a trust root file.
func Parse(b []byte) (*Root, error) {
	if len(b) > maxSize {
		return nil, fmt.Errorf("%w: %d bytes is over the %d byte limit", ErrInvalid, len(b), maxSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrInvalid)
	}
	return New(f)
}

// Load reads and parses a trust root file.
func Load(path string) (*Root, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read trust root: %w", err)
	}
	r, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("trust root %s: %w", path, err)
	}
	return r, nil
}

// New validates f and returns the trust root it describes.
func New(f File) (*Root, error) {
	if f.Version != Version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrInvalid, f.Version, Version)
	}
	r := &Root{file: f, Circuits: f.Circuits, Starknet: f.Starknet}
	if len(f.RegistryKeys) == 0 {
		return nil, fmt.Errorf("%w: no registry keys", ErrInvalid)
	}
	ids := map[string]bool{}
	for i, e := range f.RegistryKeys {
		k, err := keys.ParseVerifier(e.Key)
		if err != nil {
			return nil, fmt.Errorf("%w: registry key %d: %w", ErrInvalid, i, err)
		}
		if ids[k.KeyID()] {
			return nil, fmt.Errorf("%w: registry key %s listed twice", ErrInvalid, k.KeyID())
		}
		ids[k.KeyID()] = true
		rk := RegistryKey{Key: k, NotBefore: e.NotBefore, RevocationReason: e.RevocationReason}
		if e.NotBefore.IsZero() {
			return nil, fmt.Errorf("%w: registry key %s has no not_before", ErrInvalid, k.KeyID())
		}
		if e.NotAfter != nil {
			if !e.NotAfter.After(e.NotBefore) {
				return nil, fmt.Errorf("%w: registry key %s: not_after is not after not_before", ErrInvalid, k.KeyID())
			}
			rk.NotAfter = *e.NotAfter
		}
		if e.RevokedAt != nil {
			if e.RevokedAt.IsZero() {
				return nil, fmt.Errorf("%w: registry key %s: zero revoked_at", ErrInvalid, k.KeyID())
			}
			rk.RevokedAt = *e.RevokedAt
		}
		r.Registry = append(r.Registry, rk)
	}
	lk, err := keys.ParseVerifier(f.Log.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: log key: %w", ErrInvalid, err)
	}
	if f.Log.Origin == "" || lk.Name() != f.Log.Origin {
		return nil, fmt.Errorf("%w: log key name %q differs from origin %q", ErrInvalid, lk.Name(), f.Log.Origin)
	}
	r.LogOrigin, r.LogKey = f.Log.Origin, lk
	if w := f.Witnesses; w != nil {
		if w.Quorum < 0 || w.Quorum > len(w.Keys) {
			return nil, fmt.Errorf("%w: witness quorum %d outside 0..%d", ErrInvalid, w.Quorum, len(w.Keys))
		}
		names := map[string]bool{}
		for i, s := range w.Keys {
			v, err := f_note.NewVerifierForCosignatureV1(s)
			if err != nil {
				return nil, fmt.Errorf("%w: witness key %d: %w", ErrInvalid, i, err)
			}
			if names[v.Name()] || v.Name() == f.Log.Origin {
				return nil, fmt.Errorf("%w: witness name %q is not unique", ErrInvalid, v.Name())
			}
			names[v.Name()] = true
			r.Witnesses = append(r.Witnesses, Witness{Key: s, Verifier: v})
		}
		r.WitnessQuorum = w.Quorum
	}
	for id, vk := range f.Circuits {
		if id == "" || !hex32RE.MatchString(vk) {
			return nil, fmt.Errorf("%w: circuit %q: verifying key digest must be 64 lower-case hex characters", ErrInvalid, id)
		}
	}
	return r, nil
}

// File returns the JSON form the root was made from.
func (r *Root) File() File { return r.file }

// Marshal encodes the root as indented JSON.
func (r *Root) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(r.file, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal trust root: %w", err)
	}
	return append(b, '\n'), nil
}

// RegistryVerifiers lists every registry key, revoked or not, for signature
// checking; validity is judged afterwards with RegistryKey.
func (r *Root) RegistryVerifiers() []*keys.Verifier {
	out := make([]*keys.Verifier, len(r.Registry))
	for i, k := range r.Registry {
		out[i] = k.Key
	}
	return out
}

// RegistryKey finds a registry key by key id.
func (r *Root) RegistryKey(keyID string) (RegistryKey, bool) {
	for _, k := range r.Registry {
		if k.Key.KeyID() == keyID {
			return k, true
		}
	}
	return RegistryKey{}, false
}
