// Package contract holds the Cairo 2 source of the Comet anchor contract
// (src/lib.cairo, a Scarb project) and the Go side of its interface.
//
// anchor_abi.json is the contract's ABI, written by hand to match
// src/lib.cairo (no Cairo compiler runs where this is built). Everything Go
// needs to talk to the contract is derived from that one file here: entry
// point selectors and event keys (starknet_keccak of the names), calldata and
// result encoding (felt252 and u64 as one felt each, u256 as low then high
// u128 felts), and the storage addresses of the anchored roots. Both the
// client (chain/anchor) and the loopback node (chain/starknettest) use this
// package, so the two cannot encode differently.
//
// A log is identified on chain by LogID(origin) = starknet_keccak(origin),
// the checkpoint's origin line, because origins are often longer than the
// 31 bytes a Cairo short string holds.
//
// It does not compile, declare or deploy the contract (see chain/README.md)
// and does not talk to a node.
package contract
