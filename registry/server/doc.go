// Package server assembles a running registry from its configuration: the store (with its
// migrations), the registry's and the log's signing keys (generated on first start when no
// key is configured), the transparency log, the published circuit keys, the trust root, the
// job queue, the service and the HTTP API; it reconciles the log with the database before
// serving, and shuts everything down in order.
//
// On PostgreSQL a `comet serve` process is one of any number of replicas (replica.go): it
// reads the shared log directory until it takes the log-owner lease (registry/pglock), then
// appends, and stops appending at once when it loses the lease.
//
// `comet serve` is a thin main over Open, Start and Serve; tests use the same path so that
// what they exercise is what runs.
package server
