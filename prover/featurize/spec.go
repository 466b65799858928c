package featurize

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/comet-attest/comet/internal/strictjson"
)

// Sentinel causes; callers test them with errors.Is.
var (
	// ErrSpec means a Spec or Config is malformed or names values this package does not
	// implement.
	ErrSpec = errors.New("invalid featurizer spec")
	// ErrNoText means no text column was given.
	ErrNoText = errors.New("no text column given")
	// ErrTextEncoding means a text cell is not valid UTF-8.
	ErrTextEncoding = errors.New("text is not valid UTF-8")
	// ErrColumnClash means an output column name would appear twice.
	ErrColumnClash = errors.New("output column name clash")
	// ErrSplit means a split is malformed or would leave the training or the test output
	// empty.
	ErrSplit = errors.New("invalid split")
)

// Spec identifies a featurizer exactly: its name, version and every parameter that changes
// its output. It is what a public statement records. Params keys are lower-case ASCII
// identifiers and values printable ASCII without quotes or backslashes, so that the
// canonical JSON (CanonicalJSON) needs no escaping and any implementation can reproduce it.
type Spec struct {
	Name    string            `json:"name"`
	Version string            `json:"version"`
	Params  map[string]string `json:"params"`
}

// Validate checks the character rules that make the canonical form escape-free.
func (s Spec) Validate() error {
	if s.Name == "" || s.Version == "" {
		return fmt.Errorf("%w: name and version are required", ErrSpec)
	}
	if !plainValue(s.Name) || !plainValue(s.Version) {
		return fmt.Errorf("%w: name or version has characters outside printable ASCII", ErrSpec)
	}
	for k, v := range s.Params {
		if !paramKey(k) {
			return fmt.Errorf("%w: parameter name %q is not [a-z0-9_]+", ErrSpec, k)
		}
		if !plainValue(v) {
			return fmt.Errorf("%w: parameter %s has characters outside printable ASCII", ErrSpec, k)
		}
	}
	return nil
}

func paramKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// plainValue is printable ASCII other than '"', '\\' and the HTML characters that
// encoding/json would escape.
func plainValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// CanonicalJSON is the spec as compact JSON with the keys in the order name, version,
// params and the params sorted by key (bytewise), no white space and no trailing newline:
//
//	{"name":"comet-legal-hash","version":"1","params":{"buckets":"64",...}}
func (s Spec) CanonicalJSON() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"name":"%s","version":"%s","params":{`, s.Name, s.Version)
	keys := make([]string, 0, len(s.Params))
	for k := range s.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%s":"%s"`, k, s.Params[k])
	}
	b.WriteString("}}")
	return b.Bytes(), nil
}

// ID is the lower-case hex SHA-256 of CanonicalJSON: one string that pins the featurizer.
func (s Spec) ID() (string, error) {
	c, err := s.CanonicalJSON()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c)
	return hex.EncodeToString(sum[:]), nil
}

// ParseSpec reads a spec from JSON, refusing unknown fields, and validates it.
func ParseSpec(b []byte) (Spec, error) {
	var s Spec
	if err := strictjson.Unmarshal(b, &s); err != nil {
		return Spec{}, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	return s, s.Validate()
}
