package setup

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"

	"github.com/comet-attest/comet/internal/atomicfile"
	"github.com/comet-attest/comet/internal/strictjson"
	"github.com/comet-attest/comet/prover/circuit"
)

// Format names this version of keys.json.
const Format = "comet.keys/v2"

// Sentinel errors; callers test them with errors.Is.
var (
	// ErrNotFound means no keys exist for the shape in the directory.
	ErrNotFound = errors.New("no keys for this circuit shape")
	// ErrMismatch means the keys on disk were made for another shape, circuit version or
	// gnark version, or a verifying key does not match its recorded hash.
	ErrMismatch = errors.New("keys do not match the circuit shape")
)

// Curve is the curve every Comet circuit is proven over.
const Curve = ecc.BN254

// Need says how much of a key set to load.
type Need int

// What Load reads: verifying keys only (small, for verifiers), or everything a prover needs.
const (
	Verifying Need = iota
	Proving
)

// Circuit is one circuit's keys.
type Circuit struct {
	ID          string
	Constraints int
	// VKSHA256 is the SHA-256 of the verifying key's canonical (compressed) encoding.
	VKSHA256 string
	VK       groth16.VerifyingKey
	// CS and PK are nil when only verifying keys were loaded.
	CS constraint.ConstraintSystem
	PK groth16.ProvingKey
}

// Keys are the keys of both circuits of one shape: training keys, or with Eval set the
// keys of the evaluation circuits over rows of Shape.
type Keys struct {
	Shape circuit.Shape
	// Eval is the evaluation shape the keys are for; nil for training keys.
	Eval  *circuit.EvalShape
	Chunk Circuit
	Final Circuit
	// Ceremony is the multi-party ceremony the keys came from (prover/ceremony); nil for a
	// single-party setup (Generate).
	Ceremony *Ceremony
}

// Ceremony is what keys.json records of the ceremony that made a shape's keys.
type Ceremony struct {
	// Transcript is the transcript's file name beside keys.json.
	Transcript         string   `json:"transcript"`
	TranscriptSHA256   string   `json:"transcript_sha256"`
	Phase1Contributors []string `json:"phase1_contributors"`
	Phase2Contributors []string `json:"phase2_contributors"`
}

// Circuit returns the keys of circuit c (the chunk circuit's for a name not of a final).
func (k *Keys) Circuit(c circuit.Circuit) *Circuit {
	if c == circuit.FinalCircuit || c == circuit.EvalFinalCircuit {
		return &k.Final
	}
	return &k.Chunk
}

// Keyed is the pair of circuits the keys are for: Shape's training circuits, or Eval's.
func (k *Keys) Keyed() circuit.Keyed {
	if k.Eval != nil {
		return *k.Eval
	}
	return k.Shape
}

// NewKeys is an empty set of keys for the pair p.
func NewKeys(p circuit.Keyed) *Keys {
	k := &Keys{Shape: p.Rows()}
	if e, ok := p.(circuit.EvalShape); ok {
		k.Eval = &e
	}
	return k
}

// Compile compiles circuit c of the pair p to R1CS.
func Compile(p circuit.Keyed, c circuit.Circuit) (constraint.ConstraintSystem, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	cs, err := frontend.Compile(Curve.ScalarField(), r1cs.NewBuilder, p.Placeholder(c))
	if err != nil {
		return nil, fmt.Errorf("compile %s circuit of %s: %w", c, p, err)
	}
	return cs, nil
}

// Generate compiles both circuits of shape s and runs a single-party Groth16 setup for each
// (see the package documentation for what that means for trust). progress, when not nil,
// is told each step as it starts: the setups take minutes at production shapes.
func Generate(ctx context.Context, s circuit.Keyed, progress func(step string)) (*Keys, error) {
	say := func(format string, a ...any) {
		if progress != nil {
			progress(fmt.Sprintf(format, a...))
		}
	}
	k := NewKeys(s)
	for _, c := range s.Circuits() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		say("compile the %s circuit of %s", c, s)
		cs, err := Compile(s, c)
		if err != nil {
			return nil, err
		}
		say("Groth16 setup of the %s circuit (%d constraints)", c, cs.GetNbConstraints())
		pk, vk, err := groth16.Setup(cs)
		if err != nil {
			return nil, fmt.Errorf("groth16 setup of %s circuit: %w", c, err)
		}
		sum, err := VKHash(vk)
		if err != nil {
			return nil, err
		}
		*k.Circuit(c) = Circuit{ID: s.ID(c), Constraints: cs.GetNbConstraints(), VKSHA256: sum, VK: vk, CS: cs, PK: pk}
	}
	return k, nil
}

