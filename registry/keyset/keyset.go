package keyset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/setup"
)

// Circuit describes one published circuit.
type Circuit struct {
	ID          string `json:"circuit_id"`
	Shape       string `json:"shape"`
	Circuit     string `json:"circuit"` // "chunk" or "final"
	VKSHA256    string `json:"vk_sha256"`
	Constraints int    `json:"constraints"`

	dir   string
	shape circuit.Shape
}

// Set is the published key set.
type Set struct {
	root     string
	circuits []Circuit
	byID     map[string]*Circuit

	mu     sync.Mutex
	loaded map[circuit.Shape]*setup.Keys
}

// keysFile is the part of prover/setup's keys.json the registry reads to list circuits;
// setup.Load checks the whole file again before any key is used.
type keysFile struct {
	Shape    circuit.Shape `json:"shape"`
	Circuits map[string]struct {
		ID          string `json:"id"`
		VKSHA256    string `json:"vk_sha256"`
		Constraints int    `json:"constraints"`
	} `json:"circuits"`
}

// Open lists the key sets under root. A missing root is an empty set: a fresh registry
// publishes nothing until an operator runs comet setup into it.
func Open(root string) (*Set, error) {
	s := &Set{root: root, byID: map[string]*Circuit{}, loaded: map[circuit.Shape]*setup.Keys{}}
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
		b, err := os.ReadFile(filepath.Join(dir, "keys.json"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read circuit keys: %w", err)
		}
		var kf keysFile
		if err := json.Unmarshal(b, &kf); err != nil {
			return nil, fmt.Errorf("circuit keys %s: %w", dir, err)
		}
		for name, c := range kf.Circuits {
			if c.ID != kf.Shape.ID(circuit.Circuit(name)) {
				return nil, fmt.Errorf("circuit keys %s: %s circuit id %s is not the id of shape %s", dir, name, c.ID, kf.Shape)
			}
			s.circuits = append(s.circuits, Circuit{ID: c.ID, Shape: kf.Shape.String(), Circuit: name, VKSHA256: c.VKSHA256,
				Constraints: c.Constraints, dir: dir, shape: kf.Shape})
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

// Pins maps every published circuit id to its verifying key's SHA-256, for the trust root.
func (s *Set) Pins() map[string]string {
	out := make(map[string]string, len(s.circuits))
	for _, c := range s.circuits {
		out[c.ID] = c.VKSHA256
	}
	return out
}

// File returns the path of a circuit's file: "vk", "pk", "r1cs" or "keys.json"; "" if the
// circuit or the file does not exist.
func (s *Set) File(id, name string) string {
	c, ok := s.byID[id]
	if !ok {
		return ""
	}
	p := filepath.Join(c.dir, "keys.json")
	if name != "keys.json" {
		p = filepath.Join(c.dir, c.Circuit+"."+name)
	}
	if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	return p
}

// verifyingKeys loads (once) the verifying keys of a published shape.
func (s *Set) verifyingKeys(ctx context.Context, shape circuit.Shape) (*setup.Keys, error) {
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
