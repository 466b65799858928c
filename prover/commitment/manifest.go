package commitment

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// ManifestFormat names this version of the manifest.
const ManifestFormat = "comet.manifest/v2"

// manifestV1 is the format this build no longer reads: it published the plain SHA-256 of the
// private file, which lets anyone test guesses of a low-entropy dataset.
const manifestV1 = "comet.manifest/v1"

// HashScheme names the hash and layout of docs/commitment.md, so that a reader can refuse a
// manifest made with a scheme it does not implement.
const HashScheme = "poseidon2-bn254-t16-rf8-rp57/commitment-v1"

var (
	// ErrManifest means a manifest is malformed or inconsistent.
	ErrManifest = errors.New("invalid manifest")
	// ErrManifestVersion means a manifest names a format this build does not read; it
	// wraps ErrManifest.
	ErrManifestVersion = fmt.Errorf("%w: unsupported format", ErrManifest)
)

// Manifest is the public description of a committed dataset (docs/manifest.md). It holds no
// data; it holds the salt and the file's plain SHA-256 only when Public is set.
type Manifest struct {
	Version string `json:"format"`
	File    string `json:"file"`
	// Public says the provider declared the dataset public: SHA256 and Salt are then set,
	// and must be absent otherwise.
	Public bool `json:"public"`
	// FileDigest is the keyed digest of the CSV file's bytes (NewFileDigest).
	FileDigest string   `json:"file_digest"`
	SHA256     string   `json:"sha256,omitempty"`
	Salt       *Salt    `json:"salt,omitempty"`
	Columns    []string `json:"columns"`
	Features   []string `json:"features"`
	Label      string   `json:"label"`
	Header
	Hash             string   `json:"hash"`
	ChunkCommitments []Digest `json:"chunks"`
	Commitment       Digest   `json:"commitment"`
	// Featurizer is set when the features came from a recorded featurization run.
	Featurizer *Featurizer `json:"featurizer,omitempty"`
}

// Featurizer is the public part of a featurization record (prover/featurize): which
// featurizer, with which parameters, turned which corpus into the committed features.
type Featurizer struct {
	Name    string            `json:"name"`
	Version string            `json:"version"`
	Params  map[string]string `json:"params"`
	// SpecSHA256 is the featurizer id: the SHA-256 of the spec's canonical JSON.
	SpecSHA256 string `json:"spec_sha256"`
	// CorpusDigest is CorpusDigest(salt, SHA-256 of the raw corpus file).
	CorpusDigest string `json:"corpus_digest"`
	// CorpusSHA256 is the raw corpus file's plain SHA-256, only in a public manifest.
	CorpusSHA256 string `json:"corpus_sha256,omitempty"`
	TextColumn   string `json:"text_column"`
	LabelColumn  string `json:"label_column,omitempty"`
	// Rows is the number of rows of the committed file, which for a split is one part.
	Rows int `json:"rows"`
	// Split is set when the committed file is one part of a corpus split by a column, so
	// that a reader knows whether it holds training or held-out rows and how they were
	// chosen.
	Split *FeaturizerSplit `json:"split,omitempty"`
	// LabelMap is set when the featurizer rewrote the labels (0=-1,1=1 gives a classifier its
	// ±1 labels), so that a reader knows what the committed labels stand for.
	LabelMap []FeaturizerLabel `json:"label_map,omitempty"`
}

// FeaturizerLabel is one pair of a label map: the corpus's label From became To.
type FeaturizerLabel struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// FeaturizerSplit says which part of a split corpus was committed: the rows whose Column
// is one of TestValues (Part "test") or the others (Part "train").
type FeaturizerSplit struct {
	Column     string   `json:"column"`
	TestValues []string `json:"test_values"`
	Part       string   `json:"part"`
}

