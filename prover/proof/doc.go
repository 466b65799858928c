// Package proof makes and checks Comet's proof of training (docs/proof.md): a bundle of
// Groth16 proofs, one per chunk of the committed dataset and one final, showing that a
// model's fixed-point weights W satisfy |X^T(XW − 2^f Y) + ΛW|_∞ ≤ tau on exactly the rows a
// manifest commits to.
//
// Prove streams the rows twice (a check pass that refuses wrong data, a wrong salt or a tau the
// weights do not meet before any proving, then the proving pass), proves chunks on a pool of
// workers sized to a memory limit, and keeps each chunk's proof in a work directory so that an
// interrupted run resumes. Verify needs no data and no salt: it rebuilds every public input
// from the manifest, the model and the bundle's accumulator chain, checks the proofs with
// verifying keys the caller trusts, and reports each check.
//
// What it does not do: it does not make keys (prover/setup) and does not decide which keys to
// trust; a verifier that uses keys shipped beside a proof proves nothing. The proofs are zero
// knowledge about the rows, but the statement itself is public: n, d, the format, the
// weights, Λ and tau.
package proof
