// Package verify is the offline verifier: given a client bundle, the model
// file's digest and a trust root, it checks that the registry signed this
// claim with a key valid at the time, that the claim is about this model,
// that the log holds exactly this claim at the stated index, and that the
// log's checkpoint is signed by the log and cosigned by enough witnesses.
//
// Trust comes only from the trustroot.Root given to NewVerifier, never from
// the bundle. What the caller expects of this one attestation (the model
// digest, the provider, the revocations it knows of, an older checkpoint it
// already trusts) is a Policy. Verify returns a Report with one line per
// check, each passed, failed or not checked; a check that was not performed
// is never reported as passed, and Verify returns a non-nil error whenever a
// required check fails.
//
// Two checkpoints of one log that cannot both be honest (same size with
// different roots, or a consistency proof that does not hold) are returned
// as *SplitView, which keeps both signed checkpoints and the proof as
// evidence.
//
// An anchor receipt (bundle.AnchorReceipt) is tied to a log-signed
// checkpoint: the bundle's own, or the bundled anchored checkpoint proven to
// be its prefix. The verifier then reads, through an AnchorReader, the root the
// contract holds at that checkpoint's size and compares it itself, so that
// what the chain says is judged here and not by whoever reads it; without a
// reader the anchor is reported "not checked (offline)", never as passed. A
// root the chain contradicts is kept as *AnchorMismatch evidence.
//
// The zero-knowledge proof is checked by a ProofChecker the caller passes in
// (ProofFiles checks proof material at hand with prover/proof, against verifying keys
// whose hashes the trust root pins), and what it proves is tied to the signed statement
// field by field (TrainingClaim): the bundle digest, both circuits, the model, the
// provider, the dataset, Λ, tau, the metrics, the guarantee and the featurizer. Without
// a checker the proof is reported "not checked", never as passed.
//
// The verifier fetches nothing itself: the chain is read only through the
// AnchorReader the caller passes in (*chain/anchor.Client is one).
package verify