// NewManifest records a finished commitment of a private dataset; fileDigest is the file's
// keyed digest (FileDigest). A caller declaring the dataset public sets Public, SHA256 and
// Salt afterwards, and Featurizer when there is one.
func NewManifest(r Result, file, fileDigest string, columns, features []string, label string) *Manifest {
	return &Manifest{
		Version:          ManifestFormat,
		File:             file,
		FileDigest:       fileDigest,
		Columns:          columns,
		Features:         features,
		Label:            label,
		Header:           r.Header,
		Hash:             HashScheme,
		ChunkCommitments: r.Chunks,
		Commitment:       r.Commitment,
	}
}

func manifestErrorf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrManifest, fmt.Sprintf(format, a...))
}

// Validate checks that the manifest is internally consistent, including that C is the hash
// of its header and chunk commitments: a manifest whose numbers were edited is refused.
func (m *Manifest) Validate() error {
	if m.Version != ManifestFormat {
		return versionError(m.Version)
	}
	if m.Hash != HashScheme {
		return manifestErrorf("hash scheme %q, want %q", m.Hash, HashScheme)
	}
	if err := m.Header.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrManifest, err)
	}
	if m.N < 1 {
		return manifestErrorf("n = %d", m.N)
	}
	if len(m.Features) != m.D {
		return manifestErrorf("%d features named for d = %d", len(m.Features), m.D)
	}
	if err := m.validateDigests(); err != nil {
		return err
	}
	if err := m.validateColumns(); err != nil {
		return err
	}
	if err := m.validateFeaturizer(); err != nil {
		return err
	}
	if len(m.ChunkCommitments) != m.Header.Chunks() {
		return manifestErrorf("%d chunk commitments, want %d for n = %d and %d rows per chunk", len(m.ChunkCommitments), m.Header.Chunks(), m.N, m.ChunkRows)
	}
	want, err := m.Recompute()
	if err != nil {
		return err
	}
	if want != m.Commitment {
		return manifestErrorf("commitment %s is not the hash of the header and chunks (%s)", m.Commitment, want)
	}
	return nil
}

// versionError explains a format this build does not read, and for v1 what to do about it.
func versionError(format string) error {
	if format == manifestV1 {
		return fmt.Errorf("%w: %s is no longer read, because it published the data file's plain SHA-256; re-run `comet dataset commit` with this build to write %s",
			ErrManifestVersion, manifestV1, ManifestFormat)
	}
	return fmt.Errorf("%w %q: this build reads %s", ErrManifestVersion, format, ManifestFormat)
}

// validateDigests checks the file digests and that the plain ones appear exactly when the
// dataset is public: a private manifest must give nobody a digest to test guesses against.
func (m *Manifest) validateDigests() error {
	if !isLowerHex(m.FileDigest, 32) {
		return manifestErrorf("file_digest %q is not 64 lower-case hex characters", m.FileDigest)
	}
	if !m.Public {
		if m.SHA256 != "" || m.Salt != nil {
			return manifestErrorf("a private manifest carries neither sha256 nor salt (set public to publish them)")
		}
		return nil
	}
	if m.Salt == nil {
		return manifestErrorf("a public manifest carries the salt")
	}
	if !isLowerHex(m.SHA256, 32) {
		return manifestErrorf("sha256 %q is not 64 lower-case hex characters", m.SHA256)
	}
	return nil
}

func (m *Manifest) validateColumns() error {
	inFile := make(map[string]bool, len(m.Columns))
	for i, c := range m.Columns {
		if c == "" {
			return manifestErrorf("column %d has no name", i+1)
		}
		if inFile[c] {
			return manifestErrorf("column %q listed twice", c)
		}
		inFile[c] = true
	}
	used := make(map[string]bool, len(m.Features)+1)
	for _, c := range append(append([]string(nil), m.Features...), m.Label) {
		if !inFile[c] {
			return manifestErrorf("column %q is not among the file's columns", c)
		}
		if used[c] {
			return manifestErrorf("column %q has two roles", c)
		}
		used[c] = true
	}
	return nil
}

