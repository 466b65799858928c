package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/comet-attest/comet/internal/hexdigest"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
	"github.com/comet-attest/comet/registry/wire"
	"github.com/gin-gonic/gin"
)

func (a *API) submitEvaluation(c *gin.Context) {
	var req wire.EvaluationRequest
	if !a.decode(c, &req) {
		return
	}
	if !hexdigest.Valid(req.ModelSHA256) {
		abort(c, http.StatusBadRequest, wire.CodeBadRequest, "model_sha256", "model_sha256 must be 64 lower-case hex characters")
		return
	}
	if !requireObject(c, "manifest", req.Manifest) || !requireObject(c, "proof", req.Proof) {
		return
	}
	ev, err := a.reg.SubmitEvaluation(c.Request.Context(), principal(c), service.EvaluationSubmission{
		ModelSHA256: req.ModelSHA256, Manifest: req.Manifest, Bundle: req.Proof,
	})
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", "/v1/evaluations/"+ev.ID)
	c.JSON(http.StatusAccepted, viewEvaluation(ev))
}

func (a *API) getEvaluation(c *gin.Context) {
	ctx := c.Request.Context()
	ev, err := a.reg.Evaluation(ctx, principal(c), c.Param("id"))
	if err != nil {
		a.fail(c, err)
		return
	}
	v, err := a.evaluationView(ctx, ev)
	if err != nil {
		a.fail(c, err)
		return
	}
	if ev.JobID != nil {
		if j, err := a.jobs.Job(ctx, *ev.JobID); err == nil {
			jv := viewJob(j)
			v.Job = &jv
		}
	}
	c.JSON(http.StatusOK, v)
}

// getEvaluationPart serves a logged evaluation's bundle or test manifest, which a client
// needs to check the proof itself.
func (a *API) getEvaluationPart(c *gin.Context) {
	ev, err := a.reg.Evaluation(c.Request.Context(), nil, c.Param("id"))
	if err != nil {
		a.fail(c, err)
		return
	}
	body := ev.Bundle
	if strings.HasSuffix(c.FullPath(), "/manifest") {
		body = ev.Manifest
	}
	immutable(c, "application/json", body)
}

func (a *API) listModelEvaluations(c *gin.Context) {
	sha, ok := hexParam(c, "sha256")
	if !ok {
		return
	}
	p, ok := page(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	evs, next, err := a.reg.ModelEvaluations(ctx, sha, p)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := wire.List[wire.Evaluation]{Items: make([]wire.Evaluation, 0, len(evs)), NextCursor: next}
	for i := range evs {
		v, err := a.evaluationView(ctx, &evs[i])
		if err != nil {
			a.fail(c, err)
			return
		}
		out.Items = append(out.Items, v)
	}
	c.JSON(http.StatusOK, out)
}

// evaluationView is the evaluation with whether it is revoked.
func (a *API) evaluationView(ctx context.Context, ev *store.Evaluation) (wire.Evaluation, error) {
	v := viewEvaluation(ev)
	if ev.AttestationID == nil {
		return v, nil
	}
	var err error
	v.Revoked, err = a.rec.Revoked(ctx, *ev.AttestationID)
	return v, err
}

func (a *API) revokeEvaluation(c *gin.Context) {
	var req wire.ReasonRequest
	if !a.decode(c, &req) {
		return
	}
	r, err := a.reg.RevokeEvaluation(c.Request.Context(), principal(c), c.Param("id"), req.Reason)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, viewRevocation(r))
}
