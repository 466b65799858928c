// Package shareddata locates the reference data in ../shared beside the repository (the NIST
// StRD datasets, the FJC legal data, the Starknet specification) for tests and benchmarks.
// Nothing from there is committed to the repository.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Path returns the path of elems under ../shared, failing the test when the repository root
// or the file cannot be found: a missing reference file must never turn into a skipped check.
func Path(tb testing.TB, elems ...string) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("shareddata: no go.mod above the working directory")
		}
		dir = parent
	}
	p := filepath.Join(append([]string{dir, "..", "shared"}, elems...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("shareddata: %v (the reference data lives in ../shared beside the repository)", err)
	}
	return p
}
