// Package circuit holds Comet's gnark circuits for the proof of training (docs/proof.md) and
// the native code that prepares their witnesses:
//
//   - Chunk, one per chunk of R rows: the rows and the salt hash to the chunk's commitment
//     with exactly the layout of docs/commitment.md, every value is in its b-bit range, the
//     padding rows are zero, and the chunk's gradient contribution X^T(XW − 2^f Y) is added
//     to a hidden running sum whose blinded commitments chain the chunk proofs together;
//   - Final: opens the last running sum S, adds ΛW and proves |S + ΛW|_∞ ≤ tau.
//
// A Shape (d, R, b, f, intercept) fixes both circuits at compile time; Shape.ID names them.
// CheckBounds is the one place that decides whether a statement's integers can wrap around
// the field, and refuses it if so. The gadgets live in sub-packages: sponge (the in-circuit
// Poseidon2 sponge) and limbs (range checks by lookup).
//
// What it does not do: it does not set up keys (prover/setup), prove or verify (prover/proof),
// or check the values a verifier must take from elsewhere (the chunk commitments from the
// manifest, the weights from the model); the circuits only tie them together.
package circuit
