package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/comet-attest/comet/internal/pgtest"
)

// openEach runs fn on a fresh SQLite store and on a fresh PostgreSQL schema (dropped after
// the test): one suite, both databases.
func openEach(t *testing.T, fn func(t *testing.T, s *Store, o Options)) {
	t.Run("sqlite", func(t *testing.T) {
		o := Options{SQLitePath: filepath.Join(t.TempDir(), "comet.db")}
		fn(t, openStore(t, o), o)
	})
	t.Run("postgres", func(t *testing.T) {
		o := Options{DSN: pgtest.DSN(), Schema: pgtest.Schema(t)}
		fn(t, openStore(t, o), o)
	})
}

func openStore(t *testing.T, o Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
