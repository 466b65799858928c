package api

import (
	"context"
	"net/http"

	"github.com/comet-attest/comet/registry/store"
	"github.com/comet-attest/comet/registry/wire"
	"github.com/gin-gonic/gin"
)

// attestation reads the attestation the path's id names, or answers the error.
func (a *API) attestation(c *gin.Context) (*store.Attestation, bool) {
	id, ok := hexParam(c, "id")
	if !ok {
		return nil, false
	}
	att, err := a.rec.Attestation(c.Request.Context(), id)
	if err != nil {
		a.fail(c, err)
		return nil, false
	}
	return att, true
}

func (a *API) getAttestation(c *gin.Context) {
	if att, ok := a.attestation(c); ok {
		c.JSON(http.StatusOK, viewAttestation(att))
	}
}

func (a *API) getEnvelope(c *gin.Context) {
	if att, ok := a.attestation(c); ok {
		immutable(c, "application/json", att.Envelope)
	}
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
