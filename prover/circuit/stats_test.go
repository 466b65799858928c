package circuit

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
)

var update = flag.Bool("update", false, "rewrite testdata/stats.csv")

// statShapes are the shapes whose constraint counts are pinned: the benchmark shapes and the
// small shape the proof tests use; the evaluation circuits are pinned at the first three.
var statShapes = []Shape{
	{Features: 8, ChunkRows: 1024, ValueBits: 32, FractionBits: 16, Intercept: true},
	{Features: 8, ChunkRows: 1024, ValueBits: 16, FractionBits: 8, Intercept: true},
	{Features: 32, ChunkRows: 256, ValueBits: 32, FractionBits: 16, Intercept: true},
	{Features: 2, ChunkRows: 8, ValueBits: 24, FractionBits: 12, Intercept: true},
}

// TestStats pins the circuits' sizes, as gnark's internal/stats does: a circuit that grows
// shows in the diff of testdata/stats.csv (regenerate with -update).
func TestStats(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles every pinned shape (7 s); go test without -short checks stats.csv")
	}
	var sb strings.Builder
	sb.WriteString("circuit,shape,constraints,public,secret,internal,per_row_feature\n")
	for _, s := range statShapes {
		for _, c := range []Circuit{ChunkCircuit, FinalCircuit} {
			var placeholder frontend.Circuit = NewChunk(s)
			if c == FinalCircuit {
				placeholder = NewFinal(s)
			}
			cs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, placeholder)
			if err != nil {
				t.Fatal(err)
			}
			perRF := "-"
			if c == ChunkCircuit {
				perRF = fmt.Sprintf("%.2f", float64(cs.GetNbConstraints())/float64(s.ChunkRows*s.Features))
			}
			fmt.Fprintf(&sb, "%s,%s,%d,%d,%d,%d,%s\n", c, s, cs.GetNbConstraints(), cs.GetNbPublicVariables(),
				cs.GetNbSecretVariables(), cs.GetNbInternalVariables(), perRF)
		}
	}
	training := sb.Len()
	for _, s := range statShapes[:3] {
		if testing.Short() {
			break // compiling the twelve evaluation circuits takes most of the test's time
		}
		for _, e := range []EvalShape{{Shape: s, Task: Regression}, {Shape: s, Task: Classification, Thresholds: 32}} {
			for _, c := range []Circuit{EvalChunkCircuit, EvalFinalCircuit} {
				var placeholder frontend.Circuit = NewEvalChunk(e)
				if c == EvalFinalCircuit {
					placeholder = NewEvalFinal(e)
				}
				cs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, placeholder)
				if err != nil {
					t.Fatal(err)
				}
				perRF := "-"
				if c == EvalChunkCircuit {
					perRF = fmt.Sprintf("%.2f", float64(cs.GetNbConstraints())/float64(s.ChunkRows*s.Features))
				}
				fmt.Fprintf(&sb, "%s,%s,%d,%d,%d,%d,%s\n", c, e, cs.GetNbConstraints(), cs.GetNbPublicVariables(),
					cs.GetNbSecretVariables(), cs.GetNbInternalVariables(), perRF)
			}
		}
	}
	const path = "testdata/stats.csv"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if testing.Short() && !*update {
		want = want[:min(training, len(want))]
	}
	if got := sb.String(); !bytes.Equal([]byte(got), want) {
		t.Fatalf("constraint counts changed (run go test -run TestStats -update if intended):\ngot\n%s\nwant\n%s", got, want)
	}
}
