package strictjson

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

type inner struct {
	SHA256 string `json:"sha256"`
}

type doc struct {
	ID      string            `json:"id"`
	Items   []inner           `json:"items"`
	Labels  map[string]string `json:"labels"`
	Raw     json.RawMessage   `json:"raw"`
	Nested  *inner            `json:"nested,omitempty"`
	skipped int
}

func TestUnmarshal(t *testing.T) {
	for _, tc := range []struct {
		name, in, err string
	}{
		{"valid", `{"id":"a","items":[{"sha256":"x"}],"labels":{"k":"v"},"raw":{"any":1},"nested":{"sha256":"y"}}`, ""},
		{"duplicate top-level key", `{"id":"a","id":"b"}`, `key "id" appears twice in the top-level object`},
		{"duplicate key in an array element", `{"items":[{"sha256":"x","sha256":"y"}]}`, `key "sha256" appears twice in items[0]`},
		{"duplicate map key", `{"labels":{"k":"1","k":"2"}}`, `key "k" appears twice in labels`},
		{"duplicate key inside a raw value", `{"raw":{"a":1,"a":2}}`, `key "a" appears twice in raw`},
		{"case variant", `{"ID":"a"}`, `key "ID": the field is "id"`},
		{"nested case variant", `{"nested":{"SHA256":"y"}}`, `key "nested.SHA256": the field is "sha256"`},
		{"unknown key", `{"id":"a","extra":1}`, `unknown key "extra"`},
		{"trailing data", `{"id":"a"} {}`, "data after the JSON value"},
		{"wrong type", `{"id":1}`, "cannot unmarshal"},
		{"broken", `{"id":`, "invalid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			err := Unmarshal([]byte(tc.in), &d)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.err != "" && (err == nil || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("got %v, want an ErrSyntax containing %q", err, tc.err)
			}
		})
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(`{"id":"a","items":[{"sha256":"x"}],"labels":{"k":"v"},"raw":[1,{"b":2}]}`))
	f.Add([]byte(`{"id":"a","id":"b"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d doc
		if Unmarshal(data, &d) != nil {
			return
		}
		// What it accepts, encoding/json accepts identically.
		var plain doc
		if err := json.Unmarshal(data, &plain); err != nil {
			t.Fatalf("accepted what encoding/json refuses: %v", err)
		}
	})
}
