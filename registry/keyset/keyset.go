package keyset

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/setup"
)

// Circuit describes one published circuit (the API shows it as a wire.Circuit).
type Circuit struct {
	ID          string
	Shape       string
	Circuit     string // "chunk" or "final"
	VKSHA256    string
	Constraints int
	// Ceremony is the multi-party ceremony the keys came from; nil for a single-party setup.
	Ceremony *setup.Ceremony

	dir   string
	shape circuit.Keyed
}

// Set is the published key set. An operator may publish more shapes while the registry
// runs (Publish, Generate); what is published stays published until a restart reads root
// again.
type Set struct {
	root   string
	policy Policy

	pub      sync.RWMutex // guards circuits and byID, replaced whole on each publish
	circuits []Circuit
	byID     map[string]*Circuit
	publish  sync.Mutex // one publish at a time
	// onPublish runs after each publish (OnPublish), under publish.
	onPublish func(ctx context.Context) error

	mu     sync.Mutex
	loaded map[circuit.Keyed]*setup.Keys
}

// ErrSinglePartyKeys reports keys a registry that requires a ceremony refuses to publish.
var ErrSinglePartyKeys = errors.New("circuit keys do not come from a ceremony the registry accepts")

// Policy says which keys the registry publishes.
type Policy struct {
	// MinContributions, when positive, refuses keys that did not come from a ceremony with at
	// least this many contributions to each phase.
	MinContributions int
}

// check refuses keys the policy does not accept; dir names them.
func (p Policy) check(dir string, c *setup.Ceremony) error {
	n := p.MinContributions
	switch {
	case n <= 0:
		return nil
	case c == nil:
		return fmt.Errorf("%w: %s is a single-party setup and registry.require_ceremony is set", ErrSinglePartyKeys, dir)
	case min(len(c.Phase1Contributors), len(c.Phase2Contributors)) < n:
		return fmt.Errorf("%w: %s has %d and %d contributions to its two phases, registry.min_ceremony_contributions is %d",
			ErrSinglePartyKeys, dir, len(c.Phase1Contributors), len(c.Phase2Contributors), n)
	}
	return nil
}

// Open lists the key sets under root. A missing root is an empty set: a fresh registry
// publishes nothing until an operator puts keys there (comet ceremony finalize, or comet
// setup for local testing). Keys the policy refuses make Open fail, naming them.
func Open(root string, p Policy) (*Set, error) {
	s := &Set{root: root, policy: p, loaded: map[circuit.Keyed]*setup.Keys{}}
	if err := s.scan(); err != nil {
		return nil, err
	}
	return s, nil
}

// scan reads root and replaces the published circuits with what it holds.
func (s *Set) scan() error {
	entries, err := os.ReadDir(s.root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read circuit keys: %w", err)
	}
	var circuits []Circuit
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(s.root, e.Name())
		// setup.Load checks the rest of keys.json again before any key is used.
		kf, err := setup.ReadMeta(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("circuit keys %s: %w", dir, err)
		}
		if err := s.policy.check(dir, kf.Ceremony); err != nil {
			return err
		}
		keyed := kf.Keyed()
		for name, c := range kf.Circuits {
			if c.ID != keyed.ID(circuit.Circuit(name)) {
				return fmt.Errorf("circuit keys %s: %s circuit id %s is not the id of shape %s", dir, name, c.ID, keyed)
			}
			circuits = append(circuits, Circuit{ID: c.ID, Shape: keyed.String(), Circuit: name, VKSHA256: c.VKSHA256,
				Constraints: c.Constraints, Ceremony: kf.Ceremony, dir: dir, shape: keyed})
		}
	}
	sort.Slice(circuits, func(i, j int) bool { return circuits[i].ID < circuits[j].ID })
	byID := make(map[string]*Circuit, len(circuits))
	for i := range circuits {
		byID[circuits[i].ID] = &circuits[i]
	}
	s.pub.Lock()
	s.circuits, s.byID = circuits, byID
	s.pub.Unlock()
	return nil
}

// Circuits lists the published circuits by id.
func (s *Set) Circuits() []Circuit {
	s.pub.RLock()
	defer s.pub.RUnlock()
	return s.circuits
}

// circuit returns the published circuit id.
func (s *Set) circuit(id string) (*Circuit, bool) {
	s.pub.RLock()
	defer s.pub.RUnlock()
	c, ok := s.byID[id]
	return c, ok
}

// Pins maps every published circuit id to its verifying key's SHA-256 and its ceremony, for
// the trust root.
func (s *Set) Pins() map[string]trustroot.CircuitPin {
	circuits := s.Circuits()
	out := make(map[string]trustroot.CircuitPin, len(circuits))
	for _, c := range circuits {
		p := trustroot.CircuitPin{VKSHA256: c.VKSHA256}
		if cer := c.Ceremony; cer != nil {
			p.Ceremony = &trustroot.Ceremony{TranscriptSHA256: cer.TranscriptSHA256,
				Phase1Contributors: cer.Phase1Contributors, Phase2Contributors: cer.Phase2Contributors}
		}
		out[c.ID] = p
	}
	return out
}

// File returns the path of a circuit's file: "vk", "pk", "r1cs", "keys.json" or
// "transcript" (the ceremony transcript of its shape); "" if the circuit or the file does
// not exist.
func (s *Set) File(id, name string) string {
	c, ok := s.circuit(id)
	if !ok {
		return ""
	}
	var p string
	switch name {
	case "keys.json":
		p = filepath.Join(c.dir, "keys.json")
	case "transcript":
		if c.Ceremony == nil || c.Ceremony.Transcript == "" || filepath.Base(c.Ceremony.Transcript) != c.Ceremony.Transcript {
			return ""
		}
		p = filepath.Join(c.dir, c.Ceremony.Transcript)
	default:
		p = filepath.Join(c.dir, c.Circuit+"."+name)
	}
	if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	return p
}

// verifyingKeys loads (once) the verifying keys of a published shape.
func (s *Set) verifyingKeys(ctx context.Context, shape circuit.Keyed) (*setup.Keys, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.loaded[shape]; ok {
		return k, nil
	}
	k, err := setup.Load(ctx, s.root, shape, setup.Verifying)
	if err != nil {
		return nil, err
	}
	s.loaded[shape] = k
	return k, nil
}
