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
	"strings"

	"github.com/comet-attest/comet/internal/atomicfile"
)

// maxFileBytes bounds a model file; one with a few thousand features is well below it.
const maxFileBytes = 64 << 20

// topLevel and metricsKeys are the exact key sets of a v1 file: every key is required
// (intercept and intercept_fixed as null without an intercept) and no other is allowed,
// because a key the hash does not cover must not ride along.
var (
	topLevel = []string{
		"dataset_commitment", "features", "fit_intercept", "format", "fraction_bits", "intercept",
		"intercept_fixed", "kind", "label", "lambda", "lambda_fixed", "metrics", "optimality_residual",
		"sha256", "value_bits", "weights", "weights_fixed",
	}
	metricsKeys = []string{"n", "r2", "residual_sd", "rmse"}
)

// Marshal returns the model file: indented JSON of every field, sha256 included. It
// refuses a model that does not verify, so a written file always loads.
func (m *Model) Marshal() ([]byte, error) {
	if err := m.Verify(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // names such as "party<d>" stay readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encoding model: %w", err)
	}
	return b.Bytes(), nil
}

// Unmarshal parses a model file strictly (exact key set, no duplicate keys, no trailing
// data) and verifies it, hash included.
func Unmarshal(data []byte) (*Model, error) {
	if err := checkKeys(data, "", topLevel); err != nil {
		return nil, err
	}
	var raw struct {
		Metrics json.RawMessage `json:"metrics"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	if err := checkKeys(raw.Metrics, "metrics.", metricsKeys); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Model
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	if err := m.Verify(); err != nil {
		return nil, err
	}
	return &m, nil
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