// VKHash is the hex SHA-256 of vk's canonical compressed encoding.
func VKHash(vk groth16.VerifyingKey) (string, error) {
	h := sha256.New()
	if _, err := vk.WriteTo(h); err != nil {
		return "", fmt.Errorf("encode verifying key: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Meta is keys.json: what a shape's keys are for and where they came from. Load checks it
// against this build; a registry reads it to list the circuits it publishes.
type Meta struct {
	Format string        `json:"format"`
	Shape  circuit.Shape `json:"shape"`
	// Task and Thresholds are an evaluation shape's (circuit.EvalShape); absent from
	// training keys.
	Task       circuit.Task           `json:"task,omitempty"`
	Thresholds int                    `json:"thresholds,omitempty"`
	Version    string                 `json:"circuit_version"`
	Gnark      string                 `json:"gnark"`
	Curve      string                 `json:"curve"`
	Backend    string                 `json:"backend"`
	Setup      string                 `json:"setup"`
	Ceremony   *Ceremony              `json:"ceremony,omitempty"`
	Circuits   map[string]MetaCircuit `json:"circuits"` // by circuit name: "chunk" and "final", or "eval-chunk" and "eval-final"
}

// Keyed is the pair of circuits keys.json describes.
func (m *Meta) Keyed() circuit.Keyed {
	if m.Task != "" {
		return circuit.EvalShape{Shape: m.Shape, Task: m.Task, Thresholds: m.Thresholds}
	}
	return m.Shape
}

// MetaCircuit is what keys.json records of one circuit's keys.
type MetaCircuit struct {
	ID          string `json:"id"`
	VKSHA256    string `json:"vk_sha256"`
	Constraints int    `json:"constraints"`
}

// singleParty is what keys.json says about a key made by Generate.
const singleParty = "single-party: whoever ran it can forge proofs; for local testing only"

// multiParty is what keys.json says about keys from a ceremony.
const multiParty = "multi-party ceremony: sound if one contributor to each phase was honest"

// Dir is the directory under root that holds the keys of the pair s.
func Dir(root string, s circuit.Keyed) string { return filepath.Join(root, s.String()) }

func file(dir string, c circuit.Circuit, ext string) string {
	return filepath.Join(dir, string(c)+"."+ext)
}

// Save writes the keys under root (in Dir(root, k.Shape)); each file is written to a
// temporary name and renamed, keys.json last, so that a crash never leaves a key set that
// loads.
func (k *Keys) Save(ctx context.Context, root string) error {
	dir := Dir(root, k.Keyed())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create keys directory: %w", err)
	}
	m := Meta{Format: Format, Shape: k.Shape, Version: circuit.Version, Gnark: circuit.GnarkVersion(),
		Curve: "bn254", Backend: "groth16", Setup: singleParty, Ceremony: k.Ceremony, Circuits: map[string]MetaCircuit{}}
	if k.Ceremony != nil {
		m.Setup = multiParty
	}
	if k.Eval != nil {
		m.Task, m.Thresholds = k.Eval.Task, k.Eval.Thresholds
	}
	for _, c := range k.Keyed().Circuits() {
		if err := ctx.Err(); err != nil {
			return err
		}
		kc := k.Circuit(c)
		if kc.PK == nil || kc.CS == nil {
			return fmt.Errorf("save %s keys: proving key not loaded", c)
		}
		if err := writeFile(file(dir, c, "vk"), kc.VK.WriteTo); err != nil {
			return err
		}
		if err := writeFile(file(dir, c, "pk"), kc.PK.WriteRawTo); err != nil {
			return err
		}
		if err := writeFile(file(dir, c, "r1cs"), kc.CS.WriteTo); err != nil {
			return err
		}
		m.Circuits[string(c)] = MetaCircuit{ID: kc.ID, VKSHA256: kc.VKSHA256, Constraints: kc.Constraints}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "keys.json"), func(w io.Writer) (int64, error) {
		n, err := w.Write(append(b, '\n'))
		return int64(n), err
	})
}

// writeFile atomically writes a public key file through a buffer; write is one of gnark's
// WriteTo methods.
func writeFile(path string, write func(io.Writer) (int64, error)) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		if _, err := write(bw); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return bw.Flush()
	})
}

