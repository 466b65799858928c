package client

import (
	"errors"
	"net/http"
	"testing"
)

// The client's end-to-end behaviour is tested against a real registry in registry/api; these
// are the parts that need no server.

func TestAPIErrorSentinels(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   error
	}{
		{http.StatusBadRequest, ErrBadRequest},
		{http.StatusUnauthorized, ErrUnauthorized},
		{http.StatusForbidden, ErrForbidden},
		{http.StatusNotFound, ErrNotFound},
		{http.StatusConflict, ErrConflict},
		{http.StatusRequestEntityTooLarge, ErrTooLarge},
		{http.StatusUnprocessableEntity, ErrInvalid},
		{http.StatusTooManyRequests, ErrRateLimited},
		{http.StatusInternalServerError, ErrUnavailable},
		{http.StatusServiceUnavailable, ErrUnavailable},
		{http.StatusTeapot, ErrUnexpected},
	} {
		var err error = &APIError{Status: tc.status, Code: "x", Message: "m"}
		if !errors.Is(err, tc.want) {
			t.Errorf("status %d: %v does not wrap %v", tc.status, err, tc.want)
		}
		if tc.want != ErrNotFound && errors.Is(err, ErrNotFound) {
			t.Errorf("status %d wraps ErrNotFound", tc.status)
		}
	}
}

func TestPageQuery(t *testing.T) {
	for _, tc := range []struct {
		page    Page
		filters []string
		want    string
	}{
		{Page{}, nil, "/v1/jobs"},
		{Page{}, []string{"state", ""}, "/v1/jobs"},
		{Page{Limit: 5}, []string{"state", "running"}, "/v1/jobs?limit=5&state=running"},
		{Page{Cursor: "a b&c"}, []string{"state", "x"}, "/v1/jobs?cursor=a+b%26c&state=x"},
	} {
		if got := tc.page.query("/v1/jobs", tc.filters...); got != tc.want {
			t.Errorf("%+v %v: got %s, want %s", tc.page, tc.filters, got, tc.want)
		}
	}
}

func TestNewRefusesOtherURLs(t *testing.T) {
	for _, base := range []string{"", "127.0.0.1:8080", "ftp://host", "http://"} {
		if _, err := New(base, "", nil); err == nil {
			t.Errorf("New(%q) accepted", base)
		}
	}
	if _, err := New("http://127.0.0.1:8080/", "", nil); err != nil {
		t.Error(err)
	}
}
