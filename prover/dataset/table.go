package dataset

import (
	"context"
	"fmt"
	"io"

	"github.com/comet-attest/comet/prover/fixedpoint"
)

// ctxCheckRows is how often ReadAll looks at its context: often enough to stop within
// milliseconds, rarely enough to cost nothing.
const ctxCheckRows = 4096

// Table is a whole dataset in memory, for callers such as trainers that need every row.
type Table struct {
	Features []string
	Label    string
	Format   fixedpoint.Format
	N, D     int
	// Values holds the canonical rows one after another: row i is
	// Values[i*(D+1) : (i+1)*(D+1)], features then label.
	Values []int64
}

// Row returns canonical row i (0-based), features then label. It shares Values' storage.
func (t *Table) Row(i int) []int64 {
	w := t.D + 1
	return t.Values[i*w : (i+1)*w : (i+1)*w]
}

// ReadAll reads every row of r into a Table. Unlike Reader, its memory grows with the
// number of rows.
func ReadAll(ctx context.Context, r io.Reader, opts Options) (*Table, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rd, err := NewReader(r, opts)
	if err != nil {
		return nil, err
	}
	t := &Table{Features: rd.Features(), Label: rd.Label(), Format: opts.Format, D: rd.D()}
	row := make([]int64, t.D+1)
	for {
		err := rd.Read(row)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		t.Values = append(t.Values, row...)
		if rd.Rows()%ctxCheckRows == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("after row %d: %w", rd.Rows(), err)
			}
		}
	}
	t.N = rd.Rows()
	return t, nil
}
