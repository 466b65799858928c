package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/comet-attest/comet/registry/jobs"
	"github.com/comet-attest/comet/registry/service"
	"github.com/gin-gonic/gin"
)

// ErrorBody is the JSON of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong; Field names the request field at fault, if one is.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Error codes.
const (
	CodeBadRequest   = "bad_request"
	CodeInvalid      = "invalid"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeNotFound     = "not_found"
	CodeConflict     = "conflict"
	CodeNotReady     = "not_ready"
	CodeTooLarge     = "too_large"
	CodeRateLimited  = "rate_limited"
	CodeInternal     = "internal"
	CodeUnavailable  = "unavailable"
)

func abort(c *gin.Context, status int, code, field, message string) {
	c.AbortWithStatusJSON(status, ErrorBody{Error: ErrorDetail{Code: code, Message: message, Field: field}})
}

// fail maps an error from the service to its response; anything unexpected is a 500 whose
// detail goes to the log, not to the client.
func (a *API) fail(c *gin.Context, err error) {
	var inv *service.InvalidError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		abort(c, http.StatusRequestEntityTooLarge, CodeTooLarge, "", "request body is over the limit of "+itoa(tooLarge.Limit)+" bytes")
	case errors.As(err, &inv):
		abort(c, http.StatusUnprocessableEntity, CodeInvalid, inv.Field, err.Error())
	case errors.Is(err, service.ErrUnauthorized):
		abort(c, http.StatusUnauthorized, CodeUnauthorized, "", err.Error())
	case errors.Is(err, service.ErrForbidden):
		abort(c, http.StatusForbidden, CodeForbidden, "", err.Error())
	case errors.Is(err, service.ErrNotFound), errors.Is(err, jobs.ErrNotFound):
		abort(c, http.StatusNotFound, CodeNotFound, "", err.Error())
	case errors.Is(err, service.ErrConflict):
		abort(c, http.StatusConflict, CodeConflict, "", err.Error())
	case errors.Is(err, service.ErrNotReady):
		abort(c, http.StatusConflict, CodeNotReady, "", err.Error())
	case errors.Is(err, jobs.ErrBadCursor):
		abort(c, http.StatusBadRequest, CodeBadRequest, "cursor", err.Error())
	case errors.Is(err, context.Canceled):
		c.Abort() // the client went away
	default:
		a.logger.ErrorContext(c.Request.Context(), "request failed", slog.String("route", c.FullPath()), slog.Any("error", err))
		abort(c, http.StatusInternalServerError, CodeInternal, "", "internal error")
	}
}
