package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/comet-attest/comet/registry/migrate"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

var (
	// ErrNotFound reports a record that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict reports a write that a unique constraint refused.
	ErrConflict = errors.New("conflict")
	// ErrBadCursor reports a list cursor that the store did not make.
	ErrBadCursor = errors.New("bad cursor")
)

// Options says which database to open.
type Options struct {
	// SQLitePath is the SQLite file; used when DSN is empty.
	SQLitePath string
	// SQLiteSynchronous is "full" or "normal" (see config.Database).
	SQLiteSynchronous string
	// DSN is a PostgreSQL connection string.
	DSN string
	// Schema is the PostgreSQL schema for every table, created if missing.
	Schema string
	// ReadConns is the number of SQLite read connections (default 4).
	ReadConns int
	// Now is the clock (default time.Now); times are stored in UTC, to the microsecond.
	Now    func() time.Time
	Logger *slog.Logger
}

// Store is an open registry database.
type Store struct {
	Queries // reads outside any transaction

	w       *gorm.DB
	dialect migrate.Dialect
	schema  string
	now     func() time.Time
	closers []func() error

	sqliteW *sql.DB       // SQLite: the one writer connection, shared with River
	pool    *pgxpool.Pool // PostgreSQL

	// SQLite group commit (see InBatchTx).
	batch     chan *batchReq
	stop      chan struct{}
	batchDone chan struct{}
}

// Open opens the database and brings its schema up to date: the registry's migrations and
// River's.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	now := func() time.Time { return o.Now().UTC().Truncate(time.Microsecond) }
	gcfg := func() *gorm.Config {
		return &gorm.Config{
			NowFunc:                func() time.Time { return now() },
			TranslateError:         true,
			SkipDefaultTransaction: true,
			Logger:                 logger.Discard,
		}
	}
	s := &Store{now: now, schema: o.Schema}
	var err error
	if o.DSN != "" {
		err = s.openPostgres(ctx, o, gcfg)
	} else {
		err = s.openSQLite(ctx, o, gcfg)
	}
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

