package model

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/comet-attest/comet/internal/atomicfile"
)

// maxFileBytes bounds a model file; one with a few thousand features is well below it.
const maxFileBytes = 64 << 20

// topLevel and metricsKeys are the exact key sets of a v2 file: every key is required
// (intercept and intercept_fixed as null without an intercept) and no other is allowed,
// because the file is the canonical encoding of exactly these fields.
var (
	topLevel = []string{
		"dataset_commitment", "features", "fit_intercept", "format", "fraction_bits", "intercept",
		"intercept_fixed", "kind", "label", "lambda", "lambda_fixed", "metrics", "optimality_residual",
		"value_bits", "weights", "weights_fixed",
	}
	metricsKeys = []string{"n", "r2", "residual_sd", "rmse", "ssr", "sum_y", "sum_y2"}
)

// Marshal returns the model file: the canonical encoding and a final newline, the bytes
// whose SHA-256 is SHA256. It refuses a model that does not verify, so a written file
// always loads.
func (m *Model) Marshal() ([]byte, error) {
	if err := m.Verify(); err != nil {
		return nil, err
	}
	return m.file()
}

// Unmarshal parses a model file strictly (exact key set, no duplicate keys, no trailing
// data), validates it, requires its bytes to be exactly the canonical encoding and a final
// newline, and sets SHA256 to the SHA-256 of data.
func Unmarshal(data []byte) (*Model, error) {
	m, want, err := Canonicalize(data)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(data, want) {
		return nil, notCanonical(data, want)
	}
	return m, nil
}

// Canonicalize reads a model that travelled as a JSON value inside another document (an API
// request, whose encoder may re-space it or escape "<" as \u003c) and returns the model and
// its file: the canonical bytes whose SHA-256 is its identity. The same strict key rules as
// Unmarshal apply; only the spelling of the values may differ from the file's. The model's
// SHA256 is set to the digest of the canonical file.
func Canonicalize(data []byte) (*Model, []byte, error) {
	if err := checkVersion(data); err != nil {
		return nil, nil, err
	}
	if err := checkKeys(data, "", topLevel); err != nil {
		return nil, nil, err
	}
	var raw struct {
		Metrics json.RawMessage `json:"metrics"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	if err := checkKeys(raw.Metrics, "metrics.", metricsKeys); err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Model
	if err := dec.Decode(&m); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	if err := m.validate(); err != nil {
		return nil, nil, err
	}
	file, err := m.file()
	if err != nil {
		return nil, nil, err
	}
	m.SHA256 = hashHex(file)
	return &m, file, nil
}

// checkVersion refuses a file of another format version before its keys are checked, so
// that a v1 file (which has a sha256 key) is reported as the old version it is rather
// than as having an unknown key.
func checkVersion(data []byte) error {
	var probe map[string]json.RawMessage
	if json.Unmarshal(data, &probe) != nil {
		return nil // checkKeys reports the syntax error
	}
	var format string
	if raw, ok := probe["format"]; ok && json.Unmarshal(raw, &format) == nil && format != Version {
		return versionError(format)
	}
	return nil
}

// notCanonical says where data first departs from the canonical file want, so that whoever
// edited it (re-indented it, re-spelled a number) sees what to undo.
func notCanonical(data, want []byte) error {
	i := 0
	for i < len(data) && i < len(want) && data[i] == want[i] {
		i++
	}
	excerpt := func(b []byte) string {
		return strconv.Quote(string(b[i:min(i+16, len(b))]))
	}
	return fmt.Errorf("%w: from byte %d the file has %s where the canonical encoding of its values has %s "+
		"(%d bytes against %d); a model file must be exactly the compact canonical JSON and one newline that "+
		"this build writes, so do not re-indent or re-format it: re-write it with model.Marshal (comet train writes it so)",
		ErrNotCanonical, i, excerpt(data), excerpt(want), len(data), len(want))
}

// checkKeys requires data to be one JSON object whose keys are exactly want, each once.
func checkKeys(data []byte, prefix string, want []string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("%w: %sobject expected", ErrSyntax, prefix)
	}
	seen := make(map[string]bool, len(want))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrSyntax, err)
		}
		key, ok := tok.(string)
		switch {
		case !ok:
			return fmt.Errorf("%w: %sobject key expected", ErrSyntax, prefix)
		case seen[key]:
			return fmt.Errorf("%w: key %s%q appears twice", ErrSyntax, prefix, key)
		case !slices.Contains(want, key):
			return fmt.Errorf("%w: unknown key %s%q", ErrInvalid, prefix, key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("%w: %s%s: %w", ErrSyntax, prefix, key, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: data after the %sobject", ErrSyntax, prefix)
	}
	var missing []string
	for _, k := range want {
		if !seen[k] {
			missing = append(missing, prefix+k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s", ErrInvalid, strings.Join(missing, ", "))
	}
	return nil
}

// Load reads and verifies the model file at path.
func Load(ctx context.Context, path string) (*Model, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading model: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading model %s: %w", path, err)
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrSyntax, path, maxFileBytes)
	}
	m, err := Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	return m, nil
}

// Save writes the model to path atomically (a temporary file in the same directory, then
// a rename), so that a reader never sees half a model.
func Save(ctx context.Context, path string, m *Model) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil { // the model is public
		return fmt.Errorf("writing model: %w", err)
	}
	return nil
}
