// Package tlog is Comet's append-only transparency log: a tessera v1.0.4 log
// on local disk (POSIX storage) holding leaf records (package leaf), with
// C2SP signed-note checkpoints, optional witness cosignatures, and
// deduplication so that appending the same leaf twice returns one index.
//
// The log directory follows C2SP tlog-tiles exactly (see Paths): the registry
// serves "checkpoint", "tile/..." and "tile/entries/..." from Dir as static
// files. Private state lives under ".state" and must not be served.
//
// Deduplication has two layers. Tessera's in-memory antispam collapses
// concurrent submissions of the same leaf. For persistence across restarts,
// Open reads every entry already in the log and keeps a map from entry
// identity (SHA-256 of the leaf bytes) to index, about 80 bytes per entry;
// the log itself is the durable record, so no second store can disagree
// with it.
//
// Proofs are computed from the tiles on disk with tessera's client package
// and are checked by package verify with transparency-dev/merkle.
//
// The package does not serve HTTP and does not know what a leaf means.
package tlog
