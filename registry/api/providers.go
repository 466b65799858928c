package api

import (
	"net/http"

	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
	"github.com/comet-attest/comet/registry/wire"
	"github.com/gin-gonic/gin"
)

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
