package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/comet-attest/comet/registry/wire"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/registry/jobs"
	"github.com/comet-attest/comet/registry/keyset"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
	"github.com/gin-gonic/gin"
)

var hex64RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (a *API) healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

func (a *API) readyz(c *gin.Context) {
	ctx := c.Request.Context()
	err := a.rec.Ping(ctx)
	if err == nil && a.ready != nil {
		err = a.ready(ctx)
	}
	if err != nil {
		abort(c, http.StatusServiceUnavailable, wire.CodeUnavailable, "", "not ready: "+err.Error())
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// decode reads a JSON body strictly into dst: unknown fields, trailing data and wrong types
// are 400s naming the field.
func (a *API) decode(c *gin.Context, dst any) bool {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		a.fail(c, err)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(dst)
	if err == nil && dec.More() {
		err = errors.New("data after the JSON object")
	}
	if err == nil {
		return true
	}
	var typeErr *json.UnmarshalTypeError
	field := ""
	msg := "malformed JSON: " + err.Error()
	switch {
	case errors.As(err, &typeErr):
		field = typeErr.Field
		msg = fmt.Sprintf("%s must be a %s, not %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field = strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		msg = "unknown field " + field
	case errors.Is(err, io.EOF):
		msg = "empty body: a JSON object is required"
	}
	abort(c, http.StatusBadRequest, wire.CodeBadRequest, field, msg)
	return false
}

// requireObject fails unless raw is a JSON object, naming field.
func requireObject(c *gin.Context, field string, raw json.RawMessage) bool {
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		abort(c, http.StatusBadRequest, wire.CodeBadRequest, field, field+" must be a JSON object")
		return false
	}
	return true
}

func hexParam(c *gin.Context, name string) (string, bool) {
	v := c.Param(name)
	if !hex64RE.MatchString(v) {
		abort(c, http.StatusBadRequest, wire.CodeBadRequest, name, name+" must be 64 lower-case hex characters")
		return "", false
	}
	return v, true
}

func page(c *gin.Context) (store.Page, bool) {
	p := store.Page{Cursor: c.Query("cursor")}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > store.MaxPageLimit {
			abort(c, http.StatusBadRequest, wire.CodeBadRequest, "limit", fmt.Sprintf("limit must be an integer from 1 to %d", store.MaxPageLimit))
			return p, false
		}
		p.Limit = n
	}
	return p, true
}

// immutable answers with body under a strong ETag, or 304 when the client has it.
func immutable(c *gin.Context, contentType string, body []byte) {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	c.Header("ETag", etag)
	c.Header("Cache-Control", "public, max-age=31536000, immutable")
	for _, t := range strings.Split(c.GetHeader("If-None-Match"), ",") {
		if t = strings.TrimSpace(t); t == etag || t == "*" {
			c.Status(http.StatusNotModified)
			return
		}
	}
	c.Data(http.StatusOK, contentType, body)
}

func immutableJSON(c *gin.Context, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		abort(c, http.StatusInternalServerError, wire.CodeInternal, "", "internal error")
		return
	}
	immutable(c, "application/json; charset=utf-8", b)
}

func (a *API) getModel(c *gin.Context) {
	sha, ok := hexParam(c, "sha256")
	if !ok {
		return
	}
	ctx := c.Request.Context()
	v, err := a.rec.ModelView(ctx, sha)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := viewModel(v)
	out.Featurizer = a.modelFeaturizer(ctx, v)
	c.JSON(http.StatusOK, out)
}

// modelFeaturizer is the featurizer a lookup shows: the signed one once the model is
// attested, else the one the shown submission's manifest declares, which is what the
// registry signs if that submission passes.
func (a *API) modelFeaturizer(ctx context.Context, v *store.ModelView) *wire.LookupFeaturizer {
	var f *wire.LookupFeaturizer
	var err error
	switch {
	case v.AttestationID != nil:
		f, err = featurizerOfEnvelope(v.Envelope)
	case v.SubmissionID != nil:
		f, err = featurizerOfManifest(v.Manifest)
	}
	if err != nil {
		// Every stored envelope and manifest was checked when it was written, so this is the
		// registry's own fault; the lookup still answers, so that status and revocation stay
		// visible, and the log says what went wrong.
		a.logger.ErrorContext(ctx, "lookup: stored featurizer unreadable", slog.String("model", v.SHA256), slog.Any("error", err))
		return nil
	}
	return f
}

func (a *API) getModelFile(c *gin.Context) {
	sha, ok := hexParam(c, "sha256")
	if !ok {
		return
	}
	m, err := a.rec.Model(c.Request.Context(), sha)
	if err != nil {
		a.fail(c, err)
		return
	}
	immutable(c, "application/json", m.Body)
}

