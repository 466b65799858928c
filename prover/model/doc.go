// Package model holds Comet's model file: the trained weights (float and fixed-point), the
// fixed-point format, the dataset commitment they were trained on, training metrics, the
// integer optimality residual, and a SHA-256 over a canonical encoding that identifies the
// model everywhere else (it is the attestation subject).
//
// docs/model.md is the normative description of the fields, the canonical encoding and the
// hash. [Load] and [Unmarshal] accept only a file that is complete, consistent and whose
// hash matches; [Model.Seal] computes the hash of a model built in memory.
//
// The package does not train (see prover/train) and does not check the weights against the
// data: that is what the proof does.
package model
