package sponge

import (
	"fmt"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/permutation/poseidon2"

	"github.com/comet-attest/comet/prover/commitment"
)

// Sponge hashes in a circuit. It holds the permutation's round constants and is reused for
// every hash of one circuit.
type Sponge struct {
	api  frontend.API
	perm *poseidon2.Permutation
}

// New builds the width-16 permutation of docs/commitment.md for api's field.
func New(api frontend.API) (*Sponge, error) {
	perm, err := poseidon2.NewPoseidon2FromParameters(api, commitment.Width, commitment.FullRounds, commitment.PartialRounds)
	if err != nil {
		return nil, fmt.Errorf("poseidon2 permutation: %w", err)
	}
	return &Sponge{api: api, perm: perm}, nil
}

// Hash returns H(tag; elems…). The tag is usually a constant; elems may be any linear
// expressions (packed values cost no constraint before they enter the permutation).
func (s *Sponge) Hash(tag frontend.Variable, elems []frontend.Variable) (frontend.Variable, error) {
	var state [commitment.Width]frontend.Variable
	state[0] = tag
	for i := 1; i < len(state); i++ {
		state[i] = 0
	}
	used := 0
	for _, e := range elems {
		state[1+used] = s.api.Add(state[1+used], e)
		used++
		if used == commitment.Rate {
			if err := s.perm.Permutation(state[:]); err != nil {
				return nil, fmt.Errorf("permutation: %w", err)
			}
			used = 0
		}
	}
	if used > 0 || len(elems) == 0 {
		// The native sponge permutes a partly filled block; an empty message is never hashed
		// by Comet, and refusing it keeps the two implementations from diverging on it.
		if len(elems) == 0 {
			return nil, fmt.Errorf("sponge: empty message")
		}
		if err := s.perm.Permutation(state[:]); err != nil {
			return nil, fmt.Errorf("permutation: %w", err)
		}
	}
	return state[1], nil
}
