// Package trustroot holds what a client trusts before it sees any bundle:
// the registry's signing keys with their validity windows and revocations,
// the log's origin and checkpoint key, the witnesses and how many of them
// must cosign, the pinned verifying-key digest of each circuit, and the
// Starknet contract the log is anchored to.
//
// A trust root is a small JSON file (format version 1, documented in
// docs/attestation.md) that a client gets out of band. Parse is strict: it
// rejects unknown fields, duplicate keys, and windows that end before they
// start. The package only describes trust; package verify applies it.
package trustroot
