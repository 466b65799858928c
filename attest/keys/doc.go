// Package keys generates, stores and loads the Ed25519 keys of a Comet
// deployment: the registry's attestation key, the log's checkpoint key and the
// witnesses' cosigning keys.
//
// Keys use the C2SP signed-note text encoding (golang.org/x/mod/sumdb/note):
// a private key is "PRIVATE+KEY+<name>+<hash>+<base64>" and a public
// (verifier) key is "<name>+<hash>+<base64>", where <hash> is the signed-note
// key hash of the name and public key. A key id is "<name>+<hash>", the way a
// signed note names the key that made a signature; DSSE signatures carry the
// same id.
//
// The package does not decide which key is trusted or for how long: validity
// windows and revocations live in the trust root (package trustroot).
package keys
