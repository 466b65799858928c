package registrytest

import (
	"context"
	"os"
	"testing"

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/setup"
)

func TestMain(m *testing.M) {
	code := m.Run()
	Cleanup()
	os.Exit(code)
}

// The material and its variants verify with the prover's own verifier and published keys.
func TestVariantsVerify(t *testing.T) {
	f := Get(t)
	ctx := context.Background()
	man, err := commitment.ParseManifest(f.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := setup.Load(ctx, f.KeysDir, f.Shape, setup.Verifying)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := range 3 {
		mf, pf, sha, err := f.Variant(i)
		if err != nil {
			t.Fatal(err)
		}
		if seen[sha] {
			t.Fatalf("variant %d repeats hash %s", i, sha)
		}
		seen[sha] = true
		m, err := model.Unmarshal(mf)
		if err != nil {
			t.Fatal(err)
		}
		b, err := proof.ParseBundle(pf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := proof.Verify(ctx, b, proof.Inputs{Model: m, Manifest: man, Provider: Provider}, keys); err != nil {
			t.Fatalf("variant %d: %v", i, err)
		}
	}
	// A variant made for another provider verifies for it, and for nobody else.
	mf, pf, _, err := f.VariantFor("other-co", 1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Unmarshal(mf)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proof.ParseBundle(pf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := proof.Verify(ctx, b, proof.Inputs{Model: m, Manifest: man, Provider: "other-co"}, keys); err != nil {
		t.Fatal(err)
	}
	if _, err := proof.Verify(ctx, b, proof.Inputs{Model: m, Manifest: man, Provider: Provider}, keys); err == nil {
		t.Fatal("a proof made for other-co verified for " + Provider)
	}
}
