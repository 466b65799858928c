// Package clientstate is what a verifying client remembers between runs, so that each run
// checks more than the last one could: the trust root it pinned for each registry, and the
// newest checkpoint of each log it verified. comet verify keeps it in a directory; the
// browser verifier keeps it in the visitor's storage (any Store).
//
//   - Trust roots are pinned on first use, or from a file the user chose (Pin), and then only
//     ever move forward along the registry's signed chain (Update walks it with
//     attest/trustroot, which refuses a version its predecessor did not sign, an expired
//     newest one and a rollback).
//   - Checkpoints are remembered newest-first (Remember keeps the larger tree), so that the
//     next run can demand that the log's new checkpoint extends it; Consistency builds that
//     proof from the log's public tiles with tessera's client, asking the registry for
//     nothing it could tailor.
//
// It verifies nothing itself beyond what choosing a proof needs: attest/verify checks the
// checkpoints and the proof against the trust root.
package clientstate
