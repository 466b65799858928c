package featurize

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/comet-attest/comet/prover/dataset"
	"github.com/comet-attest/comet/prover/fixedpoint"
)

// CSVOptions names the roles of the input columns of TransformCSV and SplitCSV.
type CSVOptions struct {
	// Text is the column holding the document text; required.
	Text string
	// Label is the label column, copied after the features; empty for unlabelled documents.
	Label string
	// LabelMap, when set, rewrites each label; a label it does not map is an error.
	LabelMap LabelMap
	// Keep are identifier columns copied verbatim before the features, in this order.
	Keep []string
	// SplitBy is SplitCSV's split column: a row whose cell, trimmed, is one of Test goes to
	// the test output, every other row to the training output. It is not a feature, and is
	// copied only if Keep names it.
	SplitBy string
	Test    []string
}

// CSVResult describes a finished TransformCSV or SplitCSV.
type CSVResult struct {
	// Rows is the number of data rows read and written.
	Rows int
	// Columns is the output header: Keep, the feature names, then Label if any.
	Columns []string
	// TrainRows and TestRows are SplitCSV's counts of rows written to each output; they
	// add up to Rows.
	TrainRows, TestRows int
}

// TransformCSV reads a CSV of documents from src and writes to dst a CSV of the kept
// columns, the features of the text column and the label, one output row per input row in
// the same order, with LF line ends. It holds one record at a time, so its memory does not
// depend on the number of rows, and checks ctx between rows.
//
// The input follows prover/dataset's rules (RFC 4180, a header of unique names, an optional
// UTF-8 byte-order mark, equal field counts). Text cells must be valid UTF-8; label cells,
// after trimming spaces and tabs, must be decimal numbers and are copied trimmed, or mapped
// by opts.LabelMap. Problems are reported as a *dataset.ParseError naming the row and
// column, or as errors wrapping dataset's and this package's sentinels. On error dst holds a
// partial output.
func (f *Featurizer) TransformCSV(ctx context.Context, dst io.Writer, src io.Reader, opts CSVOptions) (CSVResult, error) {
	if opts.SplitBy != "" || len(opts.Test) > 0 {
		return CSVResult{}, fmt.Errorf("%w: TransformCSV writes one output; SplitCSV splits", ErrSplit)
	}
	return f.transform(ctx, src, opts, dst)
}

// SplitCSV is TransformCSV writing each row to train or to test by its opts.SplitBy cell,
// in one pass. Both outputs have the same header. A split that leaves either output empty is
// an error wrapping ErrSplit, since neither half alone is a dataset to commit.
func (f *Featurizer) SplitCSV(ctx context.Context, train, test io.Writer, src io.Reader, opts CSVOptions) (CSVResult, error) {
	if opts.SplitBy == "" {
		return CSVResult{}, fmt.Errorf("%w: no split column", ErrSplit)
	}
	if err := checkTestValues(opts.Test); err != nil {
		return CSVResult{}, err
	}
	res, err := f.transform(ctx, src, opts, train, test)
	if err != nil {
		return res, err
	}
	in := fmt.Sprintf("%s in {%s}", opts.SplitBy, strings.Join(opts.Test, ", "))
	switch {
	case res.TestRows == 0:
		return res, fmt.Errorf("%w: no row has %s, so the test split would be empty", ErrSplit, in)
	case res.TrainRows == 0:
		return res, fmt.Errorf("%w: every row has %s, so the training split would be empty", ErrSplit, in)
	}
	return res, nil
}

// checkTestValues requires a non-empty list of distinct, non-empty, trimmed test values: the
// cells are compared trimmed, so a padded value could never match, and an empty one would
// match blank cells, which is likelier a slip in the list than a wish.
func checkTestValues(test []string) error {
	if len(test) == 0 {
		return fmt.Errorf("%w: no test values", ErrSplit)
	}
	seen := make(map[string]bool, len(test))
	for _, v := range test {
		switch {
		case v == "" || v != strings.Trim(v, " \t"):
			return fmt.Errorf("%w: test value %q is empty or has surrounding spaces", ErrSplit, v)
		case seen[v]:
			return fmt.Errorf("%w: test value %q given twice", ErrSplit, v)
		}
		seen[v] = true
	}
	return nil
}

