package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/comet-attest/comet/registry/ratelimit"
	"github.com/comet-attest/comet/registry/wire"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// New builds the API and its router.
func New(c Config) (http.Handler, error) {
	if c.Registry == nil || c.Records == nil || c.Jobs == nil || c.Keys == nil || c.LogDir == "" {
		return nil, errors.New("api: registry, records, jobs, keys and log directory are required")
	}
	if c.MaxBodyBytes <= 0 || c.RatePerSecond <= 0 || c.RateBurst < 1 || c.FailedAuthPerSecond <= 0 || c.FailedAuthGlobalPerSecond <= 0 {
		return nil, errors.New("api: body limit and rate limits must be positive")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.BundleWait <= 0 {
		c.BundleWait = 5 * time.Second
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
	m, err := newMetrics(c.Metrics)
	if err != nil {
		return nil, err
	}
	a := &API{
		reg: c.Registry, rec: c.Records, jobs: c.Jobs, keys: c.Keys, trustRoots: c.TrustRoots, logDir: c.LogDir,
		maxBody: c.MaxBodyBytes, bundleWait: c.BundleWait, ready: c.Ready,
		limiter: ratelimit.New(c.RatePerSecond, c.RateBurst, c.Now), metrics: m, promReg: c.Metrics, logger: c.Logger,
		failedAuth: ratelimit.NewFailures(c.FailedAuthPerSecond, c.FailedAuthGlobalPerSecond, c.Now), proxies: c.TrustedProxies,
	}
	return a.router()
}

// router holds every route.
func (a *API) router() (*gin.Engine, error) {
	r := gin.New()
	// gin trusts every proxy unless told otherwise; nil trusts none.
	if err := r.SetTrustedProxies(a.proxies); err != nil {
		return nil, fmt.Errorf("api: trusted proxies: %w", err)
	}
	r.HandleMethodNotAllowed = true
	r.NoRoute(func(c *gin.Context) { abort(c, http.StatusNotFound, wire.CodeNotFound, "", "no such route") })
	r.NoMethod(func(c *gin.Context) {
		abort(c, http.StatusMethodNotAllowed, wire.CodeBadRequest, "", "method not allowed")
	})
	r.Use(a.recoverJSON, a.observe, a.checkRequestStrings)

	r.GET("/healthz", a.healthz)
	r.GET("/readyz", a.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(a.promReg, promhttp.HandlerOpts{})))

	v1 := r.Group("/v1")
	// Public reads: anyone may look a model up and fetch what verifying it needs.
	v1.GET("/models/:sha256", a.getModel)
	v1.GET("/models/:sha256/file", a.getModelFile)
	v1.GET("/models/:sha256/proof", a.getSubmittedPart)
	v1.GET("/models/:sha256/manifest", a.getSubmittedPart)
	v1.GET("/attestations/:id", a.getAttestation)
	v1.GET("/attestations/:id/envelope", a.getEnvelope)
	v1.GET("/attestations/:id/bundle", a.getBundle)
	v1.GET("/attestations/:id/revocation", a.getRevocation)
	v1.GET("/trustroot", a.getTrustRoot)
	v1.GET("/trustroot/:version", a.getTrustRootVersion)
	v1.GET("/keys", a.listCircuits)
	v1.GET("/keys/:circuit", a.getCircuit)
	v1.GET("/keys/:circuit/:file", a.getCircuitFile)
	v1.GET("/log/consistency", a.getConsistency)
	v1.GET("/log/checkpoint", a.getLogFile)
	v1.GET("/log/tile/*path", a.getLogFile)
	v1.GET("/anchors", a.listAnchors)
	v1.GET("/models/:sha256/evaluations", a.listModelEvaluations)
	v1.GET("/evaluations/:id/proof", a.getEvaluationPart)
	v1.GET("/evaluations/:id/manifest", a.getEvaluationPart)

	v1.POST("/providers", a.rateLimitByAddress, a.limitBody, a.register)

	authed := v1.Group("", a.authenticate)
	authed.POST("/submissions", a.limitBody, a.submit)
	authed.GET("/submissions", a.listSubmissions)
	authed.GET("/submissions/:id", a.getSubmission)
	authed.POST("/evaluations", a.limitBody, a.submitEvaluation)
	authed.GET("/evaluations/:id", a.getEvaluation)

	admin := authed.Group("", a.requireAdmin)
	admin.GET("/providers", a.listProviders)
	admin.GET("/providers/:id", a.getProvider)
	admin.POST("/providers/:id/approve", a.limitBody, a.providerAction("approve"))
	admin.POST("/providers/:id/suspend", a.limitBody, a.providerAction("suspend"))
	admin.POST("/providers/:id/reinstate", a.limitBody, a.providerAction("reinstate"))
	admin.GET("/providers/:id/keys", a.listKeys)
	admin.POST("/providers/:id/keys", a.limitBody, a.issueKey)
	admin.POST("/api-keys/:id/revoke", a.revokeKey)
	admin.POST("/attestations/:id/revoke", a.limitBody, a.revoke)
	admin.POST("/evaluations/:id/revoke", a.limitBody, a.revokeEvaluation)
	admin.GET("/jobs", a.listJobs)
	admin.GET("/jobs/:id", a.getJob)
	admin.GET("/audit", a.listAudit)
	return r, nil
}