// validateFeaturizer checks the featurizer's syntax and its agreement with the rest of the
// manifest. Whether spec_sha256 is the spec's id needs prover/featurize's canonical form,
// which prover/pipeline checks.
func (m *Manifest) validateFeaturizer() error {
	f := m.Featurizer
	if f == nil {
		return nil
	}
	bad := func(format string, a ...any) error {
		return manifestErrorf("featurizer: %s", fmt.Sprintf(format, a...))
	}
	switch {
	case f.Name == "" || f.Version == "":
		return bad("name and version are required")
	case !plainText(f.Name) || !plainText(f.Version):
		return bad("name or version has characters outside printable ASCII")
	case f.Params == nil:
		return bad("params missing")
	case !isLowerHex(f.SpecSHA256, 32):
		return bad("spec_sha256 %q is not 64 lower-case hex characters", f.SpecSHA256)
	case !isLowerHex(f.CorpusDigest, 32):
		return bad("corpus_digest %q is not 64 lower-case hex characters", f.CorpusDigest)
	case f.TextColumn == "":
		return bad("text_column is required")
	case f.LabelColumn != "" && f.LabelColumn != m.Label:
		return bad("label_column %q is not the manifest's label %q", f.LabelColumn, m.Label)
	case f.Rows != m.N:
		return bad("rows %d, the manifest's n is %d", f.Rows, m.N)
	}
	for k, v := range f.Params {
		if !paramName(k) || !plainText(v) {
			return bad("parameter %q: names are [a-z0-9_]+ and values printable ASCII without quotes, backslashes, <, > or &", k)
		}
	}
	for i, l := range f.LabelMap {
		if !plainText(l.From) || !plainText(l.To) || l.From == "" || l.To == "" {
			return bad("label_map %d: from and to are printable ASCII without quotes, backslashes, <, > or &", i)
		}
	}
	if f.LabelMap != nil && len(f.LabelMap) == 0 {
		return bad("label_map is empty")
	}
	if s := f.Split; s != nil {
		switch {
		case s.Column == "":
			return bad("split: column is required")
		case len(s.TestValues) == 0:
			return bad("split: test_values is empty")
		case s.Part != "train" && s.Part != "test":
			return bad("split: part %q, want train or test", s.Part)
		}
	}
	return m.validateCorpus()
}

// validateCorpus checks that the corpus's plain SHA-256 appears exactly when the manifest is
// public, and then that it is what corpus_digest was keyed over.
func (m *Manifest) validateCorpus() error {
	f := m.Featurizer
	if !m.Public {
		if f.CorpusSHA256 != "" {
			return manifestErrorf("featurizer: a private manifest does not carry corpus_sha256")
		}
		return nil
	}
	want, err := CorpusDigest(*m.Salt, f.CorpusSHA256)
	if err != nil {
		return manifestErrorf("featurizer: corpus_sha256: %v", err)
	}
	if want != f.CorpusDigest {
		return manifestErrorf("featurizer: corpus_digest %s is not the keyed digest of corpus_sha256 under the salt (%s)", f.CorpusDigest, want)
	}
	return nil
}

// paramName and plainText are prover/featurize's character rules for a spec, which keep its
// canonical JSON free of escapes.
func paramName(k string) bool {
	for i := 0; i < len(k); i++ {
		if c := k[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return k != ""
}

func plainText(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
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

// ParseManifest decodes and validates a manifest strictly: every key exactly as spelled in
// docs/manifest.md and at most once, no unknown or missing fields, no null, nothing after the
// object. encoding/json alone would match keys case-insensitively and let the last of two
// duplicates win, so two readers could see two different manifests in one file.
func ParseManifest(b []byte) (*Manifest, error) {
	if format, ok := peekFormat(b); ok && format != ManifestFormat {
		return nil, versionError(format)
	}
	if err := checkManifestJSON(b); err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
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
