package circuit

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/comet-attest/comet/prover/commitment"
)

const accumulatorTag = "comet/proof/v2/accumulator"

// AccumulatorTag is TAG_ACC, the capacity element of every accumulator commitment; distinct
// from the commitment's tags, so that no accumulator is ever a chunk or dataset hash.
func AccumulatorTag() fr.Element {
	var e fr.Element
	e.SetBytes([]byte(accumulatorTag))
	return e
}

// Accumulator is a running sum S (Shape.SumLen() entries: the gradient, one per weight, then
// Σ e², Σ Y and Σ Y²) with the random blinding that hides it; its commitment H(TAG_ACC; Blind, S…) is what the proofs make public.
type Accumulator struct {
	Sum   []fr.Element
	Blind fr.Element
}

// ZeroAccumulator is the accumulator before chunk 0: S = 0 and blinding 0. Its commitment is
// a constant of the shape that the verifier requires as chunk 0's AccIn.
func ZeroAccumulator(s Shape) Accumulator {
	return Accumulator{Sum: make([]fr.Element, s.SumLen())}
}

// Commitment is H(TAG_ACC; Blind, Sum…).
func (a Accumulator) Commitment() fr.Element {
	return commitment.Hash(AccumulatorTag(), append([]fr.Element{a.Blind}, a.Sum...))
}

// Add returns a new accumulator holding Sum + g with the given blinding.
func (a Accumulator) Add(g []fr.Element, blind fr.Element) Accumulator {
	out := Accumulator{Sum: make([]fr.Element, len(a.Sum)), Blind: blind}
	for j := range out.Sum {
		out.Sum[j].Add(&a.Sum[j], &g[j])
	}
	return out
}
