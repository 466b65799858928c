// Package statement builds and parses the in-toto Statement v1 documents that
// Comet signs: the training attestation (predicate type TrainingPredicateType)
// whose subject is a model file, the evaluation attestation (predicate type
// EvaluationPredicateType) whose subject is the same model file, and the revocation (predicate type
// RevocationPredicateType) whose subject is an attestation envelope.
//
// Statements are marshalled with protojson as the in-toto Go bindings intend.
// The package checks the shape and syntax of every field (lower-case hex
// digests, decimal strings, known model kinds) but not their meaning: it does
// not know circuits, verifying keys or datasets and does not import the
// prover. The predicate format is documented in docs/attestation.md.
package statement