// transform writes every row to outs[0], or, with a split column, to outs[1] when its cell
// is a test value.
func (f *Featurizer) transform(ctx context.Context, src io.Reader, opts CSVOptions, outs ...io.Writer) (CSVResult, error) {
	if opts.Text == "" {
		return CSVResult{}, ErrNoText
	}
	var labels labelLookup
	if opts.LabelMap != nil {
		if opts.Label == "" {
			return CSVResult{}, fmt.Errorf("%w: a label map needs a label column", ErrLabelMap)
		}
		var err error
		if labels, err = opts.LabelMap.lookup(); err != nil {
			return CSVResult{}, err
		}
	}
	isTest := make(map[string]bool, len(opts.Test))
	for _, v := range opts.Test {
		isTest[v] = true
	}
	var (
		res  CSVResult
		ws   []*csv.Writer
		rec  []string
		vals = make([]int64, 0, f.D())
		num  []byte // digits of all values of one row; rec's strings point into one copy
		ends = make([]int, 0, f.D())
	)
	err := scanDocuments(ctx, src, opts, func(d *documents) error {
		out := append(append(slices.Clone(opts.Keep), f.names...), optional(opts.Label)...)
		if err := uniqueNames(out); err != nil {
			return err
		}
		ws = make([]*csv.Writer, len(outs))
		for i, dst := range outs {
			ws[i] = csv.NewWriter(dst)
			if err := ws[i].Write(out); err != nil {
				return fmt.Errorf("writing header: %w", err)
			}
		}
		res.Columns = out
		rec = make([]string, len(out))
		return nil
	}, func(d *documents, row int, in []string) error {
		for k, j := range d.cols.keep {
			rec[k] = in[j]
		}
		text, err := d.text(row, in)
		if err != nil {
			return err
		}
		vals = f.Append(vals[:0], text)
		num, ends = num[:0], ends[:0]
		for _, v := range vals {
			num = strconv.AppendInt(num, v, 10)
			ends = append(ends, len(num))
		}
		all := string(num)
		prev := 0
		for k, e := range ends {
			rec[len(d.cols.keep)+k] = all[prev:e]
			prev = e
		}
		if d.cols.label >= 0 {
			if rec[len(rec)-1], err = d.label(row, in, labels); err != nil {
				return err
			}
		}
		w := ws[0]
		if d.cols.split >= 0 && isTest[strings.Trim(in[d.cols.split], " \t")] {
			w = ws[1]
			res.TestRows++
		} else if d.cols.split >= 0 {
			res.TrainRows++
		}
		if err := w.Write(rec); err != nil {
			return fmt.Errorf("writing row %d: %w", row, err)
		}
		res.Rows = row
		return nil
	})
	if err != nil {
		return res, err
	}
	for _, w := range ws {
		w.Flush()
		if err := w.Error(); err != nil {
			return res, fmt.Errorf("writing features: %w", err)
		}
	}
	return res, nil
}

// documents is a CSV of documents being read by scanDocuments.
type documents struct {
	cr     *csv.Reader
	header []string
	cols   inputColumns
}

// scanDocuments reads the header of a CSV of documents (prover/dataset's rules, an optional
// UTF-8 byte-order mark), resolves opts' columns, calls start once, then each for every
// record in order (row counts from 1; in is reused between calls), checking ctx as it goes.
func scanDocuments(ctx context.Context, src io.Reader, opts CSVOptions, start func(*documents) error, each func(d *documents, row int, in []string) error) error {
	br := bufio.NewReader(src)
	if head, _ := br.Peek(3); bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")) {
		_, _ = br.Discard(3)
	}
	d := &documents{cr: csv.NewReader(br)}
	d.cr.ReuseRecord = true
	header, err := d.cr.Read()
	switch {
	case err == io.EOF:
		return dataset.ErrEmptyFile
	case err != nil:
		return csvError(0, nil, len(header), err)
	}
	d.header = slices.Clone(header)
	headerLine, _ := d.cr.FieldPos(0)
	if d.cols, err = resolveColumns(d.header, headerLine, opts); err != nil {
		return err
	}
	if err := start(d); err != nil {
		return err
	}
	for row := 1; ; row++ {
		if row%1024 == 1 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		in, err := d.cr.Read()
		if err == io.EOF {
			if row == 1 {
				return dataset.ErrNoRows
			}
			return nil
		}
		if err != nil {
			return csvError(row, d.header, len(in), err)
		}
		if err := each(d, row, in); err != nil {
			return err
		}
	}
}

// text is the row's text cell, which must be valid UTF-8.
func (d *documents) text(row int, in []string) (string, error) {
	text := in[d.cols.text]
	if !utf8.ValidString(text) {
		return "", cellError(d.cr, row, d.header, d.cols.text, ErrTextEncoding)
	}
	return text, nil
}

