package setup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/comet-attest/comet/prover/circuit"
)

var tiny = circuit.Shape{Features: 1, ChunkRows: 4, ValueBits: 16, FractionBits: 4, Intercept: false}

func TestSaveLoad(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	if _, err := Load(ctx, root, tiny, Verifying); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load of an empty root = %v, want ErrNotFound", err)
	}
	k, generated, err := Ensure(ctx, root, tiny, Proving)
	if err != nil || !generated {
		t.Fatalf("Ensure = %v, generated %v", err, generated)
	}
	again, generated, err := Ensure(ctx, root, tiny, Proving)
	if err != nil || generated {
		t.Fatalf("second Ensure = %v, generated %v; want the cached keys", err, generated)
	}
	for _, c := range []circuit.Circuit{circuit.ChunkCircuit, circuit.FinalCircuit} {
		a, b := k.Circuit(c), again.Circuit(c)
		if a.ID != b.ID || a.VKSHA256 != b.VKSHA256 || a.Constraints != b.CS.GetNbConstraints() || b.PK == nil {
			t.Fatalf("%s keys differ after a round trip", c)
		}
		if a.ID != tiny.ID(c) {
			t.Fatalf("%s id %s, want %s", c, a.ID, tiny.ID(c))
		}
	}
	v, err := Load(ctx, root, tiny, Verifying)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(Dir(root, tiny), "chunk.vk")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("chunk.vk: %v, mode %v; keys are public files", err, fi.Mode())
	}
	if v.Chunk.PK != nil || v.Chunk.CS != nil {
		t.Fatal("Verifying loaded the proving key")
	}
	// sha256sum of the file is the published hash.
	sum, err := VKHash(v.Final.VK)
	if err != nil || sum != k.Final.VKSHA256 {
		t.Fatalf("vk hash %s (%v), want %s", sum, err, k.Final.VKSHA256)
	}
}

func TestLoadRefuses(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	k, err := Generate(ctx, tiny, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Save(ctx, root); err != nil {
		t.Fatal(err)
	}
	dir := Dir(root, tiny)
	other := tiny
	other.Intercept = true
	// Keys of one shape copied under another shape's name.
	if err := os.Rename(dir, Dir(root, other)); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, root, other, Verifying); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Load of renamed keys = %v, want ErrMismatch", err)
	}
	if err := os.Rename(Dir(root, other), dir); err != nil {
		t.Fatal(err)
	}
	// A verifying key swapped for the other circuit's.
	vk := filepath.Join(dir, "chunk.vk")
	orig, err := os.ReadFile(vk)
	if err != nil {
		t.Fatal(err)
	}
	final, err := os.ReadFile(filepath.Join(dir, "final.vk"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vk, final, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, root, tiny, Verifying); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Load with a swapped verifying key = %v, want ErrMismatch", err)
	}
	if err := os.WriteFile(vk, orig[:len(orig)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, root, tiny, Verifying); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Load with a truncated verifying key = %v, want ErrMismatch", err)
	}
	if err := os.WriteFile(vk, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, root, tiny, Proving); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keys.json"), []byte(`{"format":"comet.keys/v0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, root, tiny, Verifying); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Load with an old keys.json = %v, want ErrMismatch", err)
	}
	if _, err := Load(ctx, root, circuit.Shape{}, Verifying); !errors.Is(err, circuit.ErrShape) {
		t.Fatalf("Load of an invalid shape = %v, want ErrShape", err)
	}
}

// FuzzLoad: keys.json and the verifying keys come from outside (a registry, a download);
// Load must refuse anything malformed with an error, never panic.
func FuzzLoad(f *testing.F) {
	ctx := context.Background()
	root := f.TempDir()
	k, err := Generate(ctx, tiny, nil)
	if err != nil {
		f.Fatal(err)
	}
	if err := k.Save(ctx, root); err != nil {
		f.Fatal(err)
	}
	dir := Dir(root, tiny)
	meta, err := os.ReadFile(filepath.Join(dir, "keys.json"))
	if err != nil {
		f.Fatal(err)
	}
	vk, err := os.ReadFile(filepath.Join(dir, "chunk.vk"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(meta, vk)
	f.Add([]byte(`{}`), vk[:40])
	f.Fuzz(func(t *testing.T, meta, vk []byte) {
		fuzzRoot := t.TempDir()
		fuzzDir := Dir(fuzzRoot, tiny)
		if err := os.MkdirAll(fuzzDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string][]byte{"keys.json": meta, "chunk.vk": vk} {
			if err := os.WriteFile(filepath.Join(fuzzDir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		final, err := os.ReadFile(filepath.Join(dir, "final.vk"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(fuzzDir, "final.vk"), final, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(ctx, fuzzRoot, tiny, Verifying); err != nil && !errors.Is(err, ErrMismatch) && !errors.Is(err, ErrNotFound) {
			t.Fatalf("Load error %v is neither ErrMismatch nor ErrNotFound", err)
		}
	})
}

// Evaluation keys live beside training keys of the same rows' shape, in their own directory,
// and neither loads as the other.
func TestEvaluationKeys(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	eval := circuit.EvalShape{Shape: tiny, Task: circuit.Classification, Thresholds: 3}
	if _, _, err := Ensure(ctx, root, tiny, Verifying); err != nil {
		t.Fatal(err)
	}
	k, generated, err := Ensure(ctx, root, eval, Proving)
	if err != nil || !generated {
		t.Fatalf("Ensure = %v, generated %v", err, generated)
	}
	if k.Eval == nil || *k.Eval != eval || k.Keyed() != circuit.Keyed(eval) || Dir(root, eval) == Dir(root, tiny) {
		t.Fatalf("keys %+v for %s", k, eval)
	}
	v, err := Load(ctx, root, eval, Verifying)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range eval.Circuits() {
		if v.Circuit(c).ID != eval.ID(c) || v.Circuit(c).VKSHA256 != k.Circuit(c).VKSHA256 {
			t.Errorf("%s: loaded %+v", c, v.Circuit(c))
		}
	}
	if v.Chunk.ID == v.Final.ID {
		t.Fatal("eval-chunk and eval-final share an id")
	}
	// Keys of the regression task are another shape.
	if _, err := Load(ctx, root, circuit.EvalShape{Shape: tiny, Task: circuit.Regression}, Verifying); !errors.Is(err, ErrNotFound) {
		t.Fatalf("regression keys: %v", err)
	}
	// The directory of the classification keys, copied where the training keys should be, is
	// refused.
	wrong := t.TempDir()
	if err := os.CopyFS(filepath.Join(wrong, tiny.String()), os.DirFS(Dir(root, eval))); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, wrong, tiny, Verifying); !errors.Is(err, ErrMismatch) {
		t.Fatalf("evaluation keys loaded as training keys: %v", err)
	}
}
