// Package setup makes, stores and loads the Groth16 keys of Comet's circuits (one pair per
// circuit of a circuit.Shape), each named by its circuit id and its verifying key's SHA-256.
//
// Keys live in one directory per shape under a keys root: keys.json (the shape, circuit ids,
// verifying-key hashes and constraint counts), the verifying keys in gnark's canonical
// compressed encoding (so that sha256sum of the file is the published hash), and the proving
// keys and compiled constraint systems in gnark's raw encoding, which loads several times
// faster. Load refuses a directory made for another shape, another circuit version or another
// gnark version, and a verifying key whose hash differs from keys.json.
//
// What it does not do: Generate is a single-party setup whose secret ("toxic waste") lives in
// this process's memory while it runs; whoever runs it could forge proofs. It is for local
// testing and for a registry that publishes keys it is trusted to have made honestly. A
// multi-party ceremony (package prover/ceremony, on gnark's backend/groth16/bn254/mpcsetup,
// where one honest participant per phase suffices) replaces it for production keys; its keys
// are saved here with Keys.Ceremony naming the transcript; see docs/proof.md. Verifiers must pin the
// verifying-key hashes they accept and never trust a key that arrives with a proof. Load
// decodes a verifying key only after its bytes hash to the value in keys.json, but a keys
// directory whose keys.json and keys were both made by an attacker can still make gnark's
// decoder allocate without bound: compare keys.json's hashes with the pinned ones before
// loading keys from a source you do not control.
package setup
