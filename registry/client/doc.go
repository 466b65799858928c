// Package client is a Go client of the registry's REST API (docs/api.md), used by the comet
// CLI (submit, lookup, verify, admin) and by the tests and benchmarks. It has a typed method
// for every resource; answers decode into the API's wire types (registry/wire), documents a
// client keeps verbatim (bundles, proofs, manifests, trust roots) come back as bytes, and
// key files stream into a writer. It links nothing of the server: no HTTP framework, store,
// job queue or prover.
//
// An error response is an *APIError carrying its status, code, message and field; it wraps
// the sentinel of its status (ErrNotFound, ErrConflict, ...), so callers branch with
// errors.Is.
//
// The client trusts nothing it fetches: verifying what it gets (bundles, checkpoints,
// revocations) is attest/verify's job, against a trust root the caller chooses.
package client
