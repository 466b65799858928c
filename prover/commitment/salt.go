package commitment

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

var (
	// ErrSalt means a text is not a salt's 64 hex characters.
	ErrSalt = errors.New("invalid salt")
	// ErrSaltFile means a salt file exists but does not hold a salt; it comes with ErrSalt.
	ErrSaltFile = errors.New("invalid salt file")
)

// Salt is the provider's 256-bit secret that makes the commitment hiding.
type Salt [32]byte

// NewSalt draws a salt from the operating system's cryptographic random source.
func NewSalt() (Salt, error) {
	var s Salt
	if _, err := rand.Read(s[:]); err != nil {
		return Salt{}, fmt.Errorf("draw salt: %w", err)
	}
	return s, nil
}

// Elements splits the salt into the two 128-bit field elements the hash absorbs.
func (s Salt) Elements() (hi, lo fr.Element) {
	hi.SetBytes(s[:16])
	lo.SetBytes(s[16:])
	return hi, lo
}

// MarshalText encodes the salt as 64 lower-case hex characters.
func (s Salt) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(s[:])), nil }

// UnmarshalText decodes 64 hex characters.
func (s *Salt) UnmarshalText(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) != 2*len(s) {
		return fmt.Errorf("%w: want %d hex characters, got %d", ErrSalt, 2*len(s), len(b))
	}
	if _, err := hex.Decode(s[:], b); err != nil {
		return fmt.Errorf("%w: %w", ErrSalt, err)
	}
	return nil
}

// LoadSalt reads the salt file at path, which must exist: checking or training on a
// committed dataset needs the salt it was committed with, never a new one.
func LoadSalt(path string) (Salt, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Salt{}, fmt.Errorf("read salt file: %w", err)
	}
	var s Salt
	if err := s.UnmarshalText(b); err != nil {
		return Salt{}, fmt.Errorf("%w %s: %w", ErrSaltFile, path, err)
	}
	return s, nil
}

// LoadOrNewSalt reads the salt at path, or draws a new one when the file does not exist
// (created says so). It writes nothing: the caller keeps a new salt with WriteSalt once the
// work it salted succeeded, so that a failed commit leaves no salt file behind.
func LoadOrNewSalt(path string) (s Salt, created bool, err error) {
	s, err = LoadSalt(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return s, false, err
	}
	s, err = NewSalt()
	return s, err == nil, err
}

// WriteSalt creates the salt file at path with mode 0600. It is created exclusively so that
// two concurrent runs cannot each keep a different salt: the second fails.
func WriteSalt(path string, s Salt) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create salt file: %w", err)
	}
	text, _ := s.MarshalText()
	if _, err := f.Write(append(text, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write salt file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync salt file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close salt file %s: %w", path, err)
	}
	return nil
}
