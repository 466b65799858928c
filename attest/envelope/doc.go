// Package envelope signs and verifies the DSSE envelopes
// (github.com/secure-systems-lab/go-securesystemslib/dsse) that carry Comet
// statements, with payload type application/vnd.in-toto+json and Ed25519
// keys from package keys. The registry signs every envelope; a provider may
// add its own signature over the same payload (CoSign).
//
// The envelope digest, which the log leaf and revocations refer to, is
// SHA-256 of the DSSE pre-authentication encoding PAE(payloadType, payload):
// it names exactly what was signed, so it does not change when a co-signature
// is added or when base64 is re-encoded.
//
// Verify checks signatures against keys the caller trusts; it does not decide
// whether a key was valid at the time of signing (package verify does).
package envelope
