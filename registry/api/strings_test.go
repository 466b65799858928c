package api_test

import (
	"net/http"
	"net/url"
	"testing"
)

// Strings no database should get — NUL, invalid UTF-8, control characters, bidirectional
// overrides — and JSON that encoding/json would read loosely are refused at the edge with a
// 400 naming the field, on both stores, authenticated or not (PostgreSQL answered 500).
func TestHostileStrings(t *testing.T) {
	for _, db := range []dbKind{sqliteDB, postgresDB} {
		t.Run(string(db), func(t *testing.T) {
			r := newRegistry(t, db, loadContract(t), nil)
			admin := r.reg.AdminKey
			for _, tc := range []struct {
				name, method, path, key, body, field string
			}{
				{"NUL in a JSON field", "POST", "/v1/providers", "", `{"id":"nul-co","display_name":"a\u0000b","contact":"x@example.org"}`, "display_name"},
				{"control character in a JSON field", "POST", "/v1/providers", "", `{"id":"ctl-co","display_name":"a\u001bb","contact":"x@example.org"}`, "display_name"},
				{"bidi override in a JSON field", "POST", "/v1/providers", "", `{"id":"bidi-co","display_name":"a\u202eb","contact":"x@example.org"}`, "display_name"},
				{"invalid UTF-8 in the body", "POST", "/v1/providers", "", "{\"id\":\"utf-co\",\"display_name\":\"a\xffb\",\"contact\":\"x@example.org\"}", ""},
				{"duplicate key", "POST", "/v1/providers", "", `{"id":"dup-co","id":"other-co","display_name":"a","contact":"x@example.org"}`, "id"},
				{"case-variant key", "POST", "/v1/providers", "", `{"ID":"case-co","display_name":"a","contact":"x@example.org"}`, "ID"},
				{"NUL in a reason", "POST", "/v1/providers/nobody/suspend", admin, `{"reason":"a\u0000"}`, "reason"},
				{"NUL in a path id", "GET", "/v1/providers/a%00b", admin, "", "id"},
				{"invalid UTF-8 in a path id", "GET", "/v1/submissions/a%FFb", admin, "", "id"},
				{"NUL in a query", "GET", "/v1/submissions?provider=" + url.QueryEscape("a\x00"), admin, "", "provider"},
				{"invalid UTF-8 in a query", "GET", "/v1/audit?subject=%FF", admin, "", "subject"},
				{"NUL in a cursor", "GET", "/v1/providers?cursor=%00", admin, "", "cursor"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					var body []byte
					if tc.body != "" {
						body = []byte(tc.body)
					}
					status, e := send(t, r, tc.method, tc.path, tc.key, body)
					if status != http.StatusBadRequest || e.Field != tc.field {
						t.Errorf("%s %s: %d %+v, want 400 naming %q", tc.method, tc.path, status, e, tc.field)
					}
				})
			}
		})
	}
}
