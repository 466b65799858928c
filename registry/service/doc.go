// Package service holds the registry's rules: who may do what (admin and provider keys,
// checked in constant time), which status follows which (providers pending → approved ⇄
// suspended; submissions received → verifying → logged, or rejected naming the failed
// check; a submission claims nothing, and a model's one attestation goes to the first of its
// submissions to pass verification, whoever else submitted the file), and the transactions
// that make each acknowledged write atomic. A job that a write causes is inserted through
// Enqueuer in the same transaction, so an acknowledged submission always has its job.
//
// Work that the jobs run (ProcessSubmission, LogRevocation) is idempotent: the signed
// envelope is stored before it is appended, the log deduplicates leaves, and recording the
// index is a conditional update, so a job that runs twice, or is cut short at any point,
// logs nothing twice. Reconcile runs at start-up to finish what a crash interrupted.
//
// The service does not parse HTTP, does not know River and does not verify proofs itself:
// it calls the ProofChecker it is given, which verifies only against the registry's own
// published verifying keys.
package service
