package dataset

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/comet-attest/comet/prover/fixedpoint"
)

// maxCellBytes bounds a numeric cell, after trimming. No sensible number is longer, and the
// bound keeps both the exact parse and the error message that quotes the cell small.
const maxCellBytes = 1024

// Options says which columns play which role and how values are rounded.
type Options struct {
	// Label is the name of the label column; required.
	Label string
	// Features are the feature columns, in the order the canonical row holds them. Empty
	// means every column except Label and Exclude, in header order.
	Features []string
	// Exclude names columns to leave out when Features is empty, such as identifiers. Each
	// must be in the header and may be neither the label nor a listed feature.
	Exclude []string
	// Format is the fixed-point format every feature and label value must fit.
	Format fixedpoint.Format
}

// Reader streams canonical rows from a CSV file. It holds one record at a time, so its
// memory does not depend on the number of rows. A Reader is not safe for concurrent use.
type Reader struct {
	csv      *csv.Reader
	columns  []string
	features []string
	label    string
	format   fixedpoint.Format
	idx      []int // header index of each feature, then of the label
	rows     int
	err      error // sticky: once Read fails, it keeps failing the same way
}

// NewReader reads and checks the header and resolves the column roles in opts. Rows are
// read by Read.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	if err := opts.Format.Validate(); err != nil {
		return nil, err
	}
	if opts.Label == "" {
		return nil, ErrNoLabel
	}
	br := bufio.NewReader(r)
	if err := skipBOM(br); err != nil {
		return nil, err
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	switch {
	case err == io.EOF:
		return nil, ErrEmptyFile
	case err != nil:
		return nil, structureError(0, nil, 0, err)
	}
	rd := &Reader{csv: cr, columns: slices.Clone(header), label: opts.Label, format: opts.Format}
	if err := rd.checkHeader(); err != nil {
		return nil, err
	}
	if err := rd.resolveRoles(opts); err != nil {
		return nil, err
	}
	return rd, nil
}

// skipBOM drops a UTF-8 byte-order mark and refuses UTF-16, whose names would otherwise
// fail later with a less helpful message.
func skipBOM(br *bufio.Reader) error {
	head, err := br.Peek(3)
	if err != nil && err != io.EOF {
		return fmt.Errorf("reading header: %w", err)
	}
	switch {
	case bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")):
		_, err = br.Discard(3)
		return err
	case bytes.HasPrefix(head, []byte("\xFE\xFF")), bytes.HasPrefix(head, []byte("\xFF\xFE")):
		return fmt.Errorf("%w: the file is UTF-16; convert it to UTF-8", ErrHeaderEncoding)
	}
	return nil
}

// checkHeader trims the names and rejects unusable, duplicate or missing ones.
func (r *Reader) checkHeader() error {
	line, _ := r.csv.FieldPos(0)
	numeric := 0
	for i, name := range r.columns {
		name = strings.Trim(name, " \t")
		r.columns[i] = name
		switch {
		case !utf8.ValidString(name):
			return &ParseError{Line: line, Field: i + 1, Err: fmt.Errorf("%w: %q", ErrHeaderEncoding, name)}
		case name == "":
			return &ParseError{Line: line, Field: i + 1, Err: ErrEmptyColumnName}
		}
		if _, err := r.format.Parse(name); err == nil || errors.Is(err, ErrOverflow) {
			numeric++
		}
	}
	if numeric == len(r.columns) {
		return fmt.Errorf("%w (line %d)", ErrNoHeader, line)
	}
	first := make(map[string]int, len(r.columns))
	for i, name := range r.columns {
		if j, ok := first[name]; ok {
			return &ParseError{Line: line, Column: name, Field: i + 1,
				Err: fmt.Errorf("%w: columns %d and %d", ErrDuplicateColumn, j+1, i+1)}
		}
		first[name] = i
	}
	return nil
}

// resolveRoles fills features and idx from opts; the header is known to be unique.
func (r *Reader) resolveRoles(opts Options) error {
	pos := make(map[string]int, len(r.columns))
	for i, name := range r.columns {
		pos[name] = i
	}
	find := func(role, name string) (int, error) {
		i, ok := pos[name]
		if !ok {
			return 0, fmt.Errorf("%w: %s %q (the header has %s)", ErrMissingColumn, role, name, nameList(r.columns))
		}
		return i, nil
	}
	labelIdx, err := find("label", opts.Label)
	if err != nil {
		return err
	}
	excluded := make(map[string]bool, len(opts.Exclude))
	for _, name := range opts.Exclude {
		if _, err := find("excluded column", name); err != nil {
			return err
		}
		if name == opts.Label {
			return fmt.Errorf("%w: label %q", ErrExcludedColumn, name)
		}
		excluded[name] = true
	}
	if len(opts.Features) == 0 {
		for i, name := range r.columns {
			if i != labelIdx && !excluded[name] {
				r.features = append(r.features, name)
				r.idx = append(r.idx, i)
			}
		}
	}
	for _, name := range opts.Features {
		switch {
		case name == opts.Label:
			return fmt.Errorf("%w: %q", ErrLabelIsFeature, name)
		case excluded[name]:
			return fmt.Errorf("%w: feature %q", ErrExcludedColumn, name)
		case slices.Contains(r.features, name):
			return fmt.Errorf("%w: feature %q is listed twice", ErrDuplicateColumn, name)
		}
		i, err := find("feature", name)
		if err != nil {
			return err
		}
		r.features = append(r.features, name)
		r.idx = append(r.idx, i)
	}
	if len(r.features) == 0 {
		return fmt.Errorf("%w: the header has only %s", ErrNoFeatures, nameList(r.columns))
	}
	r.idx = append(r.idx, labelIdx)
	return nil
}