// getSubmittedPart serves the proof bundle or the manifest of a model's latest submission:
// the public material a client needs to check the proof itself.
func (a *API) getSubmittedPart(c *gin.Context) {
	sha, ok := hexParam(c, "sha256")
	if !ok {
		return
	}
	ctx := c.Request.Context()
	v, err := a.rec.ModelView(ctx, sha)
	if err != nil {
		a.fail(c, err)
		return
	}
	if v.SubmissionID == nil {
		abort(c, http.StatusNotFound, wire.CodeNotFound, "", "model "+sha+" has no submission")
		return
	}
	sub, err := a.rec.Submission(ctx, *v.SubmissionID)
	if err != nil {
		a.fail(c, err)
		return
	}
	body := sub.Proof
	if strings.HasSuffix(c.FullPath(), "/manifest") {
		body = sub.Manifest
	}
	immutable(c, "application/json", body)
}

func (a *API) getAttestation(c *gin.Context) {
	id, ok := hexParam(c, "id")
	if !ok {
		return
	}
	att, err := a.rec.Attestation(c.Request.Context(), id)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewAttestation(att))
}

func (a *API) getEnvelope(c *gin.Context) {
	id, ok := hexParam(c, "id")
	if !ok {
		return
	}
	att, err := a.rec.Attestation(c.Request.Context(), id)
	if err != nil {
		a.fail(c, err)
		return
	}
	immutable(c, "application/json", att.Envelope)
}

func (a *API) getBundle(c *gin.Context) {
	id, ok := hexParam(c, "id")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), a.bundleWait)
	defer cancel()
	b, err := a.reg.Bundle(ctx, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	out, err := b.Marshal()
	if err != nil {
		a.fail(c, err)
		return
	}
	// A bundle grows newer checkpoints over time: it may be cached only briefly.
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/json", out)
}

func (a *API) getRevocation(c *gin.Context) {
	id, ok := hexParam(c, "id")
	if !ok {
		return
	}
	r, err := a.rec.Revocation(c.Request.Context(), id)
	if err != nil {
		a.fail(c, err)
		return
	}
	if r.LogIndex == nil {
		c.JSON(http.StatusOK, viewRevocation(r)) // changes once logged
		return
	}
	immutableJSON(c, viewRevocation(r))
}

func (a *API) getTrustRoot(c *gin.Context) {
	var latest *trustroot.Root
	if a.trustRoots != nil {
		latest = a.trustRoots.Latest()
	}
	if latest == nil {
		abort(c, http.StatusNotFound, wire.CodeNotFound, "", "no trust root configured")
		return
	}
	raw, _ := latest.Marshal()
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/json", raw)
}

// getTrustRootVersion serves one version of the chain; a version never changes once issued.
func (a *API) getTrustRootVersion(c *gin.Context) {
	n, err := strconv.ParseInt(c.Param("version"), 10, 64)
	if err != nil || n < 1 {
		abort(c, http.StatusBadRequest, wire.CodeBadRequest, "version", "trust root versions are positive integers")
		return
	}
	var raw []byte
	ok := false
	if a.trustRoots != nil {
		raw, ok = a.trustRoots.Version(n)
	}
	if !ok {
		abort(c, http.StatusNotFound, wire.CodeNotFound, "version", "no trust root version "+c.Param("version"))
		return
	}
	immutable(c, "application/json", raw)
}

func (a *API) listCircuits(c *gin.Context) {
	c.JSON(http.StatusOK, mapList(a.keys.Circuits(), "", viewCircuit))
}

func (a *API) circuit(c *gin.Context) (keyset.Circuit, bool) {
	id := c.Param("circuit")
	for _, k := range a.keys.Circuits() {
		if k.ID == id {
			return k, true
		}
	}
	abort(c, http.StatusNotFound, wire.CodeNotFound, "circuit", "no published keys for circuit "+strconv.Quote(id))
	return keyset.Circuit{}, false
}

func (a *API) getCircuit(c *gin.Context) {
	if k, ok := a.circuit(c); ok {
		c.JSON(http.StatusOK, viewCircuit(&k))
	}
}

