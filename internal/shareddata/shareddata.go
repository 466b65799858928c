// Package shareddata locates the reference data in ../shared beside the repository (the NIST
// StRD datasets, the FJC legal data, the Starknet specification) for tests and benchmarks.
// Nothing from there is committed to the repository.
package shareddata

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Find returns the path of elems under ../shared, finding the repository root by walking up
// from the working directory to go.mod.
func Find(elems ...string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("shareddata: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("shareddata: no go.mod above the working directory")
		}
		dir = parent
	}
	p := filepath.Join(append([]string{dir, "..", "shared"}, elems...)...)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("shareddata: %w (the reference data lives in ../shared beside the repository)", err)
	}
	return p, nil
}

// Path is Find for tests: it fails the test when the file cannot be found, so that missing
// reference data never turns into a skipped check.
func Path(tb testing.TB, elems ...string) string {
	tb.Helper()
	p, err := Find(elems...)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// NISTCSV writes the data block of the NIST StRD dataset name (such as "Longley", the block
// after "Data:" in <name>.dat) to dir/<name>.csv, with a header of the given column names
// (y first, as NIST lists the response), and returns its path.
func NISTCSV(tb testing.TB, name, dir string, columns ...string) string {
	tb.Helper()
	raw, err := os.ReadFile(Path(tb, "data", "nist-strd", name+".dat"))
	if err != nil {
		tb.Fatal(err)
	}
	at := bytes.LastIndex(raw, []byte("\nData:"))
	if at < 0 {
		tb.Fatalf("%s.dat: no Data: section", name)
	}
	var sb strings.Builder
	sb.WriteString(strings.Join(columns, ",") + "\n")
	for _, l := range strings.Split(string(raw[at+1:]), "\n")[1:] {
		fields := strings.Fields(l)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != len(columns) {
			tb.Fatalf("%s.dat: %d fields in %q for %d columns", name, len(fields), l, len(columns))
		}
		sb.WriteString(strings.Join(fields, ",") + "\n")
	}
	out := filepath.Join(dir, name+".csv")
	if err := os.WriteFile(out, []byte(sb.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return out
}
