package commitment

import (
	"errors"
	"fmt"

	"github.com/comet-attest/comet/prover/fixedpoint"
)

// ErrHeader means a header's shape is invalid.
var ErrHeader = errors.New("invalid dataset header")

// Limits that keep every index and count a small field element and the chunk loop bounded.
const (
	MaxFeatures  = 4096
	MaxChunkRows = 1 << 20
	// MaxRows is far beyond any dataset proven here (a trillion rows), and small enough that
	// n + R and every row index stay exact in an int64.
	MaxRows = 1 << 40
)

// Header is the public shape of a committed dataset: n rows, d features and one label, the
// fixed-point format (f, b) and R rows per chunk.
type Header struct {
	N            int `json:"n"`
	D            int `json:"d"`
	FractionBits int `json:"fraction_bits"`
	ValueBits    int `json:"value_bits"`
	ChunkRows    int `json:"chunk_rows"`
}

// Validate checks the shape; a zero n is valid while rows are still streaming in but not in
// a finished manifest (see Manifest.Validate).
func (h Header) Validate() error {
	if err := h.Format().Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrHeader, err)
	}
	switch {
	case h.N < 0 || h.N > MaxRows:
		return fmt.Errorf("%w: n = %d not in [0, 2^40]", ErrHeader, h.N)
	case h.D < 1 || h.D > MaxFeatures:
		return fmt.Errorf("%w: d = %d not in [1, %d]", ErrHeader, h.D, MaxFeatures)
	case h.ChunkRows < 1 || h.ChunkRows > MaxChunkRows:
		return fmt.Errorf("%w: chunk rows %d not in [1, %d]", ErrHeader, h.ChunkRows, MaxChunkRows)
	}
	return nil
}

// Format is the fixed-point format of every value.
func (h Header) Format() fixedpoint.Format {
	return fixedpoint.Format{FractionBits: h.FractionBits, ValueBits: h.ValueBits}
}

// Chunks is K = ceil(n / R).
func (h Header) Chunks() int { return (h.N + h.ChunkRows - 1) / h.ChunkRows }

// ChunkLen is m_i, the number of real rows in chunk i.
func (h Header) ChunkLen(i int) int { return min(h.ChunkRows, h.N-i*h.ChunkRows) }

// RowWidth is d+1: the features and the label.
func (h Header) RowWidth() int { return h.D + 1 }

// PerElement is k = floor(253 / b), the values packed into one field element.
func (h Header) PerElement() int { return packedFieldBits / h.ValueBits }

// PackedLen is E = ceil(R(d+1) / k), the packed elements of one chunk.
func (h Header) PackedLen() int {
	k := h.PerElement()
	return (h.ChunkRows*h.RowWidth() + k - 1) / k
}

// DefaultChunkRows is the chunk size `comet dataset commit` picks when none is given: 1,024
// rows, or fewer for a small dataset (the next power of two ≥ n, at least 8), so that the
// circuit of a small dataset is not mostly padding.
func DefaultChunkRows(n int) int {
	const most = 1024
	r := 8
	for r < n && r < most {
		r *= 2
	}
	return r
}
