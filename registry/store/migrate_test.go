package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/comet-attest/comet/internal/pgtest"
	"github.com/comet-attest/comet/registry/migrate"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// A database that an older binary left at version 1 migrates in place: its records stay,
// each submission gets the name its model was recorded under, and the model's live
// submission no longer blocks another provider's.
func TestMigrationFromVersion1(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (*sql.DB, migrate.Dialect, Options)
	}{
		{name: "sqlite", open: func(t *testing.T) (*sql.DB, migrate.Dialect, Options) {
			o := Options{SQLitePath: filepath.Join(t.TempDir(), "comet.db")}
			db, err := sql.Open("sqlite3", "file:"+o.SQLitePath+"?_foreign_keys=on")
			if err != nil {
				t.Fatal(err)
			}
			return db, migrate.SQLite, o
		}},
		{name: "postgres", open: func(t *testing.T) (*sql.DB, migrate.Dialect, Options) {
			o := Options{DSN: pgtest.DSN(), Schema: pgtest.Schema(t)}
			cc, err := pgx.ParseConfig(o.DSN)
			if err != nil {
				t.Fatal(err)
			}
			db := stdlib.OpenDB(*cc)
			if _, err := db.Exec("CREATE SCHEMA " + pgx.Identifier{o.Schema}.Sanitize()); err != nil {
				t.Fatal(err)
			}
			db.Close()
			cc.RuntimeParams["search_path"] = o.Schema
			return stdlib.OpenDB(*cc), migrate.Postgres, o
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db, d, o := tc.open(t)
			if _, err := migrate.UpTo(ctx, db, d, 1); err != nil {
				t.Fatal(err)
			}
			m, c := hex64('1'), hex64('c')
			// Version 1's records, in version 1's columns: a rejected and a live submission.
			_, err := db.ExecContext(ctx, `
INSERT INTO providers (id, display_name, contact, status, created_at, updated_at) VALUES
	('owner', 'owner', 'c', 'approved', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
	('other', 'other', 'c', 'approved', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);
INSERT INTO datasets (commitment, sha256, n, d, fraction_bits, value_bits, chunk_rows, manifest, created_at)
	VALUES ('`+c+`', '`+hex64('d')+`', 3, 2, 8, 24, 2, '{}', CURRENT_TIMESTAMP);
INSERT INTO models (sha256, name, provider_id, dataset_commitment, body, created_at)
	VALUES ('`+m+`', 'model.json', 'owner', '`+c+`', '{}', CURRENT_TIMESTAMP);
INSERT INTO submissions (id, provider_id, model_sha256, dataset_commitment, manifest, proof_sha256, proof, status, created_at, updated_at) VALUES
	('s1', 'owner', '`+m+`', '`+c+`', '{}', '`+hex64('p')+`', 'proof', 'rejected', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
	('s2', 'owner', '`+m+`', '`+c+`', '{}', '`+hex64('p')+`', 'proof', 'received', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);`)
			if err != nil {
				t.Fatal(err)
			}
			db.Close()

			s := openStore(t, o)
			if p, err := s.Provider(ctx, "owner"); err != nil || p.Role != RoleProvider {
				t.Errorf("a version 1 provider after migrating: %+v %v", p, err)
			}
			for _, id := range []string{"s1", "s2"} {
				sub, err := s.Submission(ctx, id)
				if err != nil || sub.ModelName != "model.json" || sub.ProviderID != "owner" {
					t.Errorf("%s after migrating: %+v %v", id, sub, err)
				}
			}
			err = s.InTx(ctx, func(tx *Tx) error { return tx.Create(ctx, submission("s3", "other", m)) })
			if err != nil {
				t.Errorf("another provider's submission beside a migrated live one: %v", err)
			}
			err = s.InTx(ctx, func(tx *Tx) error { return tx.Create(ctx, submission("s4", "owner", m)) })
			if !errors.Is(err, ErrConflict) {
				t.Errorf("the owner's replay after migrating: %v", err)
			}
		})
	}
}
