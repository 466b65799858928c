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

	"github.com/comet-attest/comet/registry/wire"
)

// maxResponse bounds what the client reads from one response it holds in memory; key files,
// which may be larger, are streamed (CircuitFile).
const maxResponse = 64 << 20

// Sentinel errors: an *APIError wraps the one its status stands for, so callers branch with
// errors.Is and never on status numbers.
var (
	ErrBadRequest   = errors.New("bad request")            // 400: malformed request
	ErrUnauthorized = errors.New("unauthorized")           // 401: no, unknown or revoked key
	ErrForbidden    = errors.New("forbidden")              // 403: the key's role may not do this
	ErrNotFound     = errors.New("not found")              // 404
	ErrConflict     = errors.New("conflict")               // 409: e.g. already revoked, already registered
	ErrTooLarge     = errors.New("request too large")      // 413
	ErrInvalid      = errors.New("invalid")                // 422: well-formed but refused by the registry's rules
	ErrRateLimited  = errors.New("rate limited")           // 429
	ErrUnavailable  = errors.New("registry unavailable")   // 5xx
	ErrUnexpected   = errors.New("unexpected HTTP status") // any other status of 400 or more
)

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

// Unwrap returns the sentinel of the error's status.
func (e *APIError) Unwrap() error {
	switch {
	case e.Status == http.StatusBadRequest:
		return ErrBadRequest
	case e.Status == http.StatusUnauthorized:
		return ErrUnauthorized
	case e.Status == http.StatusForbidden:
		return ErrForbidden
	case e.Status == http.StatusNotFound:
		return ErrNotFound
	case e.Status == http.StatusConflict:
		return ErrConflict
	case e.Status == http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	case e.Status == http.StatusUnprocessableEntity:
		return ErrInvalid
	case e.Status == http.StatusTooManyRequests:
		return ErrRateLimited
	case e.Status >= 500:
		return ErrUnavailable
	}
	return ErrUnexpected
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

// send makes one request with a JSON body (when in is not nil) and returns the response of
// a success; an error response becomes an *APIError.
func (c *Client) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
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
	if resp.StatusCode < 400 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %d: %w", method, path, resp.StatusCode, err)
	}
	var eb wire.ErrorBody
	if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" {
		return nil, &APIError{Status: resp.StatusCode, Code: "http", Message: strings.TrimSpace(string(b))}
	}
	return nil, &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message, Field: eb.Error.Field}
}

// do sends a request and decodes a JSON answer into out (when not nil). It returns the raw
// body too, for the documents that callers keep verbatim (bundles, manifests, proofs).
func (c *Client) do(ctx context.Context, method, path string, in, out any) ([]byte, error) {
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return b, nil
}

