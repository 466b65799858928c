package keyset_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/registry/keyset"
	"github.com/comet-attest/comet/registry/registrytest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	registrytest.Cleanup()
	os.Exit(code)
}

func TestOpen(t *testing.T) {
	fix := registrytest.Get(t)
	set, err := keyset.Open(fix.KeysDir, keyset.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	cs := set.Circuits()
	if len(cs) != 2 {
		t.Fatalf("circuits %+v", cs)
	}
	names := map[string]bool{}
	for _, c := range cs {
		names[c.Circuit] = true
		if c.ID != fix.Shape.ID(circuit.Circuit(c.Circuit)) || c.Shape != fix.Shape.String() || len(c.VKSHA256) != 64 || c.Constraints <= 0 {
			t.Errorf("circuit %+v", c)
		}
		if p := set.Pins()[c.ID]; p.VKSHA256 != c.VKSHA256 || p.Ceremony != nil {
			t.Errorf("pin of %s", c.ID)
		}
		for _, f := range []string{"vk", "pk", "r1cs", "keys.json"} {
			if p := set.File(c.ID, f); p == "" || !strings.HasPrefix(p, fix.KeysDir) {
				t.Errorf("file %s of %s: %q", f, c.Circuit, p)
			}
		}
		if set.File(c.ID, "../../etc/passwd") != "" {
			t.Error("a path outside the key set resolved")
		}
	}
	if !names["chunk"] || !names["final"] {
		t.Errorf("circuit names %v", names)
	}
	if set.File("nope", "vk") != "" {
		t.Error("unknown circuit has files")
	}
	if set.File(cs[0].ID, "transcript") != "" {
		t.Error("single-party keys have a transcript")
	}
	// A registry that requires a ceremony refuses to publish these single-party keys.
	if _, err := keyset.Open(fix.KeysDir, keyset.Policy{MinContributions: 1}); !errors.Is(err, keyset.ErrSinglePartyKeys) {
		t.Errorf("single-party keys under a ceremony policy: %v", err)
	}

	// A missing directory publishes nothing; a keys.json whose ids do not match its shape is
	// refused.
	empty, err := keyset.Open(filepath.Join(t.TempDir(), "none"), keyset.Policy{})
	if err != nil || len(empty.Circuits()) != 0 {
		t.Errorf("missing dir: %+v %v", empty, err)
	}
	bad := t.TempDir()
	if err := os.MkdirAll(filepath.Join(bad, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(fix.KeysDir, fix.Shape.String(), "keys.json"))
	b = []byte(strings.Replace(string(b), fix.Shape.ID(circuit.FinalCircuit), strings.Repeat("0", 64), 1))
	if err := os.WriteFile(filepath.Join(bad, "x", "keys.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := keyset.Open(bad, keyset.Policy{}); err == nil {
		t.Error("keys.json with a wrong circuit id accepted")
	}
}
