// Package registrytest makes real submission material for the registry's tests and benchmarks: a
// small synthetic dataset committed, trained on and proven with keys from a real Groth16
// setup (prover/setup), published in a keys directory as a registry publishes them. Nothing
// is faked: every proof verifies with prover/proof.
//
// Variant gives any number of distinct models with valid proofs cheaply: it changes only a
// training metric, which the model hash covers but the proof does not, and renames the proof
// bundle's model accordingly.
package registrytest
