package commitment

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// ManifestFormat names this version of the manifest.
const ManifestFormat = "comet.manifest/v1"

// HashScheme names the hash and layout of docs/commitment.md, so that a reader can refuse a
// manifest made with a scheme it does not implement.
const HashScheme = "poseidon2-bn254-t16-rf8-rp57/commitment-v1"

// ErrManifest means a manifest is malformed or inconsistent.
var ErrManifest = errors.New("invalid manifest")

// Manifest is the public description of a committed dataset (docs/manifest.md). It holds no
// data and no salt.
type Manifest struct {
	Version  string   `json:"format"`
	File     string   `json:"file"`
	SHA256   string   `json:"sha256"`
	Columns  []string `json:"columns"`
	Features []string `json:"features"`
	Label    string   `json:"label"`
	Header
	Hash             string   `json:"hash"`
	ChunkCommitments []Digest `json:"chunks"`
	Commitment       Digest   `json:"commitment"`
}

// NewManifest records a finished commitment.
func NewManifest(r Result, file, sha256Hex string, columns, features []string, label string) *Manifest {
	return &Manifest{
		Version:          ManifestFormat,
		File:             file,
		SHA256:           sha256Hex,
		Columns:          columns,
		Features:         features,
		Label:            label,
		Header:           r.Header,
		Hash:             HashScheme,
		ChunkCommitments: r.Chunks,
		Commitment:       r.Commitment,
	}
}

// Validate checks that the manifest is internally consistent, including that C is the hash
// of its header and chunk commitments: a manifest whose numbers were edited is refused.
func (m *Manifest) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrManifest, fmt.Sprintf(format, a...))
	}
	if m.Version != ManifestFormat {
		return bad("format %q, want %q", m.Version, ManifestFormat)
	}
	if m.Hash != HashScheme {
		return bad("hash scheme %q, want %q", m.Hash, HashScheme)
	}
	if err := m.Header.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrManifest, err)
	}
	if m.N < 1 {
		return bad("n = %d", m.N)
	}
	if len(m.Features) != m.D {
		return bad("%d features named for d = %d", len(m.Features), m.D)
	}
	if b, err := hex.DecodeString(m.SHA256); err != nil || len(b) != 32 {
		return bad("sha256 %q is not 64 hex characters", m.SHA256)
	}
	inFile := make(map[string]bool, len(m.Columns))
	for _, c := range m.Columns {
		if inFile[c] {
			return bad("column %q listed twice", c)
		}
		inFile[c] = true
	}
	used := make(map[string]bool, len(m.Features)+1)
	for _, c := range append(append([]string(nil), m.Features...), m.Label) {
		if !inFile[c] {
			return bad("column %q is not among the file's columns", c)
		}
		if used[c] {
			return bad("column %q has two roles", c)
		}
		used[c] = true
	}
	if len(m.ChunkCommitments) != m.Header.Chunks() {
		return bad("%d chunk commitments, want %d for n = %d and %d rows per chunk", len(m.ChunkCommitments), m.Header.Chunks(), m.N, m.ChunkRows)
	}
	want, err := m.Recompute()
	if err != nil {
		return err
	}
	if want != m.Commitment {
		return bad("commitment %s is not the hash of the header and chunks (%s)", m.Commitment, want)
	}
	return nil
}

// Recompute derives C from the header and chunk commitments.
func (m *Manifest) Recompute() (Digest, error) {
	chunks := make([]fr.Element, len(m.ChunkCommitments))
	for i, d := range m.ChunkCommitments {
		e, err := d.Element()
		if err != nil {
			return Digest{}, fmt.Errorf("%w: chunk %d: %w", ErrManifest, i, err)
		}
		chunks[i] = e
	}
	c, err := DatasetCommitment(m.Header, chunks)
	if err != nil {
		return Digest{}, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	return DigestOf(c), nil
}

// Marshal encodes the manifest as indented JSON with a final newline.
func (m *Manifest) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseManifest decodes and validates a manifest. Unknown fields are refused so that a typo
// or a manifest of a newer format is not half-read.
func ParseManifest(b []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrManifest)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// LoadManifest reads and validates the manifest at path.
func LoadManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	return m, nil
}
