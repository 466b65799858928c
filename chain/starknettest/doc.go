// Package starknettest runs a loopback Starknet JSON-RPC node for tests: a
// real HTTP server on 127.0.0.1 that real clients talk to: starknet.go, which
// chain/anchor is built on, and starknet.js (TestStarknetJS).
//
// It speaks JSON-RPC 2.0 as that specification says: a method's params come
// by position or by name (an object, keys in any order), for every method;
// the v0.9.0 documents mark the transaction lookups by-name, but starknet.go
// sends those by position, and Juno and Pathfinder take both. A batch (an
// array of requests) is answered with an array of responses in order; an
// empty batch with one Invalid Request error; a notification (a request with
// no id member) is run but never answered, in a batch or alone (HTTP 204 when
// nothing is left to answer).
//
// Every request's params and every response's result (and error code) are
// validated against the official OpenRPC documents of JSON-RPC v0.9.0, read
// at run time from <repo>/../shared/starknet-specs/v0.9.0/api. A violation is
// reported through the test's testing.TB (Errorf) and answered with a
// JSON-RPC error, so neither the client nor the node can drift from the spec
// without failing a test.
//
// The node keeps accounts (each with a Stark-curve public key), blocks,
// receipts, events and contract storage. It checks each INVOKE v3
// transaction's nonce, and its signature over the transaction hash (computed
// as starknet.go's hash package does) the way an OpenZeppelin or Argent
// account does, by Cairo's check_ecdsa_signature: the signature equation,
// which takes s and n−s alike. starknet.go's own check demands the low s, but
// starknet.js does not normalise s, so about half of its signatures have the
// high one. It decodes the Cairo 2 multicall calldata of an
// OpenZeppelin-style account's __execute__ and runs the anchor contract's
// logic in Go through chain/contract, the same ABI encoding the
// client uses. Fees follow a fixed, documented model (see FeeModel).
//
// Faults can be injected: JSON-RPC errors, HTTP 503 (for the whole HTTP
// request, so for a whole batch), slow answers, reverted
// transactions, a transaction that stays RECEIVED forever, and a transaction
// that is dropped from the mempool (later lookups answer "not found").
//
// NewAnchored sets up what an operator's anchoring configuration names: a
// node with an owner account, its private key in a file, and a deployed anchor
// contract it owns.
//
// TestStarknetJS runs testdata/js/anchor.mjs with Node.js against a node the
// test starts: starknet.js at the exact version of testdata/js/package.json
// and its package-lock.json, installed by `npm ci --prefix
// chain/starknettest/testdata/js` (.ci/run does it; node_modules is not
// committed). Without that install the test fails and says so, unless -short.
//
// It does not run Cairo, charge balances, or model L1, reorgs or other
// transaction types than INVOKE v3.
package starknettest
