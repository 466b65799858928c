// Package migrate brings a registry database to the current schema: the registry's own
// versioned migrations (sql/NNNN_name.sql, one file per version, rendered for SQLite or
// PostgreSQL and recorded in schema_migrations) and River's migrations through rivermigrate.
//
// Every version runs in its own transaction together with its schema_migrations row, so a
// crash leaves a version either applied and recorded or not applied at all. On PostgreSQL a
// transaction-scoped advisory lock keeps two starting replicas from migrating at once; on
// SQLite the write lock taken by BEGIN IMMEDIATE does the same. Migrations only move up; a
// database newer than this binary is refused rather than used.
//
// The package does not know the gorm models; registry/store's conformance suite checks that
// the models and the migrated schema agree.
package migrate
