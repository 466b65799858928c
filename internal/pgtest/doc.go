// Package pgtest gives tests a fresh PostgreSQL schema on the test server at 127.0.0.1:5432
// (database test, trust auth; COMET_TEST_POSTGRES_DSN overrides), dropped when the test ends,
// so that one suite runs against SQLite and PostgreSQL alike.
package pgtest
