package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// The API and the pages share one address: the API's paths and probes go to the API
// verbatim, ".." included, so that it refuses them itself; everything else to the pages.
func TestOneAddress(t *testing.T) {
	tag := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(name + " " + r.URL.Path)) })
	}
	h := oneAddress(tag("api"), tag("site"))
	for path, want := range map[string]string{
		"/v1/models/ab":                     "api /v1/models/ab",
		"/v1/log/tile/../keys/registry.key": "api /v1/log/tile/../keys/registry.key",
		"/healthz":                          "api /healthz",
		"/metrics":                          "api /metrics",
		"/":                                 "site /",
		"/models/ab":                        "site /models/ab",
		"/v1":                               "site /v1",
		"/healthzz":                         "site /healthzz",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, &http.Request{Method: http.MethodGet, URL: &url.URL{Path: path}})
		if got := rec.Body.String(); got != want {
			t.Errorf("%s went to %q, want %q", path, got, want)
		}
	}
}
