package circuit

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"

	"github.com/comet-attest/comet/prover/circuit/limbs"
)

// Hints returns the solver hints of Comet's own gadgets; a prover passes them to gnark's
// solver (backend.WithSolverOptions(solver.WithHints(circuit.Hints()...))). They are not
// registered globally. The final circuit also uses gnark's std/rangecheck, whose hint gnark
// registers itself when the package loads.
func Hints() []solver.Hint { return append(limbs.Hints(), wireHint) }

// wireHint returns its input: the value of a linear combination, for wire.
func wireHint(_ *big.Int, in, out []*big.Int) error {
	out[0].Set(in[0])
	return nil
}

// wire returns a single wire equal to the linear combination v, at one constraint (v · 1 =
// w). Groth16 proves with one G1 and one G2 multi-exponentiation term for every wire that
// appears on the right of some constraint (gnark drops the others from pk.G1.B and pk.G2.B),
// and a product puts the operand with fewer terms there: a value's limbs, multiplied as an
// LC, or a packed element absorbed into the sponge, would each put all their terms there.
// One wire in their place costs one constraint and saves the rest (docs/proof.md, issue 17).
func wire(api frontend.API, v frontend.Variable) (frontend.Variable, error) {
	w, err := api.Compiler().NewHint(wireHint, 1, v)
	if err != nil {
		return nil, fmt.Errorf("wire hint: %w", err)
	}
	api.AssertIsEqual(v, w[0])
	return w[0], nil
}
