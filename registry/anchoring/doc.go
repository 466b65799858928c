// Package anchoring connects the registry and its clients to chain/anchor: Chain is the
// registry job's jobs.Anchorer over an anchoring client (prepare and record before
// broadcasting, look up after a restart), and Checker is the verifier's
// verify.AnchorChecker, which reads the root the contract holds at the anchored size.
//
// It maps chain/anchor's classified errors onto the sentinels the job branches on; it does
// not decide when to anchor (registry/jobs does), and it never sends from a Checker.
package anchoring
