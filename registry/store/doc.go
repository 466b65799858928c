// Package store holds the registry's records (providers, API keys, datasets, models,
// submissions, attestations, revocations, audit events, anchors) and their queries, through
// gorm on SQLite (the embedded default) or PostgreSQL.
//
// On SQLite the store keeps two pools over one WAL database: a single writer connection,
// which River shares so that a job can be inserted in the transaction of the write that
// causes it, and a pool of read-only connections for lookups, which never wait for writers.
// On PostgreSQL one pgx pool serves gorm (through pgx's database/sql adapter) and River.
//
// InTx runs a function in one transaction and hands it a Tx that also exposes the driver's
// own transaction (a *sql.Tx on SQLite, a pgx.Tx on PostgreSQL) for River's InsertTx.
//
// The store checks nothing but the schema's constraints: the rules (who may do what, which
// status follows which) live in registry/service.
package store
