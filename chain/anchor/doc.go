// Package anchor anchors transparency-log checkpoints on Starknet and reads
// them back. It is a client of the Comet anchor contract (chain/contract)
// built on github.com/NethermindEth/starknet.go v0.17.1 (JSON-RPC v0.9.0).
//
// Sending is split in two so that a caller can make anchoring idempotent
// across restarts: Prepare builds, fee-estimates and signs an INVOKE v3
// transaction and returns its hash before anything is broadcast; Submit
// broadcasts it; WaitReceipt polls for the receipt; LookupTx answers, after a
// restart, what became of a recorded hash (pending, accepted, reverted, or
// unknown to the node and so safe to send again). Anchor does all of it.
//
// Errors are wrapped with context and carry one of the sentinel errors of
// errors.go; Retryable says whether trying again later may succeed.
//
// It knows nothing of the registry, its database or its jobs, and it does not
// declare or deploy the contract (see chain/README.md).
package anchor
