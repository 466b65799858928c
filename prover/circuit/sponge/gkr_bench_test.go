package sponge

import (
	"fmt"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	gkrposeidon2 "github.com/consensys/gnark/std/permutation/poseidon2/gkr-poseidon2"

	"github.com/comet-attest/comet/prover/commitment"
)

// gkrChainCircuit hashes its elements with gnark's GKR Poseidon2 compression (width 2,
// Merkle–Damgård: h ← compress(h, e)), the gadget issue 17 asked to measure against the
// width-16 sponge.
type gkrChainCircuit struct {
	Elems  []frontend.Variable
	Digest frontend.Variable `gnark:",public"`
}

func (c *gkrChainCircuit) Define(api frontend.API) error {
	comp, err := gkrposeidon2.NewCompressor(api)
	if err != nil {
		return err
	}
	h := frontend.Variable(commitment.ChunkTag())
	for _, e := range c.Elems {
		h = comp.Compress(h, e)
	}
	api.AssertIsEqual(h, c.Digest)
	return nil
}

// BenchmarkHashConstraints compiles a circuit that hashes n elements, with the width-16
// sponge the chunk circuit uses and with gnark's GKR Poseidon2 compression, and reports the
// R1CS constraints per element. It proves nothing: the figure is the circuit's size, which
// proving time follows. A chunk of 1,024 rows at d = 8, b = 32 hashes about 1,300 elements;
// the largest chunk a 2^20 proving key allows about 10,000.
//
//	go test ./prover/circuit/sponge -run '^$' -bench HashConstraints -benchtime 1x
func BenchmarkHashConstraints(b *testing.B) {
	for _, n := range []int{1_024, 8_192, 65_536} {
		for _, tc := range []struct {
			name    string
			circuit func([]frontend.Variable) frontend.Circuit
		}{
			{"sponge16", func(e []frontend.Variable) frontend.Circuit { return &hashCircuit{Elems: e} }},
			{"gkr2", func(e []frontend.Variable) frontend.Circuit { return &gkrChainCircuit{Elems: e} }},
		} {
			b.Run(fmt.Sprintf("n%d/%s", n, tc.name), func(b *testing.B) {
				var nb int
				for b.Loop() {
					cs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, tc.circuit(make([]frontend.Variable, n)))
					if err != nil {
						b.Fatal(err)
					}
					nb = cs.GetNbConstraints()
				}
				b.ReportMetric(float64(nb), "constraints")
				b.ReportMetric(float64(nb)/float64(n), "constraints/element")
			})
		}
	}
}