// Load reads the keys of shape s from Dir(root, s): verifying keys only, or everything for
// proving. It refuses keys made for anything but exactly this shape and circuit version, and
// a verifying key whose SHA-256 is not the one keys.json records.
func Load(ctx context.Context, root string, s circuit.Keyed, need Need) (*Keys, error) {
	if root == "" {
		root = "."
	}
	var proving func(circuit.Circuit, *Circuit, func(ext string) (fs.File, string, error)) error
	if need == Proving {
		proving = readProving
	}
	return load(ctx, os.DirFS(root), root, s, proving)
}

// LoadFS is Load of the verifying keys from a tree in Dir's layout that is not a directory
// (a browser's memory, say): the keys of s are under fsys's s.String(). It never reads
// proving keys, so a verifier that calls only LoadFS links none of gnark's proving code
// (the constraint systems of every curve, their solvers and codecs).
func LoadFS(ctx context.Context, fsys fs.FS, s circuit.Keyed) (*Keys, error) {
	return load(ctx, fsys, ".", s, nil)
}

// load reads from fsys, and also the proving keys and constraint systems with proving
// when it is not nil; root names fsys in messages.
func load(ctx context.Context, fsys fs.FS, root string, s circuit.Keyed, proving func(circuit.Circuit, *Circuit, func(ext string) (fs.File, string, error)) error) (*Keys, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	dir := Dir(root, s)
	m, err := readMeta(fsys, s.String(), dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s in %s", ErrNotFound, s, root)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case m.Format != Format:
		return nil, fmt.Errorf("%w: %s/keys.json has format %q, want %q", ErrMismatch, dir, m.Format, Format)
	case m.Keyed() != s:
		return nil, fmt.Errorf("%w: keys in %s are for shape %s, not %s", ErrMismatch, dir, m.Keyed(), s)
	case m.Version != circuit.Version || m.Gnark != circuit.GnarkVersion():
		return nil, fmt.Errorf("%w: keys in %s are for %s with gnark %s, this build is %s with gnark %s",
			ErrMismatch, dir, m.Version, m.Gnark, circuit.Version, circuit.GnarkVersion())
	}
	k := NewKeys(s)
	k.Ceremony = m.Ceremony
	open := func(c circuit.Circuit, ext string) (fs.File, string, error) {
		name := string(c) + "." + ext
		f, err := fsys.Open(path.Join(s.String(), name))
		return f, filepath.Join(dir, name), err
	}
	for _, c := range s.Circuits() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		mc, ok := m.Circuits[string(c)]
		if !ok || mc.ID != s.ID(c) {
			return nil, fmt.Errorf("%w: %s/keys.json: %s circuit id %q, want %s", ErrMismatch, dir, c, mc.ID, s.ID(c))
		}
		// BN254's own type (Curve), not groth16.NewVerifyingKey's switch over every curve gnark
		// supports, which would link them all into the browser's verifier.
		kc := Circuit{ID: mc.ID, Constraints: mc.Constraints, VKSHA256: mc.VKSHA256, VK: new(groth16bn254.VerifyingKey)}
		f, where, err := open(c, "vk")
		if err == nil {
			err = readVK(f, where, mc.VKSHA256, kc.VK)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s circuit: %w", ErrMismatch, c, err)
		}
		if proving != nil {
			if err := proving(c, &kc, func(ext string) (fs.File, string, error) { return open(c, ext) }); err != nil {
				return nil, err
			}
		}
		*k.Circuit(c) = kc
	}
	return k, nil
}