// label is the row's label cell, trimmed, checked and mapped by labels when not nil.
func (d *documents) label(row int, in []string, labels labelLookup) (string, error) {
	label := strings.Trim(in[d.cols.label], " \t")
	err := checkLabel(label)
	if err == nil && labels != nil {
		label, err = labels.apply(label)
	}
	if err != nil {
		return "", cellError(d.cr, row, d.header, d.cols.label, err)
	}
	return label, nil
}

func optional(name string) []string {
	if name == "" {
		return nil
	}
	return []string{name}
}

// inputColumns are the header indexes of the columns TransformCSV reads.
type inputColumns struct {
	text, label, split int // label and split are -1 when there is none
	keep               []int
}

func resolveColumns(header []string, line int, opts CSVOptions) (inputColumns, error) {
	pos := make(map[string]int, len(header))
	for i, name := range header {
		name = strings.Trim(name, " \t")
		header[i] = name
		switch {
		case !utf8.ValidString(name):
			return inputColumns{}, &dataset.ParseError{Line: line, Field: i + 1, Err: fmt.Errorf("%w: %q", dataset.ErrHeaderEncoding, name)}
		case name == "":
			return inputColumns{}, &dataset.ParseError{Line: line, Field: i + 1, Err: dataset.ErrEmptyColumnName}
		}
		if j, ok := pos[name]; ok {
			return inputColumns{}, &dataset.ParseError{Line: line, Column: name, Field: i + 1,
				Err: fmt.Errorf("%w: columns %d and %d", dataset.ErrDuplicateColumn, j+1, i+1)}
		}
		pos[name] = i
	}
	find := func(role, name string) (int, error) {
		i, ok := pos[name]
		if !ok {
			return 0, fmt.Errorf("%w: %s %q (the header has %d columns: %s)", dataset.ErrMissingColumn, role, name, len(header), strings.Join(header, ", "))
		}
		return i, nil
	}
	var c inputColumns
	var err error
	if c.text, err = find("text column", opts.Text); err != nil {
		return c, err
	}
	c.label = -1
	if opts.Label != "" {
		if opts.Label == opts.Text {
			return c, fmt.Errorf("%w: %q is both the text and the label", ErrColumnClash, opts.Label)
		}
		if c.label, err = find("label", opts.Label); err != nil {
			return c, err
		}
	}
	c.split = -1
	if opts.SplitBy != "" {
		if c.split, err = find("split column", opts.SplitBy); err != nil {
			return c, err
		}
	}
	for _, name := range opts.Keep {
		i, err := find("kept column", name)
		if err != nil {
			return c, err
		}
		c.keep = append(c.keep, i)
	}
	return c, nil
}

// uniqueNames refuses an output header in which a kept or label column has a feature's
// name, or a column is kept twice.
func uniqueNames(names []string) error {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if seen[n] {
			return fmt.Errorf("%w: %q would appear twice in the output header", ErrColumnClash, n)
		}
		seen[n] = true
	}
	return nil
}

// checkLabel only checks that a label is a decimal number; the dataset commitment later
// rounds it to the declared format and checks its range there.
func checkLabel(s string) error {
	if s == "" {
		return dataset.ErrEmptyCell
	}
	syntax := fixedpoint.Format{FractionBits: 0, ValueBits: fixedpoint.MaxValueBits}
	if _, err := syntax.Parse(s); err != nil && !errors.Is(err, fixedpoint.ErrOverflow) {
		return err
	}
	return nil
}

func cellError(cr *csv.Reader, row int, header []string, field int, err error) error {
	line, _ := cr.FieldPos(field)
	return &dataset.ParseError{Row: row, Line: line, Column: header[field], Field: field + 1, Err: err}
}

// csvError turns an encoding/csv error in data row row (0 for the header) into a
// *dataset.ParseError; fields is the number of fields encoding/csv returned.
func csvError(row int, header []string, fields int, err error) error {
	var ce *csv.ParseError
	if !errors.As(err, &ce) {
		return fmt.Errorf("reading row %d: %w", row, err)
	}
	pe := &dataset.ParseError{Row: row, Line: ce.StartLine}
	if errors.Is(ce.Err, csv.ErrFieldCount) {
		pe.Field = min(fields, len(header)) + 1
		if fields < len(header) {
			pe.Column = header[fields]
		}
		pe.Err = fmt.Errorf("%w: %d fields, the header has %d", dataset.ErrFieldCount, fields, len(header))
		return pe
	}
	pe.Err = fmt.Errorf("%w: %w (line %d, byte %d)", dataset.ErrQuote, ce.Err, ce.Line, ce.Column)
	return pe
}
