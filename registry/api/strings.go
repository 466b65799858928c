package api

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/comet-attest/comet/registry/wire"
)

// badString says what is wrong with a string from a request, or "" when nothing is: it must
// be valid UTF-8 without NUL (PostgreSQL refuses both, and SQLite would store what no client
// can read back), without other control characters but tab and newline, and without the
// bidirectional overrides that make a name read differently from what it is.
func badString(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for _, r := range s {
		switch {
		case r == 0:
			return "contains a NUL character"
		case r == '\t' || r == '\n':
		case unicode.IsControl(r):
			return fmt.Sprintf("contains the control character %U", r)
		case (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069):
			return fmt.Sprintf("contains the bidirectional override %U", r)
		}
	}
	return ""
}

// checkRequestStrings refuses, before any handler runs, a path parameter or query value that
// badString refuses, naming it.
func (a *API) checkRequestStrings(c *gin.Context) {
	for _, p := range c.Params {
		if msg := badString(p.Value); msg != "" {
			abort(c, http.StatusBadRequest, wire.CodeBadRequest, p.Key, p.Key+" "+msg)
			return
		}
	}
	for key, values := range c.Request.URL.Query() {
		for _, v := range append(values, key) {
			if msg := badString(v); msg != "" {
				abort(c, http.StatusBadRequest, wire.CodeBadRequest, key, "query parameter "+strings.ToValidUTF8(key, "?")+" "+msg)
				return
			}
		}
	}
}

// checkBodyStrings walks a decoded request and names the first string field (by its JSON
// path) that badString refuses.
func checkBodyStrings(v reflect.Value, path string) (field, msg string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return checkBodyStrings(v.Elem(), path)
		}
	case reflect.String:
		if m := badString(v.String()); m != "" {
			return path, m
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			if path != "" {
				name = path + "." + name
			}
			if field, msg := checkBodyStrings(v.Field(i), name); field != "" {
				return field, msg
			}
		}
	}
	return "", ""
}