func (a *API) getCircuitFile(c *gin.Context) {
	k, ok := a.circuit(c)
	if !ok {
		return
	}
	name := c.Param("file")
	switch name {
	case "vk", "pk", "r1cs", "keys.json", "transcript":
	default:
		abort(c, http.StatusNotFound, wire.CodeNotFound, "file", "a circuit's files are vk, pk, r1cs, keys.json and transcript")
		return
	}
	path := a.keys.File(k.ID, name)
	if path == "" {
		abort(c, http.StatusNotFound, wire.CodeNotFound, "file", "circuit "+k.ID+" has no "+name)
		return
	}
	// Key files are immutable (content-addressed by the circuit id and, for vk, its hash):
	// the ETag is the circuit id with the file name, so a large pk is never hashed per request.
	etag := `"` + k.ID + "/" + name + `"`
	c.Header("ETag", etag)
	c.Header("Cache-Control", "public, max-age=31536000, immutable")
	if c.GetHeader("If-None-Match") == etag {
		c.Status(http.StatusNotModified)
		return
	}
	c.FileAttachment(path, k.ID+"."+name)
}

func (a *API) getConsistency(c *gin.Context) {
	from, err1 := strconv.ParseUint(c.Query("from"), 10, 64)
	to, err2 := strconv.ParseUint(c.Query("to"), 10, 64)
	if err1 != nil || err2 != nil {
		abort(c, http.StatusBadRequest, wire.CodeBadRequest, "from", "from and to must be tree sizes (unsigned integers)")
		return
	}
	hs, err := a.reg.Consistency(c.Request.Context(), from, to)
	if err != nil {
		a.fail(c, err)
		return
	}
	if hs == nil {
		hs = [][]byte{}
	}
	c.JSON(http.StatusOK, wire.Consistency{From: from, To: to, Hashes: hs})
}

func (a *API) listAnchors(c *gin.Context) {
	as, err := a.rec.Anchors(c.Request.Context(), store.MaxPageLimit)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, mapList(as, "", func(x *store.Anchor) wire.Anchor {
		return wire.Anchor{TreeSize: x.TreeSize, Root: x.Root, Status: string(x.Status), TxHash: x.TxHash, BlockNumber: x.BlockNumber,
			Finality: x.Finality, Error: x.Error, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt}
	}))
}

func (a *API) register(c *gin.Context) {
	var req wire.RegisterRequest
	if !a.decode(c, &req) {
		return
	}
	p, key, err := a.reg.Register(c.Request.Context(), service.Registration(req))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, wire.Registration{Provider: viewProvider(p), Key: key})
}

func (a *API) submit(c *gin.Context) {
	var req wire.SubmitRequest
	if !a.decode(c, &req) {
		return
	}
	if !requireObject(c, "model", req.Model) || !requireObject(c, "manifest", req.Manifest) || !requireObject(c, "proof", req.Proof) {
		return
	}
	sub, err := a.reg.Submit(c.Request.Context(), principal(c), service.Submission{
		ModelName: req.ModelName, Model: req.Model, Manifest: req.Manifest, Proof: req.Proof,
	})
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", "/v1/submissions/"+sub.ID)
	c.JSON(http.StatusAccepted, viewSubmission(sub))
}

func (a *API) getSubmission(c *gin.Context) {
	ctx := c.Request.Context()
	sub, err := a.rec.Submission(ctx, c.Param("id"))
	if err != nil {
		a.fail(c, err)
		return
	}
	p := principal(c)
	if p.Role != store.RoleAdmin && p.ProviderID != sub.ProviderID {
		// Not found rather than forbidden: a provider learns nothing of others' submissions.
		abort(c, http.StatusNotFound, wire.CodeNotFound, "", "submission "+sub.ID+": not found")
		return
	}
	v := viewSubmission(sub)
	if sub.Status == store.StatusLogged || sub.Status == store.StatusVerifying {
		att, err := a.rec.AttestationBySubmission(ctx, sub.ID)
		switch {
		case err == nil:
			v.AttestationID, v.LogIndex = att.ID, att.LogIndex
		case !errors.Is(err, store.ErrNotFound):
			a.fail(c, err)
			return
		}
	}
	if sub.JobID != nil {
		if j, err := a.jobs.Job(ctx, *sub.JobID); err == nil {
			jv := viewJob(j)
			v.Job = &jv
		}
	}
	c.JSON(http.StatusOK, v)
}

func (a *API) listSubmissions(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	f := store.SubmissionFilter{Status: store.SubmissionStatus(c.Query("status")), ProviderID: c.Query("provider")}
	switch f.Status {
	case "", store.StatusReceived, store.StatusVerifying, store.StatusLogged, store.StatusRejected:
	default:
		abort(c, http.StatusBadRequest, wire.CodeBadRequest, "status", "status must be received, verifying, logged or rejected")
		return
	}
	if pr := principal(c); pr.Role != store.RoleAdmin {
		f.ProviderID = pr.ProviderID // a provider sees only its own
	}
	subs, next, err := a.rec.Submissions(c.Request.Context(), f, p)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, mapList(subs, next, viewSubmission))
}