// readProving reads a circuit's proving key and constraint system, which must have as many
// constraints as keys.json says.
func readProving(c circuit.Circuit, kc *Circuit, open func(ext string) (fs.File, string, error)) error {
	kc.PK = groth16.NewProvingKey(Curve)
	// The proving key cannot make a false proof verify, only a true one fail, so it is
	// read without the (slow) subgroup checks.
	if err := readFile(kc.PK.UnsafeReadFrom)(open("pk")); err != nil {
		return err
	}
	kc.CS = groth16.NewCS(Curve)
	if err := readFile(kc.CS.ReadFrom)(open("r1cs")); err != nil {
		return err
	}
	if kc.CS.GetNbConstraints() != kc.Constraints {
		return fmt.Errorf("%w: %s constraint system has %d constraints, keys.json says %d", ErrMismatch, c, kc.CS.GetNbConstraints(), kc.Constraints)
	}
	return nil
}

// ReadMeta reads dir/keys.json; a missing file is an error that wraps fs.ErrNotExist. It
// checks only that the file decodes, with no unknown fields: Load checks what it says.
func ReadMeta(dir string) (*Meta, error) {
	return readMeta(os.DirFS(dir), ".", dir)
}

// readMeta reads sub/keys.json of fsys; dir names sub in messages.
func readMeta(fsys fs.FS, sub, dir string) (*Meta, error) {
	b, err := fs.ReadFile(fsys, path.Join(sub, "keys.json"))
	if err != nil {
		return nil, fmt.Errorf("read keys: %w", err)
	}
	var m Meta
	if err := strictjson.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s/keys.json: %w", ErrMismatch, dir, err)
	}
	return &m, nil
}

// maxVKBytes bounds a verifying key file; a Comet verifying key is about a kilobyte plus
// 32 bytes per public input.
const maxVKBytes = 1 << 20

// readVK decodes a verifying key only after its bytes hash to the recorded SHA-256: gnark's
// decoder allocates what length prefixes in its input ask for, so bytes that are not the
// recorded key are never decoded. It also checks that the encoding is canonical (the decoded
// key re-encodes to the same hash). It closes f; path names it in messages.
func readVK(f fs.File, path, sha string, vk groth16.VerifyingKey) error {
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxVKBytes+1))
	if err != nil {
		return err
	}
	if len(raw) > maxVKBytes {
		return fmt.Errorf("%s is larger than %d bytes", path, maxVKBytes)
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != sha {
		return fmt.Errorf("%s hashes to %x, keys.json says %s", path, sum, sha)
	}
	if _, err := vk.ReadFrom(bytes.NewReader(raw)); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	if again, err := VKHash(vk); err != nil || again != sha {
		return fmt.Errorf("%s is not in canonical encoding", path)
	}
	return nil
}

// readFile decodes with read what open returns (readFile(read)(open(...))); it closes the file.
func readFile(read func(io.Reader) (int64, error)) func(f fs.File, path string, err error) error {
	return func(f fs.File, path string, err error) error {
		if err != nil {
			return fmt.Errorf("%w: %w", ErrMismatch, err)
		}
		defer f.Close()
		if _, err := read(bufio.NewReaderSize(f, 1<<20)); err != nil {
			return fmt.Errorf("%w: read %s: %w", ErrMismatch, path, err)
		}
		return nil
	}
}

// Ensure loads the keys of shape s from root, or generates and saves them when there are none
// (a single-party setup, see the package documentation). generated tells which happened.
func Ensure(ctx context.Context, root string, s circuit.Keyed, need Need) (k *Keys, generated bool, err error) {
	k, err = Load(ctx, root, s, need)
	if !errors.Is(err, ErrNotFound) {
		return k, false, err
	}
	if k, err = Generate(ctx, s, nil); err != nil {
		return nil, false, err
	}
	if err := k.Save(ctx, root); err != nil {
		return nil, false, err
	}
	return k, true, nil
}
