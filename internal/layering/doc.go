// Package layering holds no code: its test checks that the module's imports point down the
// package table of DESIGN.md, and that the libraries a third party links alone (the registry
// client, the offline verifier) stay free of the server.
package layering
