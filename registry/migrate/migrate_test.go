package migrate

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"
)

func TestAllRenders(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 || all[0].Version != 1 {
		t.Fatalf("migrations %+v", all)
	}
	for _, m := range all {
		for _, d := range []Dialect{SQLite, Postgres} {
			s, err := m.SQL(d)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(s, "{{") {
				t.Errorf("%d %s: unrendered template", m.Version, d)
			}
		}
	}
	if _, err := all[0].SQL("oracle"); err == nil {
		t.Error("unknown dialect accepted")
	}
}

func TestUpIsIdempotentAndRefusesNewer(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	applied, err := Up(ctx, db, SQLite)
	if err != nil || len(applied) == 0 {
		t.Fatalf("first Up: %v %v", applied, err)
	}
	again, err := Up(ctx, db, SQLite)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Up applied %v: %v", again, err)
	}
	rows, err := List(ctx, db)
	if err != nil || len(rows) != len(applied) || rows[0].Name != "init" || rows[0].AppliedAt.IsZero() {
		t.Fatalf("schema_migrations %+v %v", rows, err)
	}
	if _, err := db.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', CURRENT_TIMESTAMP)"); err != nil {
		t.Fatal(err)
	}
	if _, err := Up(ctx, db, SQLite); !errors.Is(err, ErrTooNew) {
		t.Fatalf("Up on a newer schema: %v", err)
	}
}

func TestUpTo(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target  int
		applied int // how many UpTo applies, -1 for an error
	}{
		{target: -1, applied: -1},
		{target: len(all) + 1, applied: -1},
		{target: 1, applied: 1},
		{target: 1, applied: 0},
		{target: 0, applied: len(all) - 1}, // the rest
		{target: 1, applied: 0},            // never down
	} {
		got, err := UpTo(ctx, db, SQLite, tc.target)
		switch {
		case tc.applied < 0 && err == nil:
			t.Errorf("UpTo(%d) applied %v, want an error", tc.target, got)
		case tc.applied >= 0 && (err != nil || len(got) != tc.applied):
			t.Errorf("UpTo(%d) applied %v (%v), want %d", tc.target, got, err, tc.applied)
		}
	}
}
