package sponge

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"

	"github.com/comet-attest/comet/prover/commitment"
)

type hashCircuit struct {
	Elems  []frontend.Variable
	Digest frontend.Variable `gnark:",public"`
}

func (c *hashCircuit) Define(api frontend.API) error {
	s, err := New(api)
	if err != nil {
		return err
	}
	tag := commitment.ChunkTag()
	d, err := s.Hash(tag, c.Elems)
	if err != nil {
		return err
	}
	api.AssertIsEqual(d, c.Digest)
	return nil
}

// TestAgainstNative checks the in-circuit sponge against prover/commitment.Hash at every block
// boundary: one element, a block less one, a full block, a block and one, two blocks.
func TestAgainstNative(t *testing.T) {
	for _, n := range []int{1, 14, 15, 16, 30, 31} {
		elems := make([]fr.Element, n)
		for i := range elems {
			elems[i].SetUint64(uint64(1000*n + i))
		}
		c := &hashCircuit{Elems: make([]frontend.Variable, n)}
		a := &hashCircuit{Elems: make([]frontend.Variable, n), Digest: commitment.Hash(commitment.ChunkTag(), elems)}
		for i := range elems {
			a.Elems[i] = elems[i]
		}
		if err := test.IsSolved(c, a, ecc.BN254.ScalarField()); err != nil {
			t.Fatalf("%d elements: %v", n, err)
		}
		a.Elems[n-1] = 0 // a trailing zero differs from the native digest
		if n > 0 && test.IsSolved(c, a, ecc.BN254.ScalarField()) == nil && elems[n-1].IsZero() == false {
			t.Fatalf("%d elements: changed input accepted", n)
		}
	}
	if err := test.IsSolved(&hashCircuit{}, &hashCircuit{Digest: 0}, ecc.BN254.ScalarField()); err == nil {
		t.Fatal("empty message accepted")
	}
}
