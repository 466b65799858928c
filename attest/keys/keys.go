package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// algEd25519 is the signed-note algorithm byte for Ed25519 keys.
const algEd25519 = 1

var (
	// ErrMalformedKey reports a key string that is not a signed-note Ed25519 key.
	ErrMalformedKey = errors.New("malformed key")
	// ErrNoKey reports an empty key file or unset environment variable.
	ErrNoKey = errors.New("no key")
)

// Signer is an Ed25519 private key with its signed-note name. It signs
// checkpoints as a note.Signer and DSSE envelopes through package envelope.
type Signer struct {
	priv ed25519.PrivateKey
	skey string
	v    *Verifier
}

// Generate makes a new key named name (a signed-note key name: no spaces or
// '+'; for a log key, the log's origin).
func Generate(name string) (*Signer, error) {
	skey, _, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return nil, fmt.Errorf("generate key %q: %w", name, err)
	}
	return ParseSigner(skey)
}

// ParseSigner reads a private key in signed-note form.
func ParseSigner(skey string) (*Signer, error) {
	skey = strings.TrimSpace(skey)
	ns, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	// note.NewSigner checked the layout and hash; it does not expose the seed.
	raw, err := base64.StdEncoding.DecodeString(field(skey, 4))
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != algEd25519 {
		return nil, fmt.Errorf("%w: not an Ed25519 private key", ErrMalformedKey)
	}
	priv := ed25519.NewKeyFromSeed(raw[1:])
	vkey, err := note.NewEd25519VerifierKey(ns.Name(), priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	v, err := ParseVerifier(vkey)
	if err != nil {
		return nil, err
	}
	return &Signer{priv: priv, skey: skey, v: v}, nil
}

// LoadFile reads a private key from a file holding its signed-note form.
func LoadFile(path string) (*Signer, error) {
	text, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	s, err := ParseSigner(text)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return s, nil
}

// LoadVerifierFile reads the public key of a key file that holds either a private key or a
// public verifier key in signed-note form: whoever only needs the public half (to print or
// export it) may hold either file.
func LoadVerifierFile(path string) (*Verifier, error) {
	text, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(text, privatePrefix) {
		s, err := ParseSigner(text)
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
		return s.Verifier(), nil
	}
	v, err := ParseVerifier(text)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return v, nil
}

// privatePrefix starts every signed-note private key and no verifier key.
const privatePrefix = "PRIVATE+KEY+"

func readKeyFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read key file: %w", err)
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return "", fmt.Errorf("key file %s: %w", path, ErrNoKey)
	}
	return text, nil
}

// LoadEnv reads a private key from the environment variable named envVar
// (the name comes from configuration, so that no variable name is fixed here).
func LoadEnv(envVar string) (*Signer, error) {
	v, ok := os.LookupEnv(envVar)
	if !ok || strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("environment variable %s: %w", envVar, ErrNoKey)
	}
	s, err := ParseSigner(v)
	if err != nil {
		return nil, fmt.Errorf("environment variable %s: %w", envVar, err)
	}
	return s, nil
}

// WriteFile stores the private key at path with mode 0600, refusing to
// overwrite an existing file so that a key is never lost by accident.
func (s *Signer) WriteFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.WriteString(s.skey + "\n"); err != nil {
		_ = f.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("sync key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close key file: %w", err)
	}
	return nil
}

// Name is the key's signed-note name.
func (s *Signer) Name() string { return s.v.name }

// KeyHash is the signed-note key hash.
func (s *Signer) KeyHash() uint32 { return s.v.hash }

// Sign signs msg with Ed25519; with Name and KeyHash it makes Signer a
// note.Signer.
func (s *Signer) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.priv, msg), nil }

// KeyID is "<name>+<hash>".
func (s *Signer) KeyID() string { return s.v.KeyID() }

// PrivateKey is the signed-note private key text. Keep it secret.
func (s *Signer) PrivateKey() string { return s.skey }

// Verifier is the public half.
func (s *Signer) Verifier() *Verifier { return s.v }

// Verifier is an Ed25519 public key with its signed-note name.
type Verifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
	vkey string
}

// ParseVerifier reads a public key in signed-note form.
func ParseVerifier(vkey string) (*Verifier, error) {
	vkey = strings.TrimSpace(vkey)
	nv, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	raw, err := base64.StdEncoding.DecodeString(field(vkey, 2))
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != algEd25519 {
		return nil, fmt.Errorf("%w: not an Ed25519 public key", ErrMalformedKey)
	}
	return &Verifier{name: nv.Name(), hash: nv.KeyHash(), pub: ed25519.PublicKey(raw[1:]), vkey: vkey}, nil
}

// Name is the key's signed-note name.
func (v *Verifier) Name() string { return v.name }

// KeyHash is the signed-note key hash.
func (v *Verifier) KeyHash() uint32 { return v.hash }

// Verify reports whether sig is a valid Ed25519 signature of msg; with Name
// and KeyHash it makes Verifier a note.Verifier.
func (v *Verifier) Verify(msg, sig []byte) bool { return ed25519.Verify(v.pub, msg, sig) }

// KeyID is "<name>+<hash>", the id DSSE signatures and trust roots use.
func (v *Verifier) KeyID() string { return v.name + "+" + fmt.Sprintf("%08x", v.hash) }

// Public is the raw Ed25519 public key.
func (v *Verifier) Public() ed25519.PublicKey { return v.pub }

// PEM is the public key as a PEM "PUBLIC KEY" block of its PKIX SubjectPublicKeyInfo (RFC
// 8410 for Ed25519), the form that cosign, OpenSSL and most tools outside signed notes read.
// The key's name and key hash are not in it: a reader that needs the key id gets it apart.
func (v *Verifier) PEM() ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(v.pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key %s as PKIX: %w", v.KeyID(), err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// String is the signed-note verifier key text.
func (v *Verifier) String() string { return v.vkey }

// Fingerprint is SHA-256 of the verifier key text. Unlike the 32-bit key hash
// it cannot collide by chance, so the log leaf records it.
func (v *Verifier) Fingerprint() [32]byte { return sha256.Sum256([]byte(v.vkey)) }

// field returns the i-th '+'-separated field and everything after it: the
// base64 key at the end may itself contain '+'.
func field(s string, i int) string {
	parts := strings.SplitN(s, "+", i+1)
	if len(parts) <= i {
		return ""
	}
	return parts[i]
}
