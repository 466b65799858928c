package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// DSN is the test server's connection string.
func DSN() string {
	if dsn := os.Getenv("COMET_TEST_POSTGRES_DSN"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Schema names a new schema (created by whoever opens the store) and drops it, with
// everything in it, when the test ends.
func Schema(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "comet_test_" + hex.EncodeToString(b)
	tb.Cleanup(func() {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, DSN())
		if err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// SchemaURL is DSN with its search_path set to a new Schema, for code that takes its
// schema from the connection string.
func SchemaURL(tb testing.TB) string {
	tb.Helper()
	u, err := url.Parse(DSN())
	if err != nil {
		tb.Fatal(err)
	}
	v := u.Query()
	v.Set("search_path", Schema(tb))
	u.RawQuery = v.Encode()
	return u.String()
}
