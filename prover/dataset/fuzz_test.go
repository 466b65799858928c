package dataset

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/comet-attest/comet/prover/fixedpoint"
)

var sentinels = []error{
	ErrEmptyFile, ErrNoHeader, ErrNoRows, ErrNoLabel, ErrNoFeatures, ErrHeaderEncoding,
	ErrEmptyColumnName, ErrDuplicateColumn, ErrMissingColumn, ErrLabelIsFeature, ErrExcludedColumn,
	ErrFieldCount, ErrQuote, ErrEmptyCell, ErrNotNumber, ErrNotFinite, ErrOverflow, fixedpoint.ErrFormat,
}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func FuzzReader(f *testing.F) {
	fixtures, _ := filepath.Glob(filepath.Join("testdata", "*.csv"))
	for _, name := range fixtures {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "y", "", "nid,note", uint8(16), uint8(48))
		f.Add(data, "label", "c,a", "", uint8(2), uint8(8))
	}
	f.Add([]byte("a,y\n1,2\n3,4,5\n"), "y", "", "", uint8(16), uint8(48))
	f.Add([]byte("a,y\n\"1\",NaN\n"), "y", "a", "", uint8(0), uint8(8))
	f.Add([]byte("\xEF\xBB\xBFa,b,y\r\n1e3,-0.5,7\r\n"), "y", "b", "a", uint8(4), uint8(16))
	f.Fuzz(func(t *testing.T, data []byte, label, features, exclude string, fb, vb uint8) {
		opts := Options{
			Label:    label,
			Features: splitList(features),
			Exclude:  splitList(exclude),
			Format:   fixedpoint.Format{FractionBits: int(fb % 64), ValueBits: int(vb % 64)},
		}
		r, err := NewReader(bytes.NewReader(data), opts)
		if err != nil {
			checkFuzzError(t, err, 0)
			return
		}
		if opts.Features != nil && r.D() != len(opts.Features) {
			t.Fatalf("D() = %d for %d requested features", r.D(), len(opts.Features))
		}
		dst := make([]int64, r.D()+1)
		for {
			err := r.Read(dst)
			if err == io.EOF {
				if r.Rows() == 0 {
					t.Fatal("io.EOF with no rows read")
				}
				return
			}
			if err != nil {
				checkFuzzError(t, err, r.Rows()+1)
				if again := r.Read(dst); again != err {
					t.Fatalf("Read after %v returned %v", err, again)
				}
				return
			}
			for k, v := range dst {
				if !opts.Format.InRange(v) {
					t.Fatalf("row %d value %d = %d outside %s", r.Rows(), k, v, opts.Format)
				}
			}
		}
	})
}

// checkFuzzError checks that err is a *ParseError locating row, or a plain sentinel.
func checkFuzzError(t *testing.T, err error, row int) {
	t.Helper()
	if !isSentinel(err) {
		t.Fatalf("error %v matches no sentinel", err)
	}
	var pe *ParseError
	if errors.As(err, &pe) && (pe.Row != row || pe.Line < 1 || pe.Field < 0 || !isSentinel(pe.Err)) {
		t.Fatalf("*ParseError %+v, want row %d", pe, row)
	}
}