func (a *API) requireAdmin(c *gin.Context) {
	if err := service.RequireAdmin(principal(c)); err != nil {
		a.fail(c, err)
	}
}

func (a *API) listProviders(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	st := store.ProviderStatus(c.Query("status"))
	switch st {
	case "", store.ProviderPending, store.ProviderApproved, store.ProviderSuspended:
	default:
		abort(c, http.StatusBadRequest, wire.CodeBadRequest, "status", "status must be pending, approved or suspended")
		return
	}
	ps, next, err := a.rec.Providers(c.Request.Context(), st, p)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, mapList(ps, next, viewProvider))
}

func (a *API) getProvider(c *gin.Context) {
	p, err := a.rec.Provider(c.Request.Context(), c.Param("id"))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewProvider(p))
}

// optionalReason reads {"reason": ...} when there is a body.
func (a *API) optionalReason(c *gin.Context) (string, bool) {
	if c.Request.ContentLength == 0 {
		return "", true
	}
	var req wire.ReasonRequest
	if !a.decode(c, &req) {
		return "", false
	}
	return req.Reason, true
}

func (a *API) providerAction(action service.ProviderAction) gin.HandlerFunc {
	return func(c *gin.Context) {
		reason, ok := a.optionalReason(c)
		if !ok {
			return
		}
		p, err := a.reg.SetProvider(c.Request.Context(), principal(c), c.Param("id"), action, reason)
		if err != nil {
			a.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, viewProvider(p))
	}
}

func (a *API) listKeys(c *gin.Context) {
	ctx := c.Request.Context()
	if _, err := a.rec.Provider(ctx, c.Param("id")); err != nil {
		a.fail(c, err)
		return
	}
	ks, err := a.rec.APIKeys(ctx, c.Param("id"))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, mapList(ks, "", viewAPIKey))
}

func (a *API) issueKey(c *gin.Context) {
	var req wire.IssueKeyRequest
	if c.Request.ContentLength != 0 && !a.decode(c, &req) {
		return
	}
	raw, k, err := a.reg.IssueKey(c.Request.Context(), principal(c), c.Param("id"), req.Label)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, wire.IssuedKey{Key: raw, APIKey: viewAPIKey(k)})
}

func (a *API) revokeKey(c *gin.Context) {
	if err := a.reg.RevokeKey(c.Request.Context(), principal(c), c.Param("id")); err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, wire.KeyRevoked{ID: c.Param("id"), Revoked: true})
}

func (a *API) revoke(c *gin.Context) {
	id, ok := hexParam(c, "id")
	if !ok {
		return
	}
	var req wire.ReasonRequest
	if !a.decode(c, &req) {
		return
	}
	r, err := a.reg.Revoke(c.Request.Context(), principal(c), id, req.Reason)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, viewRevocation(r))
}

func (a *API) listJobs(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	lp := jobs.ListParams{State: c.Query("state"), Kind: c.Query("kind"), Limit: p.Limit, Cursor: p.Cursor}
	if lp.State != "" && !slices.Contains(jobs.States(), lp.State) {
		abort(c, http.StatusBadRequest, wire.CodeBadRequest, "state", "state must be one of "+strings.Join(jobs.States(), ", "))
		return
	}
	js, next, err := a.jobs.List(c.Request.Context(), lp)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := wire.List[wire.Job]{Items: make([]wire.Job, 0, len(js)), NextCursor: next}
	for _, j := range js {
		out.Items = append(out.Items, viewJob(j))
	}
	c.JSON(http.StatusOK, out)
}

func (a *API) getJob(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		abort(c, http.StatusBadRequest, wire.CodeBadRequest, "id", "job id must be a positive integer")
		return
	}
	j, err := a.jobs.Job(c.Request.Context(), id)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewJob(j))
}

func (a *API) listAudit(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	if p.Cursor != "" {
		if _, err := strconv.ParseInt(p.Cursor, 10, 64); err != nil {
			abort(c, http.StatusBadRequest, wire.CodeBadRequest, "cursor", "malformed cursor")
			return
		}
	}
	evs, next, err := a.rec.AuditEvents(c.Request.Context(), c.Query("subject"), p)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, mapList(evs, next, func(e *store.AuditEvent) wire.AuditEvent {
		return wire.AuditEvent{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Subject: e.Subject, Detail: e.Detail}
	}))
}
