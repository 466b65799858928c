package circuit

import (
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
)

// tiny is the smallest shape of the proof tests: real Groth16 runs on it take well under a
// second.
var tiny = Shape{Features: 2, ChunkRows: 8, ValueBits: 24, FractionBits: 12, Intercept: true}

type keyed struct {
	cs constraint.ConstraintSystem
	pk groth16.ProvingKey
	vk groth16.VerifyingKey
}

func setupCircuit(t *testing.T, placeholder frontend.Circuit) keyed {
	t.Helper()
	cs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, placeholder)
	if err != nil {
		t.Fatal(err)
	}
	pk, vk, err := groth16.Setup(cs)
	if err != nil {
		t.Fatal(err)
	}
	return keyed{cs, pk, vk}
}

func (k keyed) prove(t *testing.T, assignment frontend.Circuit) (groth16.Proof, witness.Witness) {
	t.Helper()
	w, err := frontend.NewWitness(assignment, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	pr, err := groth16.Prove(k.cs, k.pk, w, backend.WithSolverOptions(solver.WithHints(Hints()...)))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := w.Public()
	if err != nil {
		t.Fatal(err)
	}
	return pr, pub
}

// TestPublicInputsBind checks, on real keys of both circuits, that no public input has the
// point at infinity as its verifying-key base: such an input would be part of the statement
// in name only, since a proof would verify whatever its value (the fate of the removed
// CommitBlind, and of a binding nobody constrains).
func TestPublicInputsBind(t *testing.T) {
	for _, c := range []struct {
		name        string
		placeholder frontend.Circuit
	}{{"chunk", NewChunk(tiny)}, {"final", NewFinal(tiny)}} {
		t.Run(c.name, func(t *testing.T) {
			k := setupCircuit(t, c.placeholder)
			vk := k.vk.(*groth16bn254.VerifyingKey)
			public := k.cs.GetNbPublicVariables() // the constant 1 first
			if len(vk.G1.K) < public {
				t.Fatalf("%d bases for %d public variables", len(vk.G1.K), public)
			}
			for i := 1; i < public; i++ {
				if vk.G1.K[i].IsInfinity() {
					t.Errorf("public input %d has the point at infinity as its base: it binds nothing", i-1)
				}
			}
		})
	}
}

// TestFinalBinding proves the final circuit for real and verifies it with each binding half,
// each metric and tau changed: every change must fail verification.
func TestFinalBinding(t *testing.T) {
	k := setupCircuit(t, NewFinal(tiny))
	sum := make([]fr.Element, tiny.SumLen())
	sum[0].SetInt64(-5)
	sum[tiny.Columns()].SetInt64(4000)
	sum[tiny.Columns()+1].SetInt64(-12)
	sum[tiny.Columns()+2].SetInt64(77)
	acc := Accumulator{Sum: sum, Blind: newBlinding(t)}
	a, err := tiny.AssignFinal(FinalInput{Acc: acc, Weights: []*big.Int{big.NewInt(3), big.NewInt(-4), big.NewInt(5)},
		Lambda: big.NewInt(2), Tau: big.NewInt(8),
		Binding: Binding{Model: [32]byte{0: 0xab, 31: 0xcd}, Provider: [32]byte{7: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	pr, pub := k.prove(t, a)
	if err := groth16.Verify(pr, k.vk, pub); err != nil {
		t.Fatalf("honest final proof: %v", err)
	}
	values := pub.Vector().(fr.Vector)
	names := []string{"acc"}
	for j := range tiny.Features {
		names = append(names, "weight "+string(rune('0'+j)))
	}
	names = append(names, "lambda", "tau", "ssr", "sum_y", "sum_y2", "model hi", "model lo", "provider hi", "provider lo")
	if len(names) != len(values) {
		t.Fatalf("%d public inputs, expected %d (%s)", len(values), len(names), strings.Join(names, ", "))
	}
	for i, name := range names {
		edited := make(fr.Vector, len(values))
		copy(edited, values)
		one := fr.One()
		edited[i].Add(&edited[i], &one)
		w, err := witness.New(ecc.BN254.ScalarField())
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan any, len(edited))
		for _, v := range edited {
			ch <- v
		}
		close(ch)
		if err := w.Fill(len(edited), 0, ch); err != nil {
			t.Fatal(err)
		}
		if groth16.Verify(pr, k.vk, w) == nil {
			t.Errorf("the proof verifies with %s changed", name)
		}
	}
}

// TestCommitmentMasked fails if gnark stops masking its BSB22 commitment: two proofs of the
// same witness must carry different commitments. Unmasked, the commitment would be a
// deterministic function of the committed limbs that anyone could test guesses against.
func TestCommitmentMasked(t *testing.T) {
	k := setupCircuit(t, NewChunk(tiny))
	values := []int64{1, -2, 3, 4, 5, -6}
	var salt [32]byte
	in := ChunkInput{Values: values, Salt: salt, Weights: []*big.Int{big.NewInt(1), big.NewInt(2), big.NewInt(3)},
		In: ZeroAccumulator(tiny), Blind: fr.NewElement(11)}
	a, _, err := tiny.Assign(in)
	if err != nil {
		t.Fatal(err)
	}
	p1, _ := k.prove(t, a)
	p2, _ := k.prove(t, a)
	c1, c2 := p1.(*groth16bn254.Proof).Commitments, p2.(*groth16bn254.Proof).Commitments
	if len(c1) == 0 || len(c1) != len(c2) {
		t.Fatalf("%d and %d commitments", len(c1), len(c2))
	}
	for i := range c1 {
		if c1[i].Equal(&c2[i]) {
			t.Fatalf("commitment %d is the same in two proofs of one witness: gnark no longer masks it (docs/proof.md)", i)
		}
	}
}

// TestGnarkVersion ties the version in circuit ids and keys.json to the gnark go.mod pins.
func TestGnarkVersion(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := gnarkModule + " " + GnarkVersion() + "\n"
	if !strings.Contains(string(mod), want) {
		t.Fatalf("go.mod does not require %q", strings.TrimSpace(want))
	}
}
