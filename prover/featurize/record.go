package featurize

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/comet-attest/comet/internal/strictjson"
)

// RecordFormat names this version of the featurization record.
const RecordFormat = "comet.featurize/v1"

// ErrRecord means a featurization record is malformed or inconsistent.
var ErrRecord = errors.New("invalid featurization record")

// Record is the account of one featurization run, written beside the features CSV
// (docs/featurize.md): which featurizer turned which corpus into which feature file. It holds
// digests and names, no text, but its digests are the plain SHA-256 of the corpus and of the
// features, so it stays private; prover/pipeline puts its public part, with the corpus digest
// keyed from the dataset's salt, into the manifest.
type Record struct {
	Format       string   `json:"format"`
	Featurizer   Spec     `json:"featurizer"`
	FeaturizerID string   `json:"featurizer_id"`
	Input        FileRef  `json:"input"`
	TextColumn   string   `json:"text_column"`
	LabelColumn  string   `json:"label_column,omitempty"`
	Keep         []string `json:"keep"`
	Rows         int      `json:"rows"`
	Features     []string `json:"features"`
	Output       FileRef  `json:"output"`
}

// FileRef names a file and pins its bytes.
type FileRef struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// NewRecord records a finished TransformCSV of input into output by f.
func (f *Featurizer) NewRecord(input, output FileRef, opts CSVOptions, res CSVResult) (*Record, error) {
	id, err := f.spec.ID()
	if err != nil {
		return nil, err
	}
	r := &Record{
		Format: RecordFormat, Featurizer: f.Spec(), FeaturizerID: id, Input: input,
		TextColumn: opts.Text, LabelColumn: opts.Label, Keep: slices.Clone(opts.Keep),
		Rows: res.Rows, Features: f.Names(), Output: output,
	}
	if r.Keep == nil {
		r.Keep = []string{}
	}
	return r, r.Validate()
}

// Validate checks the record's form and that featurizer_id is the spec's id. It does not
// ask whether this build implements the spec: FromSpec(r.Featurizer) does, for those who
// want to featurize again.
func (r *Record) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrRecord, fmt.Sprintf(format, a...))
	}
	switch {
	case r.Format != RecordFormat:
		return bad("format %q, want %q", r.Format, RecordFormat)
	case !isSHA256Hex(r.Input.SHA256) || !isSHA256Hex(r.Output.SHA256):
		return bad("input and output sha256 must be 64 lower-case hex digits")
	case r.TextColumn == "":
		return bad("no text column")
	case r.Rows < 1:
		return bad("rows %d", r.Rows)
	case len(r.Features) == 0:
		return bad("no features")
	}
	id, err := r.Featurizer.ID()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRecord, err)
	}
	if id != r.FeaturizerID {
		return bad("featurizer_id %s is not the SHA-256 of the spec (%s)", r.FeaturizerID, id)
	}
	return nil
}

// Marshal renders the record as indented JSON with a final newline.
func (r *Record) Marshal() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseRecord reads and validates a record, refusing unknown fields.
func ParseRecord(b []byte) (*Record, error) {
	var r Record
	if err := strictjson.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecord, err)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// LoadRecord reads and validates the record at path.
func LoadRecord(path string) (*Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("featurization record: %w", err)
	}
	r, err := ParseRecord(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}
