package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/internal/atomicfile"
	"github.com/comet-attest/comet/internal/config"
	"github.com/comet-attest/comet/registry/keyset"
)

// trustChain is the registry's trust root history, one signed version per file
// (<dir>/<version>.json), each signed by the root key of the one before, so that a client
// holding any version can walk to the newest.
type trustChain struct {
	dir string

	mu       sync.RWMutex
	versions []*trustroot.Root // versions[i] is version i+1

	// reissue issues a new version if what the registry states changed since start: set by
	// writeTrustRoot, for circuit keys published while the registry runs.
	reissue func(ctx context.Context, now time.Time) error
}

// openTrustChain loads and re-verifies the chain in dir (empty when dir does not exist).
func openTrustChain(dir string) (*trustChain, error) {
	c := &trustChain{dir: dir}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read trust roots: %w", err)
	}
	var nums []int64
	for _, e := range entries {
		n, err := strconv.ParseInt(strings.TrimSuffix(e.Name(), ".json"), 10, 64)
		if err != nil || !strings.HasSuffix(e.Name(), ".json") || n < 1 {
			continue // temporary files of an interrupted write
		}
		nums = append(nums, n)
	}
	slices.Sort(nums)
	for i, n := range nums {
		if n != int64(i+1) {
			return nil, fmt.Errorf("trust roots in %s: version %d is missing", dir, i+1)
		}
		raw, err := os.ReadFile(c.path(n))
		if err != nil {
			return nil, fmt.Errorf("read trust root: %w", err)
		}
		var r *trustroot.Root
		if i == 0 {
			r, err = trustroot.Parse(raw)
		} else {
			r, err = c.versions[i-1].Next(raw)
		}
		if err != nil {
			return nil, fmt.Errorf("trust root %s: %w", c.path(n), err)
		}
		c.versions = append(c.versions, r)
	}
	return c, nil
}

func (c *trustChain) path(version int64) string {
	return filepath.Join(c.dir, strconv.FormatInt(version, 10)+".json")
}

// Latest is the newest version, nil before the first is issued.
func (c *trustChain) Latest() *trustroot.Root {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.versions) == 0 {
		return nil
	}
	return c.versions[len(c.versions)-1]
}

// Version returns the signed document of one version.
func (c *trustChain) Version(n int64) ([]byte, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if n < 1 || n > int64(len(c.versions)) {
		return nil, false
	}
	raw, _ := c.versions[n-1].Marshal()
	return raw, true
}

// trustInputs are what the registry's trust root states now.
type trustInputs struct {
	registry, log *keys.Signer
	// root signs new versions; previousRoot, when set, is the root key of the version before
	// a root key rotation, which must sign the hand-over.
	root, previousRoot *keys.Signer
	witnesses          *trustroot.WitnessEntry
	circuits           map[string]trustroot.CircuitPin
	starknet           *trustroot.Starknet
	expiry             time.Duration
}

// legacyRoot is what a trust root of format version 1 (a plain JSON file, <data_dir>/trustroot.json)
// held that the chain must carry on: the registry keys' validity windows and the log key,
// so that what they signed before the upgrade still verifies.
type legacyRoot struct {
	RegistryKeys []trustroot.KeyEntry `json:"registry_keys"`
	Log          trustroot.LogEntry   `json:"log"`
}

// ensure issues a new version when what the registry states differs from the newest one,
// or when the newest has used up half its lifetime, and returns the newest. legacy is the
// path of a format-1 trust root to carry on from when the chain is empty.
func (c *trustChain) ensure(ctx context.Context, in trustInputs, legacy string, now time.Time) (*trustroot.Root, error) {
	now = now.UTC().Truncate(time.Second)
	latest := c.Latest()
	var prev trustroot.File
	if latest != nil {
		prev = latest.File()
	} else if b, err := os.ReadFile(legacy); err == nil {
		var l legacyRoot
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("trust root %s: %w", legacy, err)
		}
		prev.RegistryKeys, prev.Log = l.RegistryKeys, l.Log
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read trust root: %w", err)
	}
	want := nextFile(prev, in, now)
	if latest != nil && sameContent(prev, want) && latest.Expires.Sub(now) > in.expiry/2 {
		return latest, nil
	}
	signers := []*keys.Signer{in.root}
	if latest != nil && !slices.ContainsFunc(latest.RootKeys, func(k *keys.Verifier) bool { return k.KeyID() == in.root.KeyID() }) {
		if in.previousRoot == nil || !slices.ContainsFunc(latest.RootKeys, func(k *keys.Verifier) bool { return k.KeyID() == in.previousRoot.KeyID() }) {
			return nil, fmt.Errorf("the trust root's root key changed: version %d is signed by %s, so the next version must be too; set trust.previous_root_key_file to that key",
				latest.Version, latest.RootKeys[0].KeyID())
		}
		signers = append(signers, in.previousRoot)
	}
	want.Version = 1
	if latest != nil {
		want.Version = latest.Version + 1
	}
	want.Expires = now.Add(in.expiry)
	r, err := trustroot.Sign(ctx, want, signers...)
	if err != nil {
		return nil, fmt.Errorf("issue trust root version %d: %w", want.Version, err)
	}
	if latest != nil {
		if r, err = latest.Next(mustMarshal(r)); err != nil {
			return nil, fmt.Errorf("issue trust root version %d: %w", want.Version, err)
		}
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, fmt.Errorf("trust roots: %w", err)
	}
	if err := atomicfile.WriteFile(c.path(r.Version), mustMarshal(r), 0o644); err != nil {
		return nil, fmt.Errorf("write trust root: %w", err)
	}
	c.mu.Lock()
	c.versions = append(c.versions, r)
	c.mu.Unlock()
	return r, nil
}

