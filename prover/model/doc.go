// Package model holds Comet's model file: the trained weights (fixed-point, and floats tied
// to them), the fixed-point format, the dataset commitment they were trained on, the proven
// training metrics and the integer optimality residual. The file is its own canonical
// encoding, so the SHA-256 of its bytes identifies the model everywhere else (it is the
// attestation subject).
//
// docs/model.md is the normative description of the fields, the float box rule, the
// metrics ([DeriveMetrics]) and the encoding. [Load] and [Unmarshal] accept only a file that
// is complete, consistent and canonical; [Model.Seal] computes the identity of a model built
// in memory and [Model.Marshal] writes its file.
//
// The package does not train (see prover/train) and does not check the weights or the
// metrics' integers against the data: that is what the proof does.
package model