// get fetches a JSON resource into a new T.
func get[T any](ctx context.Context, c *Client, path string) (*T, error) {
	var out T
	if _, err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// post sends in and decodes the answer into a new T.
func post[T any](ctx context.Context, c *Client, path string, in any) (*T, error) {
	var out T
	if _, err := c.do(ctx, http.MethodPost, path, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// raw fetches a document verbatim.
func (c *Client) raw(ctx context.Context, path string) ([]byte, error) {
	return c.do(ctx, http.MethodGet, path, nil, nil)
}

// Page selects one page of a list: from Cursor (a previous page's NextCursor; empty for the
// first), at most Limit items (0 for the registry's default).
type Page struct {
	Cursor string
	Limit  int
}

// query is the list's path with the page and the non-empty filters as its query.
func (p Page) query(path string, filters ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(filters); i += 2 {
		if filters[i+1] != "" {
			q.Set(filters[i], filters[i+1])
		}
	}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

func esc(s string) string { return url.PathEscape(s) }

// Register registers a provider; the answer carries its first key.
func (c *Client) Register(ctx context.Context, r wire.RegisterRequest) (*wire.Registration, error) {
	return post[wire.Registration](ctx, c, "/v1/providers", r)
}

// Submit uploads a submission.
func (c *Client) Submit(ctx context.Context, r wire.SubmitRequest) (*wire.Submission, error) {
	return post[wire.Submission](ctx, c, "/v1/submissions", r)
}

// Submission reads a submission (the provider's own, or any for an admin).
func (c *Client) Submission(ctx context.Context, id string) (*wire.Submission, error) {
	return get[wire.Submission](ctx, c, "/v1/submissions/"+esc(id))
}

// Submissions lists submissions: a provider's own, or (admin) any provider's; status and
// provider filter when not empty.
func (c *Client) Submissions(ctx context.Context, status, provider string, p Page) (*wire.List[wire.Submission], error) {
	return get[wire.List[wire.Submission]](ctx, c, p.query("/v1/submissions", "status", status, "provider", provider))
}

// Lookup reads what the registry knows of a model; ErrNotFound when it knows none.
func (c *Client) Lookup(ctx context.Context, modelSHA256 string) (*wire.ModelLookup, error) {
	return get[wire.ModelLookup](ctx, c, "/v1/models/"+esc(modelSHA256))
}

// ModelFile fetches a registered model file, verbatim.
func (c *Client) ModelFile(ctx context.Context, modelSHA256 string) ([]byte, error) {
	return c.raw(ctx, "/v1/models/"+esc(modelSHA256)+"/file")
}

// Proof fetches the proof bundle of a model's latest submission, verbatim.
func (c *Client) Proof(ctx context.Context, modelSHA256 string) ([]byte, error) {
	return c.raw(ctx, "/v1/models/"+esc(modelSHA256)+"/proof")
}

// Manifest fetches the public manifest of a model's latest submission, verbatim.
func (c *Client) Manifest(ctx context.Context, modelSHA256 string) ([]byte, error) {
	return c.raw(ctx, "/v1/models/"+esc(modelSHA256)+"/manifest")
}

// SubmitEvaluation submits an evaluation of a registered model (a provider's or an
// evaluator's key); the answer is 202 with the evaluation "received".
func (c *Client) SubmitEvaluation(ctx context.Context, r wire.EvaluationRequest) (*wire.Evaluation, error) {
	return post[wire.Evaluation](ctx, c, "/v1/evaluations", r)
}

// Evaluation reads an evaluation: any logged one, or the caller's own in any status.
func (c *Client) Evaluation(ctx context.Context, id string) (*wire.Evaluation, error) {
	return get[wire.Evaluation](ctx, c, "/v1/evaluations/"+esc(id))
}

// ModelEvaluations lists a model's logged evaluations, newest first, with their envelopes.
func (c *Client) ModelEvaluations(ctx context.Context, modelSHA256 string, p Page) (*wire.List[wire.Evaluation], error) {
	return get[wire.List[wire.Evaluation]](ctx, c, p.query("/v1/models/"+esc(modelSHA256)+"/evaluations"))
}

// EvaluationProof fetches a logged evaluation's bundle, verbatim.
func (c *Client) EvaluationProof(ctx context.Context, id string) ([]byte, error) {
	return c.raw(ctx, "/v1/evaluations/"+esc(id)+"/proof")
}

// EvaluationManifest fetches a logged evaluation's test manifest, verbatim.
func (c *Client) EvaluationManifest(ctx context.Context, id string) ([]byte, error) {
	return c.raw(ctx, "/v1/evaluations/"+esc(id)+"/manifest")
}

// RevokeEvaluation revokes an evaluation (admin), with a reason.
func (c *Client) RevokeEvaluation(ctx context.Context, id, reason string) (*wire.Revocation, error) {
	return post[wire.Revocation](ctx, c, "/v1/evaluations/"+esc(id)+"/revoke", wire.ReasonRequest{Reason: reason})
}

// Attestation reads a signed attestation with its envelope.
func (c *Client) Attestation(ctx context.Context, id string) (*wire.Attestation, error) {
	return get[wire.Attestation](ctx, c, "/v1/attestations/"+esc(id))
}

// Bundle fetches the client bundle of an attestation, verbatim.
func (c *Client) Bundle(ctx context.Context, attestationID string) ([]byte, error) {
	return c.raw(ctx, "/v1/attestations/"+esc(attestationID)+"/bundle")
}

// Revocation reads the revocation of an attestation; ErrNotFound means none.
func (c *Client) Revocation(ctx context.Context, attestationID string) (*wire.Revocation, error) {
	return get[wire.Revocation](ctx, c, "/v1/attestations/"+esc(attestationID)+"/revocation")
}

// TrustRootVersion fetches one version of the registry's trust root chain, verbatim; found
// is false when the registry has no such version (yet). Its signature is trustroot.Fetch's.
func (c *Client) TrustRootVersion(ctx context.Context, version int64) (raw []byte, found bool, err error) {
	raw, err = c.raw(ctx, "/v1/trustroot/"+strconv.FormatInt(version, 10))
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	return raw, err == nil, err
}

// TrustRoot fetches the newest version of the registry's trust root, verbatim.
func (c *Client) TrustRoot(ctx context.Context) ([]byte, error) {
	return c.raw(ctx, "/v1/trustroot")
}

// Checkpoint fetches the log's newest signed checkpoint with its cosignatures, verbatim.
func (c *Client) Checkpoint(ctx context.Context) ([]byte, error) {
	return c.raw(ctx, "/v1/log/checkpoint")
}

// Consistency fetches the proof that the tree of size from is a prefix of the tree of size to.
func (c *Client) Consistency(ctx context.Context, from, to uint64) ([][]byte, error) {
	out, err := get[wire.Consistency](ctx, c, "/v1/log/consistency?from="+strconv.FormatUint(from, 10)+"&to="+strconv.FormatUint(to, 10))
	if err != nil {
		return nil, err
	}
	return out.Hashes, nil
}

// Anchors lists the checkpoints the registry anchored or is anchoring, newest first.
func (c *Client) Anchors(ctx context.Context) (*wire.List[wire.Anchor], error) {
	return get[wire.List[wire.Anchor]](ctx, c, "/v1/anchors")
}

// Circuits lists the circuits whose keys the registry publishes.
func (c *Client) Circuits(ctx context.Context) ([]wire.Circuit, error) {
	l, err := get[wire.List[wire.Circuit]](ctx, c, "/v1/keys")
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// CircuitFile streams one file of a circuit's keys (one of wire.CircuitFiles) into w and
// returns its size; a proving key can be far larger than what the client holds in memory.
func (c *Client) CircuitFile(ctx context.Context, circuitID, name string, w io.Writer) (int64, error) {
	path := "/v1/keys/" + esc(circuitID) + "/" + esc(name)
	resp, err := c.send(ctx, http.MethodGet, path, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("GET %s: %w", path, err)
	}
	return n, nil
}

// ProviderAction approves, suspends or reinstates a provider (admin).
func (c *Client) ProviderAction(ctx context.Context, id, action, reason string) (*wire.Provider, error) {
	var in any
	if reason != "" {
		in = wire.ReasonRequest{Reason: reason}
	}
	return post[wire.Provider](ctx, c, "/v1/providers/"+esc(id)+"/"+esc(action), in)
}

// Provider reads one provider (admin).
func (c *Client) Provider(ctx context.Context, id string) (*wire.Provider, error) {
	return get[wire.Provider](ctx, c, "/v1/providers/"+esc(id))
}

// Providers lists providers (admin), optionally of one status.
func (c *Client) Providers(ctx context.Context, status string, p Page) (*wire.List[wire.Provider], error) {
	return get[wire.List[wire.Provider]](ctx, c, p.query("/v1/providers", "status", status))
}

// APIKeys lists a provider's API keys, without their secrets (admin).
func (c *Client) APIKeys(ctx context.Context, providerID string) ([]wire.APIKey, error) {
	l, err := get[wire.List[wire.APIKey]](ctx, c, "/v1/providers/"+esc(providerID)+"/keys")
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// IssueKey issues a provider key (admin); the answer carries the secret once.
func (c *Client) IssueKey(ctx context.Context, providerID, label string) (*wire.IssuedKey, error) {
	return post[wire.IssuedKey](ctx, c, "/v1/providers/"+esc(providerID)+"/keys", wire.IssueKeyRequest{Label: label})
}

// RevokeKey revokes an API key (admin).
func (c *Client) RevokeKey(ctx context.Context, keyID string) error {
	_, err := post[wire.KeyRevoked](ctx, c, "/v1/api-keys/"+esc(keyID)+"/revoke", nil)
	return err
}

// Revoke revokes an attestation with a reason (admin).
func (c *Client) Revoke(ctx context.Context, attestationID, reason string) (*wire.Revocation, error) {
	return post[wire.Revocation](ctx, c, "/v1/attestations/"+esc(attestationID)+"/revoke", wire.ReasonRequest{Reason: reason})
}

// Jobs lists jobs (admin), optionally in one state.
func (c *Client) Jobs(ctx context.Context, state string, p Page) (*wire.List[wire.Job], error) {
	return get[wire.List[wire.Job]](ctx, c, p.query("/v1/jobs", "state", state))
}

// Job reads one job (admin).
func (c *Client) Job(ctx context.Context, id int64) (*wire.Job, error) {
	return get[wire.Job](ctx, c, "/v1/jobs/"+strconv.FormatInt(id, 10))
}

// Audit lists audit events (admin), newest first, optionally about one subject.
func (c *Client) Audit(ctx context.Context, subject string, p Page) (*wire.List[wire.AuditEvent], error) {
	return get[wire.List[wire.AuditEvent]](ctx, c, p.query("/v1/audit", "subject", subject))
}

// Wait polls a submission until it is logged or rejected, calling progress with each new
// status, and returns the final submission.
func (c *Client) Wait(ctx context.Context, id string, every time.Duration, progress func(*wire.Submission)) (*wire.Submission, error) {
	return poll(ctx, "submission "+id, every, func(ctx context.Context) (*wire.Submission, error) { return c.Submission(ctx, id) },
		func(s *wire.Submission) string { return s.Status }, progress)
}

// WaitEvaluation polls an evaluation every interval until it is logged or rejected, as Wait
// does a submission.
func (c *Client) WaitEvaluation(ctx context.Context, id string, every time.Duration, progress func(*wire.Evaluation)) (*wire.Evaluation, error) {
	return poll(ctx, "evaluation "+id, every, func(ctx context.Context) (*wire.Evaluation, error) { return c.Evaluation(ctx, id) },
		func(e *wire.Evaluation) string { return e.Status }, progress)
}

// poll reads what until its status is final (logged or rejected), calling progress on
// each change of status.
func poll[T any](ctx context.Context, what string, every time.Duration, read func(context.Context) (*T, error), status func(*T) string, progress func(*T)) (*T, error) {
	last := ""
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		v, err := read(ctx)
		if err != nil {
			return nil, err
		}
		st := status(v)
		if st != last && progress != nil {
			progress(v)
		}
		last = st
		if st == wire.StatusLogged || st == wire.StatusRejected {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return v, fmt.Errorf("waiting for %s (%s): %w", what, st, ctx.Err())
		case <-t.C:
		}
	}
}
