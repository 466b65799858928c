// Package jobs runs the registry's background work on River: verifying a submission
// (verify proof → sign attestation → append to the log), appending a revocation to the log,
// and, when an Anchorer is configured, anchoring the log's checkpoint on Starknet.
//
// The queue uses River's riversqlite driver on the embedded SQLite set-up (sharing the
// store's single writer connection) and riverpgxv5 on PostgreSQL. Jobs are inserted with
// InsertTx inside the store transaction that causes them (Queue implements
// service.Enqueuer), so a job exists exactly when its domain write committed. Job arguments
// are plain JSON with stable kinds; the work itself is idempotent (see registry/service), so
// River's retries with exponential backoff and the rescue of jobs whose worker died are
// safe. After the last attempt fails, the submission is rejected with the check "internal"
// rather than left in "verifying" forever.
//
// The package does not decide anything about submissions: it calls the Processor given to
// Start.
package jobs
