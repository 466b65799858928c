// Package provequeue spreads the chunk proofs of one comet prove run over machines through
// a River queue on PostgreSQL: the planner enqueues one job per chunk and waits, workers on
// any machine prove chunks and store their proofs, and the planner assembles the bundle
// (docs/proof.md, "Distributed proving").
//
// The salt and each chunk's accumulator are secret; a job carries them only sealed with
// AES-256-GCM under a key the planner and its workers read from a file, bound to the run
// and the chunk, so that neither the database nor anyone reading it learns them.
package provequeue
