// Package starknettest runs a loopback Starknet JSON-RPC node for tests: a
// real HTTP server on 127.0.0.1 that the real starknet.go client talks to.
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
// transaction's signature over the transaction hash computed as starknet.go's
// hash package does, and its nonce; it decodes the Cairo 2 multicall calldata
// of an OpenZeppelin-style account's __execute__ and runs the anchor
// contract's logic in Go through chain/contract, the same ABI encoding the
// client uses. Fees follow a fixed, documented model (see FeeModel).
//
// Faults can be injected: JSON-RPC errors, HTTP 503, slow answers, reverted
// transactions, a transaction that stays RECEIVED forever, and a transaction
// that is dropped from the mempool (later lookups answer "not found").
//
// NewAnchored sets up what an operator's anchoring configuration names: a
// node with an owner account, its private key in a file, and a deployed anchor
// contract it owns.
//
// It does not run Cairo, charge balances, or model L1, reorgs or other
// transaction types than INVOKE v3.
package starknettest
