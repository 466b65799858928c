// Package jsontype says in JSON's words what a decoder expected, for error messages that
// readers of a JSON document can act on: "must be a number, not string" rather than
// encoding/json's "cannot unmarshal string into Go struct field Header.n of type int".
package jsontype

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// Name is the JSON kind of value that decodes into t, with its article: "a string", "a
// number", "an object", "an array", "true or false".
func Name(t reflect.Type) string {
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "a string" // digests, decimal integers, proofs: their JSON form is a string
	}
	switch t.Kind() {
	case reflect.Pointer:
		return Name(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a JSON value"
}

// Describe rewrites a decoder's *json.UnmarshalTypeError in JSON's words, naming the member
// by its path below prefix (prefix alone when the error is about the value itself), and
// reports whether err was one.
func Describe(err error, prefix string) (string, bool) {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return "", false
	}
	path := strings.Trim(prefix+"."+te.Field, ".")
	if path == "" {
		return fmt.Sprintf("must be %s, not %s", Name(te.Type), article(te.Value)), true
	}
	return fmt.Sprintf("%s must be %s, not %s", path, Name(te.Type), article(te.Value)), true
}

// article puts "a" or "an" before the kind encoding/json names (string, number, object,
// array, bool, or a number with its literal such as "number 1.5").
func article(kind string) string {
	switch {
	case kind == "bool":
		return "a boolean"
	case strings.HasPrefix(kind, "a") || strings.HasPrefix(kind, "o"):
		return "an " + kind
	}
	return "a " + kind
}
