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
//
// A run with a label map records it; a split run records its split, with both outputs,
// instead of output. Both fields are optional so that a record of a plain run is what it
// always was, and a build that predates them refuses a record that has them (unknown field)
// rather than misreading it.
type Record struct {
	Format       string   `json:"format"`
	Featurizer   Spec     `json:"featurizer"`
	FeaturizerID string   `json:"featurizer_id"`
	Input        FileRef  `json:"input"`
	TextColumn   string   `json:"text_column"`
	LabelColumn  string   `json:"label_column,omitempty"`
	LabelMap     LabelMap `json:"label_map,omitempty"`
	Keep         []string `json:"keep"`
	// Rows is the number of rows read; a split run wrote Split.Train.Rows + Split.Test.Rows
	// of them.
	Rows     int      `json:"rows"`
	Features []string `json:"features"`
	// Output is the features CSV of a run without a split; zero for a split run.
	Output FileRef `json:"output,omitzero"`
	Split  *Split  `json:"split,omitempty"`
}

// Split records a SplitCSV run: the split column, its test values and both outputs.
type Split struct {
	Column     string   `json:"column"`
	TestValues []string `json:"test_values"`
	Train      Part     `json:"train"`
	Test       Part     `json:"test"`
}

// Part is one output of a split run.
type Part struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Rows   int    `json:"rows"`
}

// The names of a split run's parts, as Output.Part and the manifest state them.
const (
	PartTrain = "train"
	PartTest  = "test"
)

// Output is one features file a run wrote; Part is empty for a run without a split.
type Output struct {
	Part   string
	File   string
	SHA256 string
	Rows   int
}

// Outputs lists the features files the record vouches for.
func (r *Record) Outputs() []Output {
	if s := r.Split; s != nil {
		return []Output{
			{Part: PartTrain, File: s.Train.File, SHA256: s.Train.SHA256, Rows: s.Train.Rows},
			{Part: PartTest, File: s.Test.File, SHA256: s.Test.SHA256, Rows: s.Test.Rows},
		}
	}
	return []Output{{File: r.Output.File, SHA256: r.Output.SHA256, Rows: r.Rows}}
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
	r, err := f.newRecord(input, opts, res)
	if err != nil {
		return nil, err
	}
	r.Output = output
	return r, r.Validate()
}

// NewSplitRecord records a finished SplitCSV of input into train and test by f.
func (f *Featurizer) NewSplitRecord(input, train, test FileRef, opts CSVOptions, res CSVResult) (*Record, error) {
	r, err := f.newRecord(input, opts, res)
	if err != nil {
		return nil, err
	}
	r.Split = &Split{
		Column: opts.SplitBy, TestValues: slices.Clone(opts.Test),
		Train: Part{File: train.File, SHA256: train.SHA256, Rows: res.TrainRows},
		Test:  Part{File: test.File, SHA256: test.SHA256, Rows: res.TestRows},
	}
	return r, r.Validate()
}

func (f *Featurizer) newRecord(input FileRef, opts CSVOptions, res CSVResult) (*Record, error) {
	id, err := f.spec.ID()
	if err != nil {
		return nil, err
	}
	r := &Record{
		Format: RecordFormat, Featurizer: f.Spec(), FeaturizerID: id, Input: input,
		TextColumn: opts.Text, LabelColumn: opts.Label, LabelMap: slices.Clone(opts.LabelMap),
		Keep: slices.Clone(opts.Keep), Rows: res.Rows, Features: f.Names(),
	}
	if r.Keep == nil {
		r.Keep = []string{}
	}
	return r, nil
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
	case !isSHA256Hex(r.Input.SHA256):
		return bad("input sha256 must be 64 lower-case hex digits")
	case r.TextColumn == "":
		return bad("no text column")
	case r.Rows < 1:
		return bad("rows %d", r.Rows)
	case len(r.Features) == 0:
		return bad("no features")
	case r.LabelMap != nil && r.LabelColumn == "":
		return bad("a label map without a label column")
	}
	if r.LabelMap != nil {
		if err := r.LabelMap.Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrRecord, err)
		}
	}
	if err := r.validateOutputs(); err != nil {
		return err
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

// validateOutputs checks that the record has either one output or a split with two, whose
// rows add up to the rows read and whose digests differ: commit tells the parts apart by
// digest.
func (r *Record) validateOutputs() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrRecord, fmt.Sprintf(format, a...))
	}
	s := r.Split
	if s == nil {
		if !isSHA256Hex(r.Output.SHA256) {
			return bad("output sha256 must be 64 lower-case hex digits")
		}
		return nil
	}
	switch {
	case r.Output != FileRef{}:
		return bad("a split record has no output, only split.train and split.test")
	case s.Column == "":
		return bad("split: no column")
	case !isSHA256Hex(s.Train.SHA256) || !isSHA256Hex(s.Test.SHA256):
		return bad("split: train and test sha256 must be 64 lower-case hex digits")
	case s.Train.SHA256 == s.Test.SHA256:
		return bad("split: train and test are the same file")
	case s.Train.Rows < 1 || s.Test.Rows < 1 || s.Train.Rows+s.Test.Rows != r.Rows:
		return bad("split: train rows %d and test rows %d must be positive and add up to rows %d", s.Train.Rows, s.Test.Rows, r.Rows)
	}
	if err := checkTestValues(s.TestValues); err != nil {
		return fmt.Errorf("%w: %w", ErrRecord, err)
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
