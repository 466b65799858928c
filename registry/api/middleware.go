package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/comet-attest/comet/registry/wire"

	"github.com/comet-attest/comet/registry/service"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

const principalKey = "comet.principal"

// authenticate requires a valid API key (Authorization: Bearer <key>; the scheme in any
// letter case, RFC 7235) and rate-limits it.
//
// Guessing is limited before the database is asked: by the failures of the client's address,
// and, for a key id that has not authenticated lately, by the failures of everyone, so that
// an attacker changing key ids or addresses at will still causes a bounded number of
// lookups while the keys in use go on working. Only keys that authenticated get a bucket of
// their own, named by the key's public id, never by its secret.
func (a *API) authenticate(c *gin.Context) {
	scheme, raw, _ := strings.Cut(c.GetHeader("Authorization"), " ")
	raw = strings.TrimSpace(raw)
	if !strings.EqualFold(scheme, "Bearer") || raw == "" {
		c.Header("WWW-Authenticate", `Bearer realm="comet"`)
		abort(c, http.StatusUnauthorized, wire.CodeUnauthorized, "", "an API key is required: Authorization: Bearer <key>")
		return
	}
	addr, id := c.ClientIP(), service.KeyID(raw)
	known := id != "" && a.limiter.Holds(id)
	if !a.failedAuth.Permit(addr, known) {
		abort(c, http.StatusTooManyRequests, wire.CodeRateLimited, "", "too many failed authentications; retry later")
		return
	}
	p, err := a.reg.Authenticate(c.Request.Context(), raw)
	if errors.Is(err, service.ErrUnauthorized) {
		a.failedAuth.Failed(addr)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	if !a.limiter.Allow(id) {
		abort(c, http.StatusTooManyRequests, wire.CodeRateLimited, "", "rate limit exceeded; retry later")
		return
	}
	c.Set(principalKey, p)
}

// rateLimitByAddress limits unauthenticated writes (registration) per client address.
func (a *API) rateLimitByAddress(c *gin.Context) {
	if !a.limiter.Allow("addr:" + c.ClientIP()) {
		abort(c, http.StatusTooManyRequests, wire.CodeRateLimited, "", "rate limit exceeded; retry later")
	}
}

func principal(c *gin.Context) *service.Principal {
	p, _ := c.Get(principalKey)
	pp, _ := p.(*service.Principal)
	return pp
}

// limitBody caps request bodies; reading past the cap fails with *http.MaxBytesError.
func (a *API) limitBody(c *gin.Context) {
	if c.Request.ContentLength > a.maxBody {
		abort(c, http.StatusRequestEntityTooLarge, wire.CodeTooLarge, "", "request body is over the limit of "+itoa(a.maxBody)+" bytes")
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, a.maxBody)
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "comet_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "comet_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observe records metrics and logs failures; routes are the patterns, never raw paths, so
// that the label sets stay bounded.
func (a *API) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	a.metrics.requests.WithLabelValues(route, c.Request.Method, itoa(int64(status))).Inc()
	a.metrics.duration.WithLabelValues(route, c.Request.Method).Observe(time.Since(start).Seconds())
	if status >= 500 {
		a.logger.WarnContext(c.Request.Context(), "request", slog.String("method", c.Request.Method),
			slog.String("route", route), slog.Int("status", status), slog.Duration("took", time.Since(start)))
	}
}

// recoverJSON turns a panic into a 500 in the error format; a panic is a bug, logged with
// its value.
func (a *API) recoverJSON(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			a.logger.ErrorContext(c.Request.Context(), "panic in handler", slog.String("route", c.FullPath()), slog.Any("panic", r))
			abort(c, http.StatusInternalServerError, wire.CodeInternal, "", "internal error")
		}
	}()
	c.Next()
}
