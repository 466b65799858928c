package api

import (
	"net/http"

	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
	"github.com/comet-attest/comet/registry/wire"
	"github.com/gin-gonic/gin"
)

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
	sub, att, err := a.reg.Submission(ctx, principal(c), c.Param("id"))
	if err != nil {
		a.fail(c, err)
		return
	}
	v := viewSubmission(sub)
	if att != nil {
		v.AttestationID, v.LogIndex = att.ID, att.LogIndex
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
	subs, next, err := a.reg.Submissions(c.Request.Context(), principal(c), f, p)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, mapList(subs, next, viewSubmission))
}
