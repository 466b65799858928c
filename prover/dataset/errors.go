package dataset

import (
	"errors"
	"fmt"

	"github.com/comet-attest/comet/prover/fixedpoint"
)

// Sentinel causes; callers test them with errors.Is. Errors about a particular cell, row or
// header field arrive as a *ParseError that wraps one of them.
var (
	// Whole-file and option problems.
	ErrEmptyFile  = errors.New("empty file: a header line is required")
	ErrNoHeader   = errors.New("no header: the first line holds only numbers")
	ErrNoRows     = errors.New("no data rows after the header")
	ErrNoLabel    = errors.New("no label column given")
	ErrNoFeatures = errors.New("no feature columns")

	// Header and column-role problems.
	ErrHeaderEncoding  = errors.New("column name is not valid UTF-8")
	ErrEmptyColumnName = errors.New("empty column name")
	ErrDuplicateColumn = errors.New("duplicate column name")
	ErrMissingColumn   = errors.New("column not in header")
	ErrLabelIsFeature  = errors.New("label column is also listed as a feature")
	ErrExcludedColumn  = errors.New("column is both excluded and used")

	// CSV structure problems.
	ErrFieldCount = errors.New("wrong number of fields")
	ErrQuote      = errors.New("malformed quoting")

	// Cell problems. The numeric ones are fixedpoint's own sentinels, so errors.Is matches
	// both dataset.ErrOverflow and fixedpoint.ErrOverflow.
	ErrEmptyCell = errors.New("empty cell")
	ErrNotNumber = fixedpoint.ErrSyntax
	ErrNotFinite = fixedpoint.ErrNotFinite
	ErrOverflow  = fixedpoint.ErrOverflow
)

// ParseError locates a problem in the input. Row is the 1-based data row (the header is row
// 0), Line the 1-based line of the file where the offending field starts. Column is the
// column's name; when the name itself is the problem (empty, not UTF-8) or the field lies
// past the header's last column, Column is empty and Field, the 1-based field index, says
// where. Field is 0 when the error concerns no single field.
type ParseError struct {
	Row    int
	Line   int
	Column string
	Field  int
	Err    error
}

func (e *ParseError) Error() string {
	where := fmt.Sprintf("row %d (line %d)", e.Row, e.Line)
	if e.Row == 0 {
		where = fmt.Sprintf("header (line %d)", e.Line)
	}
	switch {
	case e.Column != "":
		where += fmt.Sprintf(", column %q", e.Column)
	case e.Field > 0:
		where += fmt.Sprintf(", column %d", e.Field)
	}
	return where + ": " + e.Err.Error()
}

func (e *ParseError) Unwrap() error { return e.Err }
