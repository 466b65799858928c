// Package pipeline is the provider's dataset pipeline as a library: a CSV file on the
// provider's machine to a committed dataset, and the committed rows back, exactly as
// `comet dataset commit`, `comet dataset verify` and `comet train` do it.
//
//   - [Commit] reads the CSV once, streaming, and returns its manifest (docs/manifest.md): the
//     canonical rows of prover/dataset hashed into the salted chunk commitments of
//     prover/commitment, the file's digest keyed from the salt, and, when the features came
//     from `comet dataset featurize`, the public part of its featurization record.
//   - [Verify] checks a file against a manifest (header, every chunk, the file digest) and
//     names the first thing that differs as a [*MismatchError].
//   - [ReadCommitted] loads the committed rows for training, refusing a file that differs.
//   - [Train] fits a model on them and records the dataset commitment in it.
//
// A manifest is private unless [CommitOptions.Public] says otherwise: then, and only then, it
// carries the file's plain SHA-256 and the salt, so that anyone holding the public file can
// recompute everything.
//
// What it does not do: it draws, stores and publishes no salt (commitment.LoadOrNewSalt and
// WriteSalt keep one beside the data), writes no files, featurizes no text (prover/featurize), and
// proves nothing (prover/proof). Verify does not tell a wrong salt from a different dataset:
// both change every chunk, and the error says so.
package pipeline