func (s *Store) openSQLite(ctx context.Context, o Options, gcfg func() *gorm.Config) error {
	s.dialect = migrate.SQLite
	if o.SQLitePath == "" {
		return errors.New("open store: no SQLite path")
	}
	if err := os.MkdirAll(filepath.Dir(o.SQLitePath), 0o755); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	sync := o.SQLiteSynchronous
	if sync == "" {
		sync = "full"
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", sync)
	q.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite3", "file:"+o.SQLitePath+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	// One writer: SQLite allows one anyway, and River shares it (see the riversqlite docs).
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s.closers = append(s.closers, w.Close)
	s.sqliteW = w
	if err := w.PingContext(ctx); err != nil {
		return fmt.Errorf("open store %s: %w", o.SQLitePath, err)
	}
	// Readers: read-only, and without the pragmas that would write.
	q.Del("_txlock")
	q.Del("_journal_mode")
	q.Del("_synchronous")
	q.Set("mode", "ro")
	r, err := sql.Open("sqlite3", "file:"+o.SQLitePath+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	n := o.ReadConns
	if n <= 0 {
		n = 4
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.closers = append(s.closers, r.Close)
	if s.w, err = gorm.Open(sqlite.New(sqlite.Config{Conn: w}), gcfg()); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	if err := s.migrate(ctx, w, migrate.SQLite); err != nil {
		return err
	}
	if err := migrate.River(ctx, riversqlite.New(w), ""); err != nil {
		return err
	}
	// The readers prepare each distinct query once per connection rather than per call:
	// SQLite's prepare was an eighth of a public page's time. The schema does not change
	// under them (migrations ran above), and the LRU bounds what queries with IN lists add.
	rcfg := gcfg()
	rcfg.PrepareStmt, rcfg.PrepareStmtMaxSize, rcfg.PrepareStmtTTL = true, 256, time.Hour
	rg, err := gorm.Open(sqlite.New(sqlite.Config{Conn: r}), rcfg)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	s.Queries = Queries{db: rg}
	s.batch, s.stop, s.batchDone = make(chan *batchReq), make(chan struct{}), make(chan struct{})
	go s.runBatches()
	s.closers = append(s.closers, func() error {
		close(s.stop)
		<-s.batchDone
		return nil
	})
	return nil
}

// bootLockKey is the PostgreSQL advisory lock that serialises opening a store ("comet_b").
const bootLockKey = 0x636f6d65745f62

func (s *Store) openPostgres(ctx context.Context, o Options, gcfg func() *gorm.Config) error {
	s.dialect = migrate.Postgres
	pc, err := pgxpool.ParseConfig(o.DSN)
	if err != nil {
		return fmt.Errorf("open store: postgres dsn: %w", err)
	}
	if o.Schema != "" {
		pc.ConnConfig.RuntimeParams["search_path"] = o.Schema
	}
	// Processes started together on a new database (registry replicas, workers) would race
	// on CREATE ... IF NOT EXISTS, which PostgreSQL does not serialise: one boots at a time,
	// holding this connection's lock until its migrations are done.
	boot, err := pgx.ConnectConfig(ctx, pc.ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer boot.Close(context.WithoutCancel(ctx))
	if _, err := boot.Exec(ctx, "SELECT pg_advisory_lock($1)", bootLockKey); err != nil {
		return fmt.Errorf("open store: boot lock: %w", err)
	}
	if o.Schema != "" {
		if _, err := boot.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{o.Schema}.Sanitize()); err != nil {
			return fmt.Errorf("open store: create schema: %w", err)
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	s.closers = append(s.closers, func() error { pool.Close(); return nil })
	s.pool = pool
	db := stdlib.OpenDBFromPool(pool)
	s.closers = append([]func() error{db.Close}, s.closers...)
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	if s.w, err = gorm.Open(postgres.New(postgres.Config{Conn: db}), gcfg()); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	if err := s.migrate(ctx, db, migrate.Postgres); err != nil {
		return err
	}
	if err := migrate.River(ctx, riverpgxv5.New(pool), o.Schema); err != nil {
		return err
	}
	s.Queries = Queries{db: s.w}
	return nil
}

func (s *Store) migrate(ctx context.Context, db *sql.DB, d migrate.Dialect) error {
	if _, err := migrate.Up(ctx, db, d); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	return nil
}

// Close closes every pool.
func (s *Store) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// Dialect is the database in use.
func (s *Store) Dialect() migrate.Dialect { return s.dialect }

// Schema is the PostgreSQL schema (empty for SQLite or the default).
func (s *Store) Schema() string { return s.schema }

// SQLiteDB is the SQLite writer pool for River's riversqlite driver (nil on PostgreSQL).
func (s *Store) SQLiteDB() *sql.DB { return s.sqliteW }

// PgxPool is the PostgreSQL pool for River's riverpgxv5 driver (nil on SQLite).
func (s *Store) PgxPool() *pgxpool.Pool { return s.pool }

// Now is the store's clock, in UTC to the microsecond.
func (s *Store) Now() time.Time { return s.now() }

// Ping checks that the database answers, for readiness.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.WithContext(ctx).Raw("SELECT 1").Scan(&one).Error; err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// Tx is one open transaction.
type Tx struct {
	Queries
	// SQL is the transaction on SQLite, PGX on PostgreSQL: for River's InsertTx.
	SQL *sql.Tx
	PGX pgx.Tx
}

// InTx runs fn in one transaction, committed when fn returns nil and rolled back otherwise.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	if s.dialect == migrate.SQLite {
		return s.w.WithContext(ctx).Transaction(func(g *gorm.DB) error {
			st, ok := g.Statement.ConnPool.(*sql.Tx)
			if !ok {
				return fmt.Errorf("transaction: unexpected connection %T", g.Statement.ConnPool)
			}
			return fn(&Tx{Queries: Queries{db: g}, SQL: st})
		})
	}
	return s.inPgxTx(ctx, fn)
}

// inPgxTx begins the transaction in pgx on a connection that database/sql has handed out
// exclusively, and points gorm at that same connection: River's riverpgxv5 needs a pgx.Tx,
// gorm needs database/sql, and both must see one transaction.
func (s *Store) inPgxTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	sqlDB, err := s.w.DB()
	if err != nil {
		return fmt.Errorf("transaction: %w", err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("transaction: %w", err)
	}
	defer conn.Close()
	var pc *pgx.Conn
	if err := conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		pc = c.Conn()
		return nil
	}); err != nil {
		return fmt.Errorf("transaction: %w", err)
	}
	ptx, err := pc.Begin(ctx)
	if err != nil {
		return fmt.Errorf("transaction: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = ptx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	g := s.w.WithContext(ctx).Session(&gorm.Session{NewDB: true})
	g.Statement.ConnPool = conn
	if err := fn(&Tx{Queries: Queries{db: g}, PGX: ptx}); err != nil {
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		return fmt.Errorf("transaction: commit: %w", err)
	}
	return nil
}