// nameList quotes the first few names for an error message.
func nameList(names []string) string {
	const show = 12
	var b strings.Builder
	for i, name := range names[:min(len(names), show)] {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", name)
	}
	if len(names) > show {
		fmt.Fprintf(&b, " and %d more", len(names)-show)
	}
	return b.String()
}

// Columns returns the header's column names, trimmed of surrounding spaces and tabs.
func (r *Reader) Columns() []string { return slices.Clone(r.columns) }

// Features returns the resolved feature names, in canonical-row order.
func (r *Reader) Features() []string { return slices.Clone(r.features) }

// Label returns the label column's name.
func (r *Reader) Label() string { return r.label }

// D returns the number of features.
func (r *Reader) D() int { return len(r.features) }

// Rows returns the number of rows read successfully so far.
func (r *Reader) Rows() int { return r.rows }

// Read fills dst, which must have length D()+1, with the next canonical row: the features
// in Features() order, then the label. It returns io.EOF after the last row, or ErrNoRows
// at the end of a file that has a header and no rows. After any error other than a wrong
// dst length, dst is unspecified and every later Read returns the same error.
func (r *Reader) Read(dst []int64) error {
	if r.err != nil {
		return r.err
	}
	if len(dst) != len(r.idx) {
		return fmt.Errorf("dataset: Read needs a slice of length D()+1 = %d, got %d", len(r.idx), len(dst))
	}
	r.err = r.read(dst)
	return r.err
}

func (r *Reader) read(dst []int64) error {
	row := r.rows + 1
	rec, err := r.csv.Read()
	switch {
	case err == io.EOF && r.rows == 0:
		return ErrNoRows
	case err == io.EOF:
		return io.EOF
	case err != nil:
		return structureError(row, r.columns, len(rec), err)
	}
	for k, j := range r.idx {
		v, err := r.parseCell(rec[j])
		if err != nil {
			line, _ := r.csv.FieldPos(j)
			return &ParseError{Row: row, Line: line, Column: r.columns[j], Field: j + 1, Err: err}
		}
		dst[k] = v
	}
	r.rows = row
	return nil
}

// parseCell trims surrounding spaces and tabs (quoted or not) and converts the decimal.
func (r *Reader) parseCell(s string) (int64, error) {
	s = strings.Trim(s, " \t")
	switch {
	case s == "":
		return 0, ErrEmptyCell
	case len(s) > maxCellBytes:
		return 0, fmt.Errorf("%w: a cell of %d bytes (at most %d)", ErrNotNumber, len(s), maxCellBytes)
	}
	v, err := r.format.Parse(s)
	if err == ErrNotFinite {
		err = fmt.Errorf("%w: %q", err, s) // fixedpoint leaves the cell out of this one
	}
	return v, err
}

// structureError turns an encoding/csv error in data row row (0 for the header) into a
// *ParseError; fields is the number of fields encoding/csv found, header is nil while the
// header itself is being read.
func structureError(row int, header []string, fields int, err error) error {
	var ce *csv.ParseError
	if !errors.As(err, &ce) {
		if row == 0 {
			return fmt.Errorf("reading header: %w", err)
		}
		return fmt.Errorf("reading row %d: %w", row, err)
	}
	pe := &ParseError{Row: row, Line: ce.StartLine}
	switch {
	case errors.Is(ce.Err, csv.ErrFieldCount):
		// encoding/csv reports no field here: name the first missing column, or the first
		// field past the header.
		pe.Field = min(fields, len(header)) + 1
		if fields < len(header) {
			pe.Column = header[fields]
		}
		pe.Err = fmt.Errorf("%w: %d fields, the header has %d", ErrFieldCount, fields, len(header))
	default:
		pe.Err = fmt.Errorf("%w: %w (line %d, byte %d)", ErrQuote, ce.Err, ce.Line, ce.Column)
	}
	return pe
}
