// Package shareddata locates the reference data in ../shared beside the repository (the NIST
// StRD datasets, the FJC legal data, the Starknet specification) for tests and benchmarks.
// Nothing from there is committed to the repository.
package shareddata

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
