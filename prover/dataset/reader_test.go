package dataset

import (
	"encoding/csv"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/comet-attest/comet/internal/shareddata"
	"github.com/comet-attest/comet/prover/fixedpoint"
)

var q16 = fixedpoint.Format{FractionBits: 16, ValueBits: 48}

// readRows reads every row of input and returns them with the first error; io.EOF is not
// an error.
func readRows(input string, opts Options) ([][]int64, error) {
	r, err := NewReader(strings.NewReader(input), opts)
	if err != nil {
		return nil, err
	}
	var rows [][]int64
	for {
		dst := make([]int64, r.D()+1)
		switch err := r.Read(dst); err {
		case nil:
			rows = append(rows, dst)
		case io.EOF:
			return rows, nil
		default:
			return rows, err
		}
	}
}

func TestReadErrors(t *testing.T) {
	y := Options{Label: "y", Format: q16}
	with := func(f func(*Options)) Options {
		o := y
		f(&o)
		return o
	}
	type loc struct {
		row, line, field int
		column           string
	}
	tests := []struct {
		name  string
		input string
		opts  Options
		want  error
		also  error // a second cause errors.Is must find, when not nil
		at    *loc  // where the *ParseError points; nil means no *ParseError
	}{
		{name: "empty file", input: "", opts: y, want: ErrEmptyFile},
		{name: "only a BOM", input: "\xEF\xBB\xBF", opts: y, want: ErrEmptyFile},
		{name: "only blank lines", input: "\n\r\n\n", opts: y, want: ErrEmptyFile},
		{name: "header without rows", input: "a,y\n", opts: y, want: ErrNoRows},
		{name: "header then blank lines", input: "a,y\r\n\r\n\r\n", opts: y, want: ErrNoRows},
		{name: "numbers instead of a header", input: "1,2.5\n3,4\n", opts: y, want: ErrNoHeader},
		{name: "UTF-16 file", input: "\xFF\xFEa\x00,\x00y\x00", opts: y, want: ErrHeaderEncoding},
		{name: "Windows-1252 name", input: "a,caf\xe9,y\n1,2,3\n", opts: y, want: ErrHeaderEncoding,
			at: &loc{row: 0, line: 1, field: 2}},
		{name: "empty name", input: "a,,y\n1,2,3\n", opts: y, want: ErrEmptyColumnName,
			at: &loc{row: 0, line: 1, field: 2}},
		{name: "blank name", input: "\n\na, \t ,y\n1,2,3\n", opts: y, want: ErrEmptyColumnName,
			at: &loc{row: 0, line: 3, field: 2}},
		{name: "duplicate name", input: "a,y,a\n1,2,3\n", opts: y, want: ErrDuplicateColumn,
			at: &loc{row: 0, line: 1, field: 3, column: "a"}},
		{name: "duplicate after trimming", input: "a,y,\" a\"\n1,2,3\n", opts: y, want: ErrDuplicateColumn,
			at: &loc{row: 0, line: 1, field: 3, column: "a"}},
		{name: "label missing", input: "a,b\n1,2\n", opts: y, want: ErrMissingColumn},
		{name: "no label given", input: "a,y\n1,2\n", opts: with(func(o *Options) { o.Label = "" }), want: ErrNoLabel},
		{name: "feature missing", input: "a,y\n1,2\n", opts: with(func(o *Options) { o.Features = []string{"a", "b"} }),
			want: ErrMissingColumn},
		{name: "excluded column missing", input: "a,y\n1,2\n", opts: with(func(o *Options) { o.Exclude = []string{"nid"} }),
			want: ErrMissingColumn},
		{name: "label as feature", input: "a,y\n1,2\n", opts: with(func(o *Options) { o.Features = []string{"a", "y"} }),
			want: ErrLabelIsFeature},
		{name: "label excluded", input: "a,y\n1,2\n", opts: with(func(o *Options) { o.Exclude = []string{"y"} }),
			want: ErrExcludedColumn},
		{name: "feature excluded", input: "a,b,y\n1,2,3\n", opts: with(func(o *Options) {
			o.Features = []string{"a", "b"}
			o.Exclude = []string{"b"}
		}), want: ErrExcludedColumn},
		{name: "feature twice", input: "a,y\n1,2\n", opts: with(func(o *Options) { o.Features = []string{"a", "a"} }),
			want: ErrDuplicateColumn},
		{name: "label only", input: "y\n1\n", opts: y, want: ErrNoFeatures},
		{name: "everything excluded", input: "id,y\n1,2\n", opts: with(func(o *Options) { o.Exclude = []string{"id"} }),
			want: ErrNoFeatures},
		{name: "invalid format", input: "a,y\n1,2\n", opts: with(func(o *Options) { o.Format.FractionBits = 48 }),
			want: fixedpoint.ErrFormat},
		{name: "short row", input: "a,b,y\n1,2,3\n4,5\n", opts: y, want: ErrFieldCount,
			at: &loc{row: 2, line: 3, field: 3, column: "y"}},
		{name: "long row", input: "a,y\r\n1,2\r\n3,4,5\r\n", opts: y, want: ErrFieldCount,
			at: &loc{row: 2, line: 3, field: 3}},
		{name: "short row in an ignored column", input: "id,a,y\nabc,1,2\nxyz,3\n",
			opts: with(func(o *Options) { o.Exclude = []string{"id"} }), want: ErrFieldCount,
			at: &loc{row: 2, line: 3, field: 3, column: "y"}},
		{name: "bare quote", input: "a,y\n1,2\n3,4\"5\n", opts: y, want: ErrQuote, also: csv.ErrBareQuote,
			at: &loc{row: 2, line: 3}},
		{name: "text after closing quote", input: "a,y\n\"1\" ,2\n", opts: y, want: ErrQuote, also: csv.ErrQuote,
			at: &loc{row: 1, line: 2}},
		{name: "unterminated quote", input: "a,y\n1,2\n3,\"4\n", opts: y, want: ErrQuote,
			at: &loc{row: 2, line: 3}},
		{name: "quote error in header", input: "a\"b,y\n1,2\n", opts: y, want: ErrQuote, at: &loc{row: 0, line: 1}},
		{name: "empty cell", input: "a,y\n1,\n", opts: y, want: ErrEmptyCell,
			at: &loc{row: 1, line: 2, field: 2, column: "y"}},
		{name: "blank quoted cell", input: "a,y\n1,2\n\" \",2\n", opts: y, want: ErrEmptyCell,
			at: &loc{row: 2, line: 3, field: 1, column: "a"}},
		{name: "text", input: "a,y\n1,2\nabc,3\n", opts: y, want: ErrNotNumber, also: fixedpoint.ErrSyntax,
			at: &loc{row: 2, line: 3, field: 1, column: "a"}},
		{name: "thousands separator", input: "a,y\n\"1,000\",2\n", opts: y, want: ErrNotNumber,
			at: &loc{row: 1, line: 2, field: 1, column: "a"}},
		{name: "inner space", input: "a,y\n1 000,2\n", opts: y, want: ErrNotNumber,
			at: &loc{row: 1, line: 2, field: 1, column: "a"}},
		{name: "hex", input: "a,y\n0x10,2\n", opts: y, want: ErrNotNumber,
			at: &loc{row: 1, line: 2, field: 1, column: "a"}},
		{name: "huge cell", input: "a,y\n" + strings.Repeat("1", 2000) + ",2\n", opts: y, want: ErrNotNumber,
			at: &loc{row: 1, line: 2, field: 1, column: "a"}},
		{name: "NaN", input: "a,y\n1,NaN\n", opts: y, want: ErrNotFinite, also: fixedpoint.ErrNotFinite,
			at: &loc{row: 1, line: 2, field: 2, column: "y"}},
		{name: "Inf", input: "a,y\n-Inf,1\n", opts: y, want: ErrNotFinite, at: &loc{row: 1, line: 2, field: 1, column: "a"}},
		{name: "Infinity", input: "a,y\n1,+Infinity\n", opts: y, want: ErrNotFinite,
			at: &loc{row: 1, line: 2, field: 2, column: "y"}},
		{name: "overflow", input: "a,y\n1,2\n1e20,1\n", opts: y, want: ErrOverflow, also: fixedpoint.ErrOverflow,
			at: &loc{row: 2, line: 3, field: 1, column: "a"}},
		{name: "overflow by rounding", input: "a,y\n127.5,1\n", opts: with(func(o *Options) { o.Format = fixedpoint.Format{ValueBits: 8} }),
			want: ErrOverflow, at: &loc{row: 1, line: 2, field: 1, column: "a"}},
		{name: "negative overflow", input: "a,y\n-129,1\n", opts: with(func(o *Options) { o.Format = fixedpoint.Format{ValueBits: 8} }),
			want: ErrOverflow, at: &loc{row: 1, line: 2, field: 1, column: "a"}},
		{name: "line after a multi-line field", input: "a,note,y\n\n1,\"x\ny\",2\n3,4,z\n",
			opts: with(func(o *Options) { o.Exclude = []string{"note"} }), want: ErrNotNumber,
			at: &loc{row: 2, line: 5, field: 3, column: "y"}},
		{name: "features checked in their order", input: "a,b,y\nx,x,1\n",
			opts: with(func(o *Options) { o.Features = []string{"b", "a"} }), want: ErrNotNumber,
			at: &loc{row: 1, line: 2, field: 2, column: "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readRows(tt.input, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if tt.also != nil && !errors.Is(err, tt.also) {
				t.Errorf("error %v does not match %v", err, tt.also)
			}
			var pe *ParseError
			isParse := errors.As(err, &pe)
			switch {
			case tt.at == nil && isParse:
				t.Errorf("error %v is a *ParseError, want a plain one", err)
			case tt.at != nil && !isParse:
				t.Fatalf("error %v is not a *ParseError", err)
			case tt.at != nil:
				got := loc{row: pe.Row, line: pe.Line, field: pe.Field, column: pe.Column}
				if got != *tt.at {
					t.Errorf("error %v at %+v, want %+v", err, got, *tt.at)
				}
			}
			t.Log(err)
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	tests := []struct {
		input, want string
	}{
		{"age,y\n1,2\n3,99999999999\n", `row 2 (line 3), column "y": value out of fixed-point range: 99999999999 does not fit Q31.16/48`},
		{"a,\xe9,y\n", `header (line 1), column 2: column name is not valid UTF-8: "\xe9"`},
		{"a,y\n1,2,3\n", `row 1 (line 2), column 3: wrong number of fields: 3 fields, the header has 2`},
	}
	for _, tt := range tests {
		_, err := readRows(tt.input, Options{Label: "y", Format: q16})
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: error %v, want %s", tt.input, err, tt.want)
		}
	}
}

func TestReadAccepts(t *testing.T) {
	one := q16.One()
	tests := []struct {
		name  string
		input string
		opts  Options
		want  [][]int64
	}{
		{"plain", "a,y\n1,2\n", Options{Label: "y", Format: q16}, [][]int64{{one, 2 * one}}},
		{"padded quoted cells", "\xEF\xBB\xBF a ,\"y\"\r\n \" 53 \",\t-1.5\t\r\n", Options{Label: "y", Format: q16},
			[][]int64{{53 * one, -3 * one / 2}}},
		{"no final newline", "a,y\n1,2", Options{Label: "y", Format: q16}, [][]int64{{one, 2 * one}}},
		{"text in ignored columns", "id,a,note,y\nx1,1,\"a, b\",2\n,3,,4\n",
			Options{Label: "y", Exclude: []string{"id", "note"}, Format: q16},
			[][]int64{{one, 2 * one}, {3 * one, 4 * one}}},
		{"features in the given order", "a,b,c,y\n1,2,3,4\n", Options{Label: "y", Features: []string{"c", "a"}, Format: q16},
			[][]int64{{3 * one, one, 4 * one}}},
		{"range edges", "a,b,y\n127,-128,127.4\n-128.5,-0,0.4\n", Options{Label: "y", Format: fixedpoint.Format{ValueBits: 8}},
			[][]int64{{127, -128, 127}, {-128, 0, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readRows(tt.input, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("rows %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReaderState(t *testing.T) {
	r, err := NewReader(strings.NewReader("\xEF\xBB\xBFid, x ,y\n7,1,2\n8,3,oops\n"), Options{Label: "y", Exclude: []string{"id"}, Format: q16})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Columns(), []string{"id", "x", "y"}; !slices.Equal(got, want) {
		t.Errorf("Columns() = %q, want %q", got, want)
	}
	if got := r.Features(); !slices.Equal(got, []string{"x"}) || r.D() != 1 || r.Label() != "y" {
		t.Errorf("Features() = %q, D() = %d, Label() = %q", got, r.D(), r.Label())
	}
	if err := r.Read(make([]int64, 1)); err == nil {
		t.Error("Read with a short dst succeeded")
	}
	dst := make([]int64, 2)
	if err := r.Read(dst); err != nil || r.Rows() != 1 {
		t.Fatalf("first Read: %v, Rows() = %d", err, r.Rows())
	}
	first := r.Read(dst)
	if !errors.Is(first, ErrNotNumber) || r.Rows() != 1 {
		t.Fatalf("second Read: %v, Rows() = %d", first, r.Rows())
	}
	if again := r.Read(dst); again != first {
		t.Errorf("Read after an error returned %v, want the same %v", again, first)
	}
}

func TestReadEOF(t *testing.T) {
	r, err := NewReader(strings.NewReader("x,y\n1,2\n"), Options{Label: "y", Format: q16})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]int64, 2)
	for i, want := range []error{nil, io.EOF, io.EOF} {
		if err := r.Read(dst); err != want {
			t.Errorf("Read %d: %v, want %v", i+1, err, want)
		}
	}
}

func TestFJCConfirmationDays(t *testing.T) {
	f, err := os.Open(shareddata.Path(t, "data", "legal", "fjc_confirmation_days.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tab, err := ReadAll(t.Context(), f, Options{
		Label:   "days_nomination_to_confirmation",
		Exclude: []string{"nid", "sequence"},
		Format:  fixedpoint.Default,
	})
	if err != nil {
		t.Fatal(err)
	}
	wantFeatures := []string{"nomination_year", "age_at_nomination_year", "female", "party_democratic",
		"party_republican", "court_district", "court_appeals", "court_supreme", "aba_rated",
		"aba_well_qualified_or_higher", "aba_not_qualified", "recess_appointment", "roll_call_vote"}
	if tab.N != 4548 || tab.D != 13 || !slices.Equal(tab.Features, wantFeatures) {
		t.Fatalf("n = %d, d = %d, features %q", tab.N, tab.D, tab.Features)
	}
	// First data line: 1376976,1,1936,47,0,1,0,1,0,0,0,0,0,0,0,9
	one := fixedpoint.Default.One()
	want := []int64{1936 * one, 47 * one, 0, one, 0, one, 0, 0, 0, 0, 0, 0, 0, 9 * one}
	if got := tab.Row(0); !slices.Equal(got, want) {
		t.Errorf("row 1 = %v, want %v", got, want)
	}
	// Every value in this file is a non-negative integer.
	for i, v := range tab.Values {
		if v < 0 || v%one != 0 {
			t.Fatalf("value %d = %d is not a non-negative integer", i, v)
		}
	}
}