func mustMarshal(r *trustroot.Root) []byte {
	b, _ := r.Marshal() // a parsed root keeps its bytes
	return b
}

// nextFile derives the next version's content from the previous one: registry keys no longer
// in use are retired (not_after) but stay listed, so that what they signed still verifies; the
// log's former keys likewise; circuits once pinned stay pinned, the published ones updated.
func nextFile(prev trustroot.File, in trustInputs, now time.Time) trustroot.File {
	f := trustroot.File{
		Format: trustroot.Format,
		Root:   trustroot.RootKeys{Threshold: 1, Keys: []string{in.root.Verifier().String()}},
	}
	current := in.registry.Verifier()
	known := false
	for _, e := range prev.RegistryKeys {
		if v, err := keys.ParseVerifier(e.Key); err == nil && v.KeyID() == current.KeyID() {
			known = true
			e.NotAfter = nil // a key back in use signs again
		} else if e.NotAfter == nil && e.RevokedAt == nil {
			// now is truncated to the second: the next second still covers what the key
			// signed in the second of the rotation.
			end := now.Add(time.Second)
			if !end.After(e.NotBefore) {
				end = e.NotBefore.Add(time.Second)
			}
			e.NotAfter = &end
		}
		f.RegistryKeys = append(f.RegistryKeys, e)
	}
	if !known {
		// A minute of slack for clocks; attestations are issued after start-up anyway.
		f.RegistryKeys = append(f.RegistryKeys, trustroot.KeyEntry{Key: current.String(), NotBefore: now.Add(-time.Minute)})
	}
	f.Log = trustroot.LogEntry{Origin: in.log.Name(), Key: in.log.Verifier().String()}
	if prev.Log.Origin == f.Log.Origin {
		for _, k := range append([]string{prev.Log.Key}, prev.Log.PreviousKeys...) {
			if k != "" && k != f.Log.Key && !slices.Contains(f.Log.PreviousKeys, k) {
				f.Log.PreviousKeys = append(f.Log.PreviousKeys, k)
			}
		}
	}
	f.Witnesses = in.witnesses
	if len(prev.Circuits)+len(in.circuits) > 0 {
		f.Circuits = map[string]trustroot.CircuitPin{}
		for id, p := range prev.Circuits {
			f.Circuits[id] = p
		}
		for id, p := range in.circuits {
			f.Circuits[id] = p
		}
	}
	f.Starknet = prev.Starknet
	if in.starknet != nil {
		f.Starknet = in.starknet
	}
	return f
}

// sameContent compares two versions' content, ignoring version and expiry.
func sameContent(a, b trustroot.File) bool {
	a.Version, b.Version, a.Expires, b.Expires = 0, 0, time.Time{}, time.Time{}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// writeTrustRoot opens the trust root chain under the data directory and issues a new
// version when the registry's keys, log, witnesses, circuits or anchor contract changed. A
// format-1 trustroot.json left by an older registry is carried on into version 1.
func writeTrustRoot(ctx context.Context, registry, log *keys.Signer, witnesses *trustroot.WitnessEntry, set *keyset.Set, cfg config.Config, logger *slog.Logger, now time.Time) (*trustChain, error) {
	chain, err := openTrustChain(cfg.Path("trustroot"))
	if err != nil {
		return nil, err
	}
	in := trustInputs{registry: registry, log: log, witnesses: witnesses, circuits: set.Pins(), expiry: cfg.Trust.Expiry}
	if in.root, err = loadOrCreateKey(cfg.Trust.RootKeyEnv, cfg.Trust.RootKeyFile, cfg.Path(filepath.Join("keys", "root.key")), cfg.Registry.Name+"/root", cfg, logger); err != nil {
		return nil, fmt.Errorf("trust root key: %w", err)
	}
	if cfg.Trust.PreviousRootKeyEnv != "" || cfg.Trust.PreviousRootKeyFile != "" {
		if in.previousRoot, err = loadOrCreateKey(cfg.Trust.PreviousRootKeyEnv, cfg.Trust.PreviousRootKeyFile, "", "", cfg, logger); err != nil {
			return nil, fmt.Errorf("previous trust root key: %w", err)
		}
	}
	if a := cfg.Anchor; a.RPCURL != "" {
		in.starknet = &trustroot.Starknet{ChainID: a.ChainID, Contract: a.Contract}
	}
	chain.reissue = func(ctx context.Context, now time.Time) error {
		in.circuits = set.Pins()
		before := chain.Latest()
		r, err := chain.ensure(ctx, in, cfg.Path("trustroot.json"), now)
		if err != nil {
			return err
		}
		if r != before {
			logger.Info("issued trust root", slog.Int64("version", r.Version), slog.String("sha256", r.Fingerprint()),
				slog.String("expires", r.Expires.Format(time.RFC3339)))
		}
		return nil
	}
	if err := chain.reissue(ctx, now); err != nil {
		return nil, err
	}
	return chain, nil
}
