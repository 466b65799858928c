package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/comet-attest/comet/internal/atomicfile"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/registry/client"
)

// Keys keeps the verifying keys fetched from the registry in prover/setup's layout (a
// folder per shape), so that a later run need not fetch them again. What it loads is used
// only if its hashes are the ones the trust root pins.
type Keys interface {
	Load(ctx context.Context, shape circuit.Keyed) (*setup.Keys, error)
	// Put keeps one file; name is slash-separated, under the shape's folder.
	Put(ctx context.Context, name string, b []byte) error
}

// KeysDir is Keys in a directory.
type KeysDir string

// Load implements Keys.
func (d KeysDir) Load(ctx context.Context, shape circuit.Keyed) (*setup.Keys, error) {
	return setup.Load(ctx, string(d), shape, setup.Verifying)
}

// Put implements Keys.
func (d KeysDir) Put(_ context.Context, name string, b []byte) error {
	p := filepath.Join(string(d), filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(p, b, 0o644)
}

// loadKeys loads a shape's verifying keys from k, after fetch (when given) has put them
// there.
func loadKeys[S circuit.Keyed](k Keys, fetch func(ctx context.Context) error) func(context.Context, S) (*setup.Keys, error) {
	return func(ctx context.Context, shape S) (*setup.Keys, error) {
		keys, err := k.Load(ctx, shape)
		if errors.Is(err, setup.ErrNotFound) && fetch != nil {
			if err = fetch(ctx); err == nil {
				keys, err = k.Load(ctx, shape)
			}
		}
		return keys, err
	}
}

// LocalKeys loads verifying keys from k and fetches none (offline).
func LocalKeys(k Keys) func(context.Context, circuit.Shape) (*setup.Keys, error) {
	return loadKeys[circuit.Shape](k, nil)
}

// FetchEvalKeys fetches into k the verifying keys of the evaluation circuits an evaluation bundle
// names.
func FetchEvalKeys(ctx context.Context, c *client.Client, k Keys, bundleJSON []byte) error {
	b, err := proof.ParseEvalBundle(bundleJSON)
	if err != nil {
		return err
	}
	return fetchCircuitKeys(ctx, c, k, b.Shape, b.Circuits, circuit.EvalFinalCircuit)
}

// fetchCircuitKeys downloads the verifying keys of a shape's circuits into k; loading them
// then checks them against keys.json, and the verifier against the trust root.
func fetchCircuitKeys(ctx context.Context, c *client.Client, k Keys, shape circuit.Keyed, circuits map[string]proof.CircuitID, final circuit.Circuit) error {
	// keys.json is the final circuit's: it describes both circuits of the shape.
	files := map[string][2]string{"keys.json": {circuits[string(final)].ID, "keys.json"}}
	for name, id := range circuits {
		files[name+".vk"] = [2]string{id.ID, "vk"}
	}
	for name, f := range files {
		var buf bytes.Buffer
		if _, err := c.CircuitFile(ctx, f[0], f[1], &buf); err != nil {
			return fmt.Errorf("fetch %s: %w", name, err)
		}
		if err := k.Put(ctx, path.Join(shape.String(), name), buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// FetchKeys fetches into k the verifying keys of the circuits a proof bundle names.
func FetchKeys(ctx context.Context, c *client.Client, k Keys, bundleJSON []byte) error {
	b, err := proof.ParseBundle(bundleJSON)
	if err != nil {
		return err
	}
	return fetchCircuitKeys(ctx, c, k, b.Shape, b.Circuits, circuit.FinalCircuit)
}
