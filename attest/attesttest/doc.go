// Package attesttest is a virtual Comet trust deployment for tests: a
// registry key, a provider key, a real tessera log in a temporary directory,
// witnesses that speak C2SP tlog-witness over loopback HTTP, and the trust
// root that describes them. It builds valid bundles so that tests, fuzzers
// and other packages (the registry, the CLI) can exercise verification
// against the real components.
//
// It is for tests only: keys are generated per deployment and nothing is
// kept.
package attesttest
