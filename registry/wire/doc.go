// Package wire holds the JSON shapes of the registry's REST API (docs/openapi.yaml names
// each in components/schemas): the request bodies, the resources the API answers with, the
// error body and its codes. The server (registry/api) and its client (registry/client) both
// speak them, so this package imports nothing of either: a third party's client links these
// plain structs and not the server's storage, jobs or prover.
//
// Status and state values are the registry's: a client compares them with the constants
// here, never with strings of its own.
package wire
