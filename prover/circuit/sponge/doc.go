// Package sponge computes, inside a gnark circuit, the Poseidon2 sponge H(tag; e_0 … e_{L-1})
// of docs/commitment.md: width 16, 8 full and 57 partial rounds with gnark-crypto's BN254
// constants, the tag in the capacity element, 15 elements added to the rate per permutation,
// the last block zero-padded, digest s[1]. prover/commitment.Hash is the native reference and
// the tests check the two agree.
//
// What it does not do: it does not pad or separate messages of different lengths. The caller
// must fix the number of elements from public values (a circuit shape fixes it at compile
// time) and use distinct tags for distinct uses; otherwise two messages that differ only by
// trailing zeros hash alike. It works over BN254 only, the field the commitment is defined in.
package sponge
