package circuit

import (
	"github.com/consensys/gnark/constraint/solver"

	"github.com/comet-attest/comet/prover/circuit/limbs"
)

// Hints returns the solver hints of Comet's own gadgets; a prover passes them to gnark's
// solver (backend.WithSolverOptions(solver.WithHints(circuit.Hints()...))). They are not
// registered globally. The final circuit also uses gnark's std/rangecheck, whose hint gnark
// registers itself when the package loads.
func Hints() []solver.Hint { return limbs.Hints() }
