package migrate

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed sql/*.sql
var files embed.FS

// Dialect is the SQL dialect a migration is rendered for.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// ErrTooNew reports a database migrated by a newer binary.
var ErrTooNew = errors.New("database schema is newer than this binary")

// Migration is one version of the registry's schema.
type Migration struct {
	Version int
	Name    string
	text    string
}

// types are the column types that differ between the dialects; a migration names them as
// {{.Time}}, {{.Bytes}} and {{.Serial}} (an auto-incrementing integer primary key).
var types = map[Dialect]struct{ Time, Bytes, Serial string }{
	SQLite:   {Time: "DATETIME", Bytes: "BLOB", Serial: "INTEGER PRIMARY KEY AUTOINCREMENT"},
	Postgres: {Time: "TIMESTAMPTZ", Bytes: "BYTEA", Serial: "BIGSERIAL PRIMARY KEY"},
}

// All lists the registry's migrations in version order.
func All() ([]Migration, error) {
	names, err := fs.Glob(files, "sql/*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", n)
		}
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, text: string(b)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration versions must run 1, 2, 3...: found %d at position %d", m.Version, i+1)
		}
	}
	return out, nil
}

// SQL renders the migration for a dialect.
func (m Migration) SQL(d Dialect) (string, error) {
	ty, ok := types[d]
	if !ok {
		return "", fmt.Errorf("unknown dialect %q", d)
	}
	t, err := template.New(m.Name).Option("missingkey=error").Parse(m.text)
	if err != nil {
		return "", fmt.Errorf("migration %d: %w", m.Version, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, ty); err != nil {
		return "", fmt.Errorf("migration %d: %w", m.Version, err)
	}
	return b.String(), nil
}

// Applied is one row of schema_migrations.
type Applied struct {
	Version   int
	Name      string
	AppliedAt time.Time
}

// lockKey is the PostgreSQL advisory lock that serialises migrations ("comet" in ASCII).
const lockKey = 0x636f6d6574

// Up applies every migration not yet recorded, each in its own transaction, and returns the
// versions it applied.
func Up(ctx context.Context, db *sql.DB, d Dialect) ([]int, error) {
	return UpTo(ctx, db, d, 0)
}

// UpTo is Up that stops after version target (0: the latest): how a test builds a database
// as an older binary left it, to check that the newer migrations carry its records over.
func UpTo(ctx context.Context, db *sql.DB, d Dialect, target int) ([]int, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	if target < 0 || target > len(all) {
		return nil, fmt.Errorf("migrate up to version %d: this binary knows 1 to %d", target, len(all))
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at `+types[d].Time+` NOT NULL)`); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	var done []int
	for _, m := range all {
		if target != 0 && m.Version > target {
			break
		}
		applied, err := applyOne(ctx, db, d, m, len(all))
		if err != nil {
			return done, err
		}
		if applied {
			done = append(done, m.Version)
		}
	}
	return done, nil
}

func applyOne(ctx context.Context, db *sql.DB, d Dialect, m Migration, latest int) (applied bool, err error) {
	text, err := m.SQL(d)
	if err != nil {
		return false, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("migration %d: %w", m.Version, err)
	}
	defer conn.Close()
	begin := "BEGIN"
	if d == SQLite {
		// Take the write lock now, so that a second process waits here instead of both
		// reading "not applied".
		begin = "BEGIN IMMEDIATE"
	}
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		return false, fmt.Errorf("migration %d: begin: %w", m.Version, err)
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if d == Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey); err != nil {
			return false, fmt.Errorf("migration lock: %w", err)
		}
	}
	var maxV sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&maxV); err != nil {
		return false, fmt.Errorf("read schema_migrations: %w", err)
	}
	if maxV.Int64 > int64(latest) {
		return false, fmt.Errorf("%w: version %d, this binary knows %d", ErrTooNew, maxV.Int64, latest)
	}
	if maxV.Int64 >= int64(m.Version) {
		_, err := conn.ExecContext(ctx, "ROLLBACK")
		return false, err
	}
	if _, err := conn.ExecContext(ctx, text); err != nil {
		return false, fmt.Errorf("migration %d %s: %w", m.Version, m.Name, err)
	}
	q := "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"
	if d == Postgres {
		q = "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)"
	}
	if _, err := conn.ExecContext(ctx, q, m.Version, m.Name, time.Now().UTC()); err != nil {
		return false, fmt.Errorf("record migration %d: %w", m.Version, err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return false, fmt.Errorf("migration %d: commit: %w", m.Version, err)
	}
	return true, nil
}

// List returns the recorded migrations.
func List(ctx context.Context, db *sql.DB) ([]Applied, error) {
	rows, err := db.QueryContext(ctx, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	defer rows.Close()
	var out []Applied
	for rows.Next() {
		var a Applied
		if err := rows.Scan(&a.Version, &a.Name, &a.AppliedAt); err != nil {
			return nil, fmt.Errorf("list migrations: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// River applies River's own migrations for its driver (riversqlite or riverpgxv5) in the
// given schema (empty for the default).
func River[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], schema string) error {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Schema: schema})
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	return nil
}
