// Package api is the registry's REST API in gin, under /v1, as described by
// docs/openapi.yaml (the tests check every response against it): provider registration,
// submissions, lookup by model hash, the client bundle, revocations, the published circuit
// keys and trust root, the log's tiles and checkpoint at their C2SP paths (/v1/log/...),
// jobs with their state, anchors, and the admin routes. It also serves /healthz, /readyz and
// /metrics.
//
// Errors are JSON {"error": {"code", "message", "field"?}} with the matching 4xx; a 500
// never carries internal detail. Request bodies are size-limited and decoded strictly
// (unknown fields, trailing data and wrong types are 400s naming the field). Lists are
// paginated with an opaque cursor. Immutable objects (envelopes, model files, revocations,
// circuit keys, full log tiles) carry strong ETags and answer If-None-Match with 304.
// Authenticated requests are rate-limited per API key; registration per client address.
//
// Handlers are methods on API, one file per resource (models, submissions, attestations,
// providers, keys, trust root, log, admin), which reach the registry through the Registry
// and Jobs interfaces declared in api.go: who may do what is the service's rule, a handler
// only translates HTTP to a call and its answer or error back. All routes are in router.go.
// gin's mode is process-wide, so the program that serves the API sets it, not New.
package api
