package circuit

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/consensys/gnark"
	"github.com/consensys/gnark/frontend"

	"github.com/comet-attest/comet/prover/circuit/limbs"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/fixedpoint"
)

// Version names the circuits' construction. It enters every circuit id, so keys made for an
// older construction are refused rather than misused.
const Version = "comet/circuit/v3"

// ErrShape means a circuit shape is invalid.
var ErrShape = errors.New("invalid circuit shape")

// Shape fixes a circuit at compile time: d features, R rows per chunk, the fixed-point format
// (b value bits, f fraction bits) and whether the model has an intercept. The model kind does
// not change the circuits: ordinary least squares is ridge with Λ = 0, and Λ is a public input.
type Shape struct {
	Features     int  `json:"d"`
	ChunkRows    int  `json:"chunk_rows"`
	ValueBits    int  `json:"value_bits"`
	FractionBits int  `json:"fraction_bits"`
	Intercept    bool `json:"intercept"`
}

// ShapeOf is the shape that proves a dataset with header h and a model with or without
// intercept.
func ShapeOf(h commitment.Header, intercept bool) Shape {
	return Shape{Features: h.D, ChunkRows: h.ChunkRows, ValueBits: h.ValueBits, FractionBits: h.FractionBits, Intercept: intercept}
}

// MaxValueBits bounds b: the limb layout holds values of at most 62 bits.
const MaxValueBits = limbs.MaxValueBits

// Validate checks the shape against the commitment's and the circuits' limits.
func (s Shape) Validate() error {
	h := commitment.Header{D: s.Features, ChunkRows: s.ChunkRows, FractionBits: s.FractionBits, ValueBits: s.ValueBits}
	if err := h.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrShape, err)
	}
	if s.ValueBits > MaxValueBits {
		return fmt.Errorf("%w: value bits %d above %d", ErrShape, s.ValueBits, MaxValueBits)
	}
	return nil
}

// Format is the fixed-point format of the data and the weights.
func (s Shape) Format() fixedpoint.Format {
	return fixedpoint.Format{FractionBits: s.FractionBits, ValueBits: s.ValueBits}
}

// Columns is the number of weights: d, plus one for the intercept.
func (s Shape) Columns() int {
	if s.Intercept {
		return s.Features + 1
	}
	return s.Features
}

// SumLen is the length of an accumulator's running sum: the gradient's Columns() entries and
// the three training metrics Σ e², Σ Y, Σ Y².
func (s Shape) SumLen() int { return s.Columns() + 3 }

// RowWidth is d+1: the features and the label.
func (s Shape) RowWidth() int { return s.Features + 1 }

// PerElement is k, the values packed into one field element (docs/commitment.md).
func (s Shape) PerElement() int { return s.header().PerElement() }

// PackedLen is E, the packed elements of one chunk.
func (s Shape) PackedLen() int { return s.header().PackedLen() }

func (s Shape) header() commitment.Header {
	return commitment.Header{D: s.Features, ChunkRows: s.ChunkRows, FractionBits: s.FractionBits, ValueBits: s.ValueBits}
}

// Layout is the limb layout of the chunk circuit's values, chosen for the fewest constraints.
func (s Shape) Layout() limbs.Layout {
	return limbs.Choose(s.ValueBits, s.ChunkRows*s.RowWidth())
}

// String is a short human name, e.g. "d8-r1024-b32-f16-intercept".
func (s Shape) String() string {
	name := fmt.Sprintf("d%d-r%d-b%d-f%d", s.Features, s.ChunkRows, s.ValueBits, s.FractionBits)
	if s.Intercept {
		return name + "-intercept"
	}
	return name + "-nointercept"
}

// Circuit names one of the two circuits of a shape.
type Circuit string

// The two circuits of every shape.
const (
	ChunkCircuit Circuit = "chunk"
	FinalCircuit Circuit = "final"
)

// ID is the circuit id: SHA-256 over the construction version, the gnark version the
// constraint system is compiled with, the circuit's name and the shape, hex-encoded. Keys,
// proofs and bundles carry it; two ids are equal only for the same constraint system.
func (s Shape) ID(c Circuit) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\ngnark %s\n%s\n%s", Version, GnarkVersion(), c, s)))
	return hex.EncodeToString(sum[:])
}

// GnarkVersion is the gnark release this binary is built with: the module version from the
// build information when the binary records it (go build does, go test does not), gnark's
// own version otherwise. A build with another gnark compiles other constraint systems, so
// the version enters every circuit id and keys.json.
func GnarkVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == gnarkModule {
				if d.Replace != nil && d.Replace.Version != "" {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "v" + gnark.Version.String()
}

const gnarkModule = "github.com/consensys/gnark"

// Keyed is a pair of circuits whose keys are made, stored and loaded together: a training
// Shape (chunk and final) or an EvalShape (eval-chunk and eval-final).
type Keyed interface {
	// String names the pair; keys live in a directory of that name.
	String() string
	Validate() error
	ID(c Circuit) string
	// Rows is the shape of the rows the chunk circuit reads.
	Rows() Shape
	// Circuits are the pair's circuits, the chunk circuit first.
	Circuits() [2]Circuit
	// Placeholder is circuit c, sized for compiling.
	Placeholder(c Circuit) frontend.Circuit
}

// Rows is s itself.
func (s Shape) Rows() Shape { return s }

// Circuits are the training circuits.
func (s Shape) Circuits() [2]Circuit { return [2]Circuit{ChunkCircuit, FinalCircuit} }

// Placeholder is the training circuit c of shape s, sized for compiling.
func (s Shape) Placeholder(c Circuit) frontend.Circuit {
	if c == FinalCircuit {
		return NewFinal(s)
	}
	return NewChunk(s)
}
