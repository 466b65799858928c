// Package strictjson is the one decoder of JSON that comes from outside: request bodies,
// manifests, proof bundles, client bundles, receipts. encoding/json, left to itself, takes the
// last of duplicate keys and matches keys in any letter case, so that {"sha256": a,
// "SHA256": b} decodes as b while a signed or stored copy still shows a; this decoder
// refuses both, unknown keys and trailing data too, and names the key at fault.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// ErrSyntax wraps every refusal, so that callers can tell bad input from their own faults.
var ErrSyntax = errors.New("invalid JSON")

// KeyError is a refusal of one key: duplicated, unknown, or in another letter case. Path is
// where it is, dotted ("items[0].sha256"), for an API to name the field.
type KeyError struct {
	Path string
	msg  string
}

func (e *KeyError) Error() string { return fmt.Sprintf("%v: %s", ErrSyntax, e.msg) }

// Unwrap makes a KeyError an ErrSyntax.
func (e *KeyError) Unwrap() error { return ErrSyntax }

// Unmarshal decodes data into v (a pointer), refusing duplicate keys at any depth, keys that
// are not exactly (letter case included) a field of the struct they land in, and anything
// after the value.
func Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("strictjson: Unmarshal needs a non-nil pointer")
	}
	if err := Check(data, rv.Type().Elem()); err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	return nil
}

// maxDepth is encoding/json's own nesting limit, which the walk must not exceed either.
const maxDepth = 10000

// Check refuses what Unmarshal refuses before decoding: duplicate keys, keys that are not
// exactly a field of type t where t is a struct, and data after the value. It is for
// parsers that decode in parts of their own, to say which part is wrong.
func Check(data []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walk(dec, t, "", 0); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: data after the JSON value", ErrSyntax)
	}
	return nil
}

var (
	rawType         = reflect.TypeFor[json.RawMessage]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// walk reads one value, checking it against t; t is nil where the Go type says nothing
// (an interface, a json.RawMessage or a type with its own UnmarshalJSON), and then only
// duplicates are refused.
func walk(dec *json.Decoder, t reflect.Type, path string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: %s: nested deeper than %d", ErrSyntax, where(path), maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrSyntax, where(path), err)
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t == rawType || t.Kind() == reflect.Interface || reflect.PointerTo(t).Implements(unmarshalerType)) {
		t = nil
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(dec, t, path, depth)
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walk(dec, elem, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
		_, err := dec.Token()
		return err
	}
	return nil
}

func walkObject(dec *json.Decoder, t reflect.Type, path string, depth int) error {
	var fields map[string]reflect.Type
	var elem reflect.Type
	switch {
	case t == nil:
	case t.Kind() == reflect.Struct:
		fields = map[string]reflect.Type{}
		structFields(t, fields)
	case t.Kind() == reflect.Map:
		elem = t.Elem()
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrSyntax, where(path), err)
		}
		key := tok.(string) // the decoder yields only strings as object keys
		at := path + "." + key
		if path == "" {
			at = key
		}
		if seen[key] {
			return &KeyError{Path: at, msg: fmt.Sprintf("key %q appears twice in %s", key, where(path))}
		}
		seen[key] = true
		next := elem
		if fields != nil {
			ft, ok := fields[key]
			if !ok {
				if name := foldMatch(fields, key); name != "" {
					return &KeyError{Path: at, msg: fmt.Sprintf("key %q: the field is %q (keys are case-sensitive)", at, name)}
				}
				return &KeyError{Path: at, msg: fmt.Sprintf("unknown key %q", at)}
			}
			next = ft
		}
		if err := walk(dec, next, at, depth+1); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

// structFields lists t's JSON keys as encoding/json names them, embedded structs flattened.
func structFields(t reflect.Type, out map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				structFields(ft, out)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
}

func foldMatch(fields map[string]reflect.Type, key string) string {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return name
		}
	}
	return ""
}

func where(path string) string {
	if path == "" {
		return "the top-level object"
	}
	return path
}
