package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/comet-attest/comet/registry/jobs"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
	"github.com/comet-attest/comet/registry/wire"
	"github.com/gin-gonic/gin"
)

func abort(c *gin.Context, status int, code, field, message string) {
	c.AbortWithStatusJSON(status, wire.ErrorBody{Error: wire.ErrorDetail{Code: code, Message: message, Field: field}})
}

// withoutSentinel is err's message less the sentinel's word at its start ("conflict: ..."):
// the response's code already says it, and a client prints both.
func withoutSentinel(err, sentinel error) string {
	return strings.TrimPrefix(err.Error(), sentinel.Error()+": ")
}

// fail maps an error from the service to its response; anything unexpected is a 500 whose
// detail goes to the log, not to the client.
func (a *API) fail(c *gin.Context, err error) {
	var inv *service.InvalidError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		abort(c, http.StatusRequestEntityTooLarge, wire.CodeTooLarge, "", "request body is over the limit of "+itoa(tooLarge.Limit)+" bytes")
	case errors.As(err, &inv):
		abort(c, http.StatusUnprocessableEntity, wire.CodeInvalid, inv.Field, err.Error())
	case errors.Is(err, service.ErrUnauthorized):
		abort(c, http.StatusUnauthorized, wire.CodeUnauthorized, "", withoutSentinel(err, service.ErrUnauthorized))
	case errors.Is(err, service.ErrForbidden):
		abort(c, http.StatusForbidden, wire.CodeForbidden, "", withoutSentinel(err, service.ErrForbidden))
	case errors.Is(err, service.ErrNotFound), errors.Is(err, jobs.ErrNotFound):
		abort(c, http.StatusNotFound, wire.CodeNotFound, "", err.Error())
	case errors.Is(err, service.ErrConflict):
		abort(c, http.StatusConflict, wire.CodeConflict, "", withoutSentinel(err, service.ErrConflict))
	case errors.Is(err, service.ErrNotReady):
		abort(c, http.StatusConflict, wire.CodeNotReady, "", err.Error())
	case errors.Is(err, store.ErrBadCursor):
		abort(c, http.StatusBadRequest, wire.CodeBadRequest, "cursor", err.Error())
	case errors.Is(err, context.Canceled):
		c.Abort() // the client went away
	default:
		a.logger.ErrorContext(c.Request.Context(), "request failed", slog.String("route", c.FullPath()), slog.Any("error", err))
		abort(c, http.StatusInternalServerError, wire.CodeInternal, "", "internal error")
	}
}
