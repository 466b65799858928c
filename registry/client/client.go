package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/comet-attest/comet/registry/api"
)

// maxResponse bounds what the client reads from one response.
const maxResponse = 64 << 20

// APIError is an error response.
type APIError struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("registry: %d %s: %s", e.Status, e.Code, e.Message)
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	return s
}

// Client talks to one registry.
type Client struct {
	base string
	key  string
	hc   *http.Client
}

// New returns a client of the registry at base (e.g. http://127.0.0.1:8080), sending key
// (may be empty) as its bearer token.
func New(base, key string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("registry URL %q must be http(s)://host[:port]", base)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	return &Client{base: strings.TrimRight(base, "/"), key: key, hc: hc}, nil
}

// Do sends a request with a JSON body (when in is not nil) and decodes a JSON answer into
// out (when not nil). It returns the raw body too, for callers that keep it verbatim.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		var eb api.ErrorBody
		if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" {
			return nil, &APIError{Status: resp.StatusCode, Code: "http", Message: strings.TrimSpace(string(b))}
		}
		return nil, &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message, Field: eb.Error.Field}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return b, nil
}

// IsStatus reports whether err is an API error with this status.
func IsStatus(err error, status int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == status
}

// Register registers a provider; the answer carries its first key.
func (c *Client) Register(ctx context.Context, r api.RegisterRequest) (*api.Registration, error) {
	var out api.Registration
	_, err := c.Do(ctx, http.MethodPost, "/v1/providers", r, &out)
	return &out, err
}

// Submit uploads a submission.
func (c *Client) Submit(ctx context.Context, r api.SubmitRequest) (*api.Submission, error) {
	var out api.Submission
	_, err := c.Do(ctx, http.MethodPost, "/v1/submissions", r, &out)
	return &out, err
}

// Submission reads a submission.
func (c *Client) Submission(ctx context.Context, id string) (*api.Submission, error) {
	var out api.Submission
	_, err := c.Do(ctx, http.MethodGet, "/v1/submissions/"+url.PathEscape(id), nil, &out)
	return &out, err
}

// Lookup reads what the registry knows of a model.
func (c *Client) Lookup(ctx context.Context, modelSHA256 string) (*api.ModelLookup, error) {
	var out api.ModelLookup
	_, err := c.Do(ctx, http.MethodGet, "/v1/models/"+url.PathEscape(modelSHA256), nil, &out)
	return &out, err
}

// Bundle fetches the client bundle of an attestation, verbatim.
func (c *Client) Bundle(ctx context.Context, attestationID string) ([]byte, error) {
	return c.Do(ctx, http.MethodGet, "/v1/attestations/"+url.PathEscape(attestationID)+"/bundle", nil, nil)
}

// Revocation reads the revocation of an attestation; a 404 means none.
func (c *Client) Revocation(ctx context.Context, attestationID string) (*api.Revocation, error) {
	var out api.Revocation
	_, err := c.Do(ctx, http.MethodGet, "/v1/attestations/"+url.PathEscape(attestationID)+"/revocation", nil, &out)
	return &out, err
}

// TrustRootVersion fetches one version of the registry's trust root chain, verbatim; found
// is false when the registry has no such version (yet). Its signature is trustroot.Fetch's.
func (c *Client) TrustRootVersion(ctx context.Context, version int64) (raw []byte, found bool, err error) {
	raw, err = c.Do(ctx, http.MethodGet, "/v1/trustroot/"+strconv.FormatInt(version, 10), nil, nil)
	if IsStatus(err, http.StatusNotFound) {
		return nil, false, nil
	}
	return raw, err == nil, err
}

// TrustRoot fetches the newest version of the registry's trust root, verbatim.
func (c *Client) TrustRoot(ctx context.Context) ([]byte, error) {
	return c.Do(ctx, http.MethodGet, "/v1/trustroot", nil, nil)
}

// Consistency fetches the proof that the tree of size from is a prefix of the tree of size to.
func (c *Client) Consistency(ctx context.Context, from, to uint64) ([][]byte, error) {
	var out api.Consistency
	_, err := c.Do(ctx, http.MethodGet, "/v1/log/consistency?from="+strconv.FormatUint(from, 10)+"&to="+strconv.FormatUint(to, 10), nil, &out)
	return out.Hashes, err
}

// ProviderAction approves, suspends or reinstates a provider (admin).
func (c *Client) ProviderAction(ctx context.Context, id, action, reason string) (*api.Provider, error) {
	var out api.Provider
	var in any
	if reason != "" {
		in = api.ReasonRequest{Reason: reason}
	}
	_, err := c.Do(ctx, http.MethodPost, "/v1/providers/"+url.PathEscape(id)+"/"+action, in, &out)
	return &out, err
}

// Providers lists providers (admin), optionally of one status.
func (c *Client) Providers(ctx context.Context, status string) (*api.List[api.Provider], error) {
	var out api.List[api.Provider]
	q := ""
	if status != "" {
		q = "?status=" + url.QueryEscape(status)
	}
	_, err := c.Do(ctx, http.MethodGet, "/v1/providers"+q, nil, &out)
	return &out, err
}

// IssueKey issues a provider key (admin); the answer carries the secret once.
func (c *Client) IssueKey(ctx context.Context, providerID, label string) (*api.IssuedKey, error) {
	var out api.IssuedKey
	_, err := c.Do(ctx, http.MethodPost, "/v1/providers/"+url.PathEscape(providerID)+"/keys", api.IssueKeyRequest{Label: label}, &out)
	return &out, err
}

// RevokeKey revokes an API key (admin).
func (c *Client) RevokeKey(ctx context.Context, keyID string) error {
	_, err := c.Do(ctx, http.MethodPost, "/v1/api-keys/"+url.PathEscape(keyID)+"/revoke", nil, nil)
	return err
}

// Revoke revokes an attestation with a reason (admin).
func (c *Client) Revoke(ctx context.Context, attestationID, reason string) (*api.Revocation, error) {
	var out api.Revocation
	_, err := c.Do(ctx, http.MethodPost, "/v1/attestations/"+url.PathEscape(attestationID)+"/revoke", api.ReasonRequest{Reason: reason}, &out)
	return &out, err
}

// Jobs lists jobs (admin), optionally in one state.
func (c *Client) Jobs(ctx context.Context, state string) (*api.List[api.Job], error) {
	var out api.List[api.Job]
	q := ""
	if state != "" {
		q = "?state=" + url.QueryEscape(state)
	}
	_, err := c.Do(ctx, http.MethodGet, "/v1/jobs"+q, nil, &out)
	return &out, err
}

// Wait polls a submission until it is logged or rejected, calling progress with each new
// status, and returns the final submission.
func (c *Client) Wait(ctx context.Context, id string, every time.Duration, progress func(*api.Submission)) (*api.Submission, error) {
	last := ""
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s, err := c.Submission(ctx, id)
		if err != nil {
			return nil, err
		}
		if s.Status != last && progress != nil {
			progress(s)
		}
		last = s.Status
		if s.Status == "logged" || s.Status == "rejected" {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return s, fmt.Errorf("waiting for submission %s (%s): %w", id, s.Status, ctx.Err())
		case <-t.C:
		}
	}
}
