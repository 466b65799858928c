// Package commitment computes Comet's hiding dataset commitment natively: the salt, the
// packing of fixed-point values into BN254 field elements, the Poseidon2 sponge, the chunk
// commitments and the dataset commitment C, and the manifest that records them together with
// digests of the original file keyed from the salt (docs/manifest.md).
//
// The layout is normative and written down in docs/commitment.md; golden vectors in
// testdata/ pin it, and prover/circuit recomputes chunk commitments in a proof with exactly
// the same layout. Changing anything here changes every commitment ever published, so a
// change needs a new format version, not an edit.
//
// What it does not do: it does not make a low-entropy dataset safe without the salt (the salt
// is what hides the rows; keep the salt file private and never reuse one across unrelated
// datasets you might want to keep unlinkable), and C does not bind the original file bytes:
// the manifest's file_digest does that, for people who hold the file and the salt. It does
// not read CSV files or featurization records: prover/pipeline takes a file to a manifest.
package commitment
