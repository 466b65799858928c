package circuit_test

import (
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/plonk"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/frontend/cs/scs"
	"github.com/consensys/gnark/test/unsafekzg"

	"github.com/comet-attest/comet/prover/circuit"
)

// proofSystem is one backend run on the unchanged chunk circuit: its arithmetisation and
// the setup, prove and verify of that backend. setup returns what proving needs.
type proofSystem struct {
	name    string
	builder frontend.NewBuilder
	setup   func(b *testing.B, cs constraint.ConstraintSystem) provingKey
}

// provingKey proves and verifies with one backend's keys; pkBytes is the proving key's raw
// (uncompressed) encoding, the form prover/setup stores.
type provingKey struct {
	pkBytes int64
	prove   func(full witness.Witness) (proof io.WriterTo, err error)
	verify  func(proof io.WriterTo, public witness.Witness) error
}

var hints = backend.WithSolverOptions(solver.WithHints(circuit.Hints()...))

var proofSystems = []proofSystem{
	{name: "groth16", builder: r1cs.NewBuilder[constraint.U64], setup: func(b *testing.B, cs constraint.ConstraintSystem) provingKey {
		pk, vk, err := groth16.Setup(cs)
		if err != nil {
			b.Fatal(err)
		}
		return provingKey{
			pkBytes: size(b, pk.WriteRawTo),
			prove: func(full witness.Witness) (io.WriterTo, error) {
				return groth16.Prove(cs, pk, full, hints)
			},
			verify: func(proof io.WriterTo, public witness.Witness) error {
				return groth16.Verify(proof.(groth16.Proof), vk, public)
			},
		}
	}},
	{name: "plonk", builder: scs.NewBuilder[constraint.U64], setup: func(b *testing.B, cs constraint.ConstraintSystem) provingKey {
		// A test SRS of the circuit's size; a deployment would take the same universal SRS
		// from a public ceremony, so its generation is reported apart from the setup.
		start := time.Now()
		srs, lagrange, err := unsafekzg.NewSRS(cs)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "srs-s")
		pk, vk, err := plonk.Setup(cs, srs, lagrange)
		if err != nil {
			b.Fatal(err)
		}
		return provingKey{
			pkBytes: size(b, pk.WriteRawTo),
			prove: func(full witness.Witness) (io.WriterTo, error) {
				return plonk.Prove(cs, pk, full, hints)
			},
			verify: func(proof io.WriterTo, public witness.Witness) error {
				return plonk.Verify(proof.(plonk.Proof), vk, public)
			},
		}
	}},
}

// BenchmarkProofSystem compiles, sets up, proves and verifies one full chunk (d = 8, b = 32,
// f = 16, intercept) with Groth16 (R1CS) and with PLONK (SCS, unsafe test SRS), for the
// measured comparison in docs/proof.md. Each phase runs once per b.N; the metrics are the
// last run's. peak-rss-MB is the process's resident high-water mark over setup, prove and
// verify (Linux only; reset before the setup).
//
//	go test ./prover/circuit -run '^$' -bench ProofSystem -benchtime 1x -timeout 60m
//
// Narrow it with e.g. -bench 'ProofSystem/r256/plonk'.
func BenchmarkProofSystem(b *testing.B) {
	for _, rows := range []int{256, 512, 1024} {
		s := circuit.Shape{Features: 8, ChunkRows: rows, ValueBits: 32, FractionBits: 16, Intercept: true}
		for _, sys := range proofSystems {
			b.Run(fmt.Sprintf("r%d/%s", rows, sys.name), func(b *testing.B) {
				benchProofSystem(b, s, sys)
			})
		}
	}
}

func benchProofSystem(b *testing.B, s circuit.Shape, sys proofSystem) {
	full, public := chunkWitness(b, s)
	for range b.N {
		start := time.Now()
		cs, err := frontend.Compile(ecc.BN254.ScalarField(), sys.builder, circuit.NewChunk(s))
		if err != nil {
			b.Fatalf("compile: %v", err)
		}
		compile := time.Since(start)

		rssReset := resetPeakRSS()
		start = time.Now()
		keys := sys.setup(b, cs)
		setup := time.Since(start)

		start = time.Now()
		proof, err := keys.prove(full)
		if err != nil {
			b.Fatalf("prove: %v", err)
		}
		prove := time.Since(start)

		start = time.Now()
		if err := keys.verify(proof, public); err != nil {
			b.Fatalf("verify: %v", err)
		}
		verify := time.Since(start)

		b.ReportMetric(float64(cs.GetNbConstraints()), "constraints")
		b.ReportMetric(compile.Seconds(), "compile-s")
		b.ReportMetric(setup.Seconds(), "setup-s")
		b.ReportMetric(prove.Seconds(), "prove-s")
		b.ReportMetric(float64(verify.Microseconds())/1000, "verify-ms")
		b.ReportMetric(float64(size(b, proof.WriteTo)), "proof-bytes")
		b.ReportMetric(float64(keys.pkBytes)/1e6, "pk-MB")
		b.ReportMetric(float64(size(b, cs.WriteTo))/1e6, "cs-MB")
		if peak, ok := peakRSS(); ok && rssReset {
			b.ReportMetric(float64(peak)/1e6, "peak-rss-MB")
		}
	}
}

// chunkWitness assigns one full chunk (m = R) of values of up to 20 bits, the first chunk
// of a chain, and returns its full and public witness.
func chunkWitness(b *testing.B, s circuit.Shape) (full, public witness.Witness) {
	rng := rand.New(rand.NewPCG(uint64(s.ChunkRows), 3))
	values := make([]int64, s.ChunkRows*s.RowWidth())
	for p := range values {
		values[p] = rng.Int64N(1<<20) - 1<<19
	}
	weights := make([]*big.Int, s.Columns())
	for j := range weights {
		weights[j] = big.NewInt(rng.Int64N(1<<20) - 1<<19)
	}
	in := circuit.ChunkInput{Values: values, Weights: weights, In: circuit.ZeroAccumulator(s), Blind: fr.NewElement(11)}
	in.Salt[0] = 1
	assignment, _, err := s.Assign(in)
	if err != nil {
		b.Fatal(err)
	}
	if full, err = frontend.NewWitness(assignment, ecc.BN254.ScalarField()); err != nil {
		b.Fatal(err)
	}
	if public, err = full.Public(); err != nil {
		b.Fatal(err)
	}
	return full, public
}

// size is the number of bytes write produces.
func size(b *testing.B, write func(io.Writer) (int64, error)) int64 {
	n, err := write(io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// resetPeakRSS returns freed memory to the OS and resets the kernel's resident high-water
// mark to the current RSS (Linux ≥ 4.0), so that peakRSS measures what follows; false where
// it cannot.
func resetPeakRSS() bool {
	runtime.GC()
	debug.FreeOSMemory()
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS reads VmHWM, the resident high-water mark, in bytes.
func peakRSS() (int64, bool) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err == nil
		}
	}
	return 0, false
}
