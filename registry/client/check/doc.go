// Package check is the whole of `comet verify` but its flags: it fetches what a model's
// attestation rests on from a registry (model file, client bundle, revocation, proof,
// manifest, the circuits' verifying keys, the evaluations, the log's tiles for consistency
// with the last checkpoint seen), checks it with attest/verify against a trust root the client
// pinned, judges the report (a required check that did not run fails unless waived) and
// writes it as lines. The CLI and the in-browser verifier (web/wasm) both run it, so their
// reports are the same by construction; what differs between them sits behind two small
// interfaces: where the client's state is kept (clientstate.Store: a directory, or the
// browser's localStorage) and where fetched verifying keys are kept (Keys).
package check
