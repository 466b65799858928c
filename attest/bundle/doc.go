// Package bundle defines the client bundle: everything a client needs to
// verify one attestation offline against a trust root. A bundle holds the
// DSSE envelope, the log leaf, its index, the inclusion proof, the signed
// checkpoint (with witness cosignatures), optionally a consistency proof to
// another checkpoint, and optionally a Starknet anchor receipt (AnchorReceipt,
// read with ParseAnchorReceipt).
//
// The format is versioned JSON (version 1), documented in
// docs/attestation.md and pinned by testdata/bundle.golden. Parse checks the
// shape and sizes of every field but verifies nothing; package verify does.
package bundle
