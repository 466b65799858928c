// Package commitment computes Comet's hiding dataset commitment natively: the salt, the
// packing of fixed-point values into BN254 field elements, the Poseidon2 sponge, the chunk
// commitments and the dataset commitment C, and the public manifest that records them.
//
// The layout is normative and written down in docs/commitment.md; golden vectors in
// testdata/ pin it, and prover/circuit recomputes chunk commitments in a proof with exactly
// the same layout. Changing anything here changes every commitment ever published, so a
// change needs a new format version, not an edit.
//
// What it does not do: it does not make a low-entropy dataset safe without the salt (the salt
// is what hides the rows; keep the salt file private and never reuse one across unrelated
// datasets you might want to keep unlinkable), and it does not bind the original file bytes:
// the SHA-256 in the manifest does that, for people who hold the file.
package commitment
