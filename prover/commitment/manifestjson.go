package commitment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// keySet is the keys one object of a manifest holds: every required one, and the optional
// ones that a manifest has only in some cases (a public dataset, a featurizer).
type keySet struct{ required, optional []string }

func (k keySet) has(key string) bool {
	return slices.Contains(k.required, key) || slices.Contains(k.optional, key)
}

// manifestObjects is the key set of each object of a manifest, by its path (docs/manifest.md).
// Objects not listed, featurizer.params, may hold any key, but none of them twice.
var manifestObjects = map[string]keySet{
	"": {
		required: []string{"format", "file", "public", "file_digest", "columns", "features", "label",
			"n", "d", "fraction_bits", "value_bits", "chunk_rows", "hash", "chunks", "commitment"},
		optional: []string{"sha256", "salt", "featurizer"},
	},
	"featurizer": {
		required: []string{"name", "version", "params", "spec_sha256", "corpus_digest", "text_column", "rows"},
		optional: []string{"corpus_sha256", "label_column", "split", "label_map"},
	},
	"featurizer.split":       {required: []string{"column", "test_values", "part"}},
	"featurizer.label_map[]": {required: []string{"from", "to"}},
}

// maxManifestDepth bounds nesting: a manifest is four levels deep
// (featurizer.split.test_values[]), and the bound stops a hostile file from making the walk
// recurse without end.
const maxManifestDepth = 4

// peekFormat reads the format field loosely, so that a manifest of another version is
// refused for its version rather than for keys that version may have added.
func peekFormat(b []byte) (string, bool) {
	var head struct {
		Format string `json:"format"`
	}
	if json.Unmarshal(b, &head) != nil || head.Format == "" {
		return "", false
	}
	return head.Format, true
}

// checkManifestJSON walks the tokens of b and refuses what encoding/json would let through
// silently: a key twice in one object, a key that is not exactly one of the object's names
// (json matches names case-insensitively), a missing key, null anywhere, and data after the
// object. Types are left to json.Unmarshal and values to Validate.
func checkManifestJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // a huge number is then a type error in Unmarshal, not a float overflow here
	if err := walkValue(dec, "", 0); err != nil {
		return fmt.Errorf("%w: %w", ErrManifest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return manifestErrorf("data after the JSON object")
	}
	return nil
}

func walkValue(dec *json.Decoder, path string, depth int) error {
	if depth > maxManifestDepth {
		return fmt.Errorf("%s: nested too deeply", describe(path))
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	_, schema := manifestObjects[path]
	switch {
	case tok == json.Delim('{'):
		return walkObject(dec, path, depth)
	case schema:
		return fmt.Errorf("%s: object expected", describe(path))
	case tok == nil:
		return fmt.Errorf("%s: null is not a value of a manifest", describe(path))
	case tok == json.Delim('['):
		for dec.More() {
			if err := walkValue(dec, path+"[]", depth+1); err != nil {
				return err
			}
		}
		_, err := dec.Token()
		return err
	}
	return nil
}

func walkObject(dec *json.Decoder, path string, depth int) error {
	set, schema := manifestObjects[path]
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("%s: object key expected", describe(path))
		}
		child := key
		if path != "" {
			child = path + "." + key
		}
		switch {
		case seen[key]:
			return fmt.Errorf("key %q appears twice", child)
		case schema && !set.has(key):
			return unknownKey(child, key, set)
		}
		seen[key] = true
		if err := walkValue(dec, child, depth+1); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	var missing []string
	for _, k := range set.required {
		if !seen[k] {
			missing = append(missing, fmt.Sprintf("%q", k))
		}
	}
	switch {
	case len(missing) > 0 && path == "":
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	case len(missing) > 0:
		return fmt.Errorf("%s: missing %s", describe(path), strings.Join(missing, ", "))
	}
	return nil
}

// unknownKey names the key and, when it differs from a known one only in case, that one.
func unknownKey(child, key string, set keySet) error {
	for _, k := range slices.Concat(set.required, set.optional) {
		if strings.EqualFold(k, key) {
			return fmt.Errorf("unknown key %q (keys are case-sensitive: %q)", child, k)
		}
	}
	return fmt.Errorf("unknown key %q", child)
}

func describe(path string) string {
	if path == "" {
		return "top level"
	}
	return fmt.Sprintf("%q", path)
}
