package keyset_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/registry/keyset"
	"github.com/comet-attest/comet/registry/registrytest"
	"github.com/comet-attest/comet/registry/service"
)

// copyDir copies the fixture's shape directory, so that a case may spoil its copy.
func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), filepath.Base(from))
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
	return to
}

func TestPublish(t *testing.T) {
	ctx := context.Background()
	fix := registrytest.Get(t)
	src := setup.Dir(fix.KeysDir, fix.Shape)
	for _, tc := range []struct {
		name   string
		policy keyset.Policy
		src    func(t *testing.T) string
		want   error // nil: published
	}{
		{name: "a shape directory", src: func(*testing.T) string { return src }},
		{name: "relative path", src: func(*testing.T) string { return "keys/" + fix.Shape.String() }, want: &service.InvalidError{}},
		{name: "no keys.json", src: func(t *testing.T) string { return t.TempDir() }, want: &service.InvalidError{}},
		{name: "ceremony required", policy: keyset.Policy{MinContributions: 1}, src: func(*testing.T) string { return src }, want: keyset.ErrSinglePartyKeys},
		{name: "verifying key not the recorded one", src: func(t *testing.T) string {
			d := copyDir(t, src)
			vk := filepath.Join(d, string(circuit.ChunkCircuit)+".vk")
			b, _ := os.ReadFile(vk)
			b[len(b)-1] ^= 1
			if err := os.WriteFile(vk, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return d
		}, want: setup.ErrMismatch},
		{name: "proving key missing", src: func(t *testing.T) string {
			d := copyDir(t, src)
			if err := os.Remove(filepath.Join(d, string(circuit.FinalCircuit)+".pk")); err != nil {
				t.Fatal(err)
			}
			return d
		}, want: os.ErrNotExist},
		{name: "a link instead of a file", src: func(t *testing.T) string {
			d := copyDir(t, src)
			r1cs := filepath.Join(d, string(circuit.ChunkCircuit)+".r1cs")
			if err := os.Remove(r1cs); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(src, string(circuit.ChunkCircuit)+".r1cs"), r1cs); err != nil {
				t.Fatal(err)
			}
			return d
		}, want: &service.InvalidError{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "keys")
			set, err := keyset.Open(root, tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			shape, err := set.Publish(ctx, tc.src(t))
			if tc.want != nil {
				var inv *service.InvalidError
				if err == nil || (!errors.Is(err, tc.want) && !(errors.As(tc.want, &inv) && errors.As(err, &inv))) {
					t.Fatalf("publish: %v, want %v", err, tc.want)
				}
				if len(set.Circuits()) != 0 {
					t.Errorf("refused keys are published: %+v", set.Circuits())
				}
				if entries, _ := os.ReadDir(root); len(entries) != 0 {
					t.Errorf("refused keys left %v under the root", entries)
				}
				return
			}
			if err != nil || shape != fix.Shape.String() {
				t.Fatalf("publish: %q, %v", shape, err)
			}
			// Published at once, as a restart would publish them.
			again, err := keyset.Open(root, tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(set.Circuits()), 2; got != want || len(again.Circuits()) != want {
				t.Fatalf("circuits %+v, reopened %+v", set.Circuits(), again.Circuits())
			}
			for _, c := range set.Circuits() {
				if set.File(c.ID, "pk") == "" || set.Pins()[c.ID].VKSHA256 != c.VKSHA256 {
					t.Errorf("circuit %s: no proving key or pin", c.ID)
				}
			}
			if _, err := set.Publish(ctx, tc.src(t)); !errors.Is(err, service.ErrConflict) {
				t.Errorf("publish again: %v", err)
			}
			if _, err := set.Generate(ctx, fix.Shape); !errors.Is(err, service.ErrConflict) {
				t.Errorf("generate a published shape: %v", err)
			}
		})
	}
}

func TestGenerate(t *testing.T) {
	if testing.Short() {
		t.Skip("a Groth16 setup of a small shape (seconds)")
	}
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "keys")
	shape := circuit.Shape{Features: 1, ChunkRows: 8, ValueBits: 16, FractionBits: 4}
	if _, err := keyset.Open(root, keyset.Policy{MinContributions: 1}); err != nil {
		t.Fatal(err)
	}
	strict, _ := keyset.Open(root, keyset.Policy{MinContributions: 1})
	if _, err := strict.Generate(ctx, shape); !errors.Is(err, keyset.ErrSinglePartyKeys) {
		t.Errorf("generate under a ceremony policy: %v", err)
	}
	set, _ := keyset.Open(root, keyset.Policy{})
	if _, err := set.Generate(ctx, circuit.Shape{}); err == nil {
		t.Error("generated an invalid shape")
	}
	name, err := set.Generate(ctx, shape)
	if err != nil || name != shape.String() || len(set.Circuits()) != 2 {
		t.Fatalf("generate: %q, %v, %+v", name, err, set.Circuits())
	}
	if _, err := setup.Load(ctx, root, shape, setup.Proving); err != nil {
		t.Errorf("the generated keys do not load for proving: %v", err)
	}
}
