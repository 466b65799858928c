// Package keyset is the registry's published set of circuit keys and the proof checker that
// uses only them.
//
// The keys directory (registry.circuit_keys_dir) holds one directory per circuit shape as
// prover/setup writes it (keys.json, <circuit>.vk, <circuit>.pk, <circuit>.r1cs). Open reads
// every keys.json so that the API can publish each circuit by id (GET /v1/keys/{id}), and
// Checker verifies a submission's proof bundle with prover/proof against the verifying keys
// loaded from this directory, by the shape the bundle names, never against a key that
// arrives with a submission. A bundle naming a circuit or verifying-key hash that is not
// published is refused before any proof is checked.
//
// The package does not make keys (comet setup does) and does not watch the directory: a
// restart publishes new shapes.
package keyset
