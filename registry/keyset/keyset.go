package keyset

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
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

// Set is the published key set.
type Set struct {
	root     string
	circuits []Circuit
	byID     map[string]*Circuit

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

// Open lists the key sets under root. A missing root is an empty set: a fresh registry
// publishes nothing until an operator puts keys there (comet ceremony finalize, or comet
// setup for local testing). Keys the policy refuses make Open fail, naming them.
func Open(root string, p Policy) (*Set, error) {
	s := &Set{root: root, byID: map[string]*Circuit{}, loaded: map[circuit.Keyed]*setup.Keys{}}
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read circuit keys: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		// setup.Load checks the rest of keys.json again before any key is used.
		kf, err := setup.ReadMeta(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("circuit keys %s: %w", dir, err)
		}
		if n := p.MinContributions; n > 0 {
			switch c := kf.Ceremony; {
			case c == nil:
				return nil, fmt.Errorf("%w: %s is a single-party setup and registry.require_ceremony is set", ErrSinglePartyKeys, dir)
			case min(len(c.Phase1Contributors), len(c.Phase2Contributors)) < n:
				return nil, fmt.Errorf("%w: %s has %d and %d contributions to its two phases, registry.min_ceremony_contributions is %d",
					ErrSinglePartyKeys, dir, len(c.Phase1Contributors), len(c.Phase2Contributors), n)
			}
		}
		keyed := kf.Keyed()
		for name, c := range kf.Circuits {
			if c.ID != keyed.ID(circuit.Circuit(name)) {
				return nil, fmt.Errorf("circuit keys %s: %s circuit id %s is not the id of shape %s", dir, name, c.ID, keyed)
			}
			s.circuits = append(s.circuits, Circuit{ID: c.ID, Shape: keyed.String(), Circuit: name, VKSHA256: c.VKSHA256,
				Constraints: c.Constraints, Ceremony: kf.Ceremony, dir: dir, shape: keyed})
		}
	}
	sort.Slice(s.circuits, func(i, j int) bool { return s.circuits[i].ID < s.circuits[j].ID })
	for i := range s.circuits {
		s.byID[s.circuits[i].ID] = &s.circuits[i]
	}
	return s, nil
}

// Circuits lists the published circuits by id.
func (s *Set) Circuits() []Circuit { return s.circuits }

// Pins maps every published circuit id to its verifying key's SHA-256 and its ceremony, for
// the trust root.
func (s *Set) Pins() map[string]trustroot.CircuitPin {
	out := make(map[string]trustroot.CircuitPin, len(s.circuits))
	for _, c := range s.circuits {
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
	c, ok := s.byID[id]
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
