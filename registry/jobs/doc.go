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
// On PostgreSQL, QueueLog is worked by the one `comet serve` replica that holds the log-owner
// lease (registry/pglock), from the moment it takes the lease (WorkLog); that replica also
// appends what the others and the `comet worker` processes signed, on a ticker of its own
// rather than as a River periodic job, which a holder killed mid-run would leave "running",
// blocking the next runs until River rescued it.
//
// Where several processes share the queue, a verifying job holds a lease on its submission
// that it renews while it works (registry/service.Leases), and every process adds a periodic
// job that requeues the submissions whose lease went stale: a killed worker's submissions
// finish within seconds instead of waiting out River's rescue_after.
//
// The package does not decide anything about submissions: it calls the Processor given to
// Start, which also says how a submission whose attempts all failed is settled (GiveUp).
package jobs
