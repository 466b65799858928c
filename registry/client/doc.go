// Package client is a Go client of the registry's REST API (docs/api.md), used by the comet
// CLI (submit, lookup, verify, admin) and by the tests and benchmarks. Responses decode into
// the API's own types (registry/api); an error response is an *APIError carrying its status,
// code, message and field.
//
// The client trusts nothing it fetches: verifying what it gets (bundles, checkpoints,
// revocations) is attest/verify's job, against a trust root the caller chooses.
package client
