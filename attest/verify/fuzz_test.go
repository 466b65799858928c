package verify_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/attest/verify"
)

// golden loads the committed bundle and its trust root (package bundle's
// testdata), so fuzzing needs no running log.
func golden(f *testing.F) (*bundle.Bundle, *verify.Verifier) { return goldenT(f) }

func goldenT(f testing.TB) (*bundle.Bundle, *verify.Verifier) {
	f.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "bundle", "testdata", "bundle.golden"))
	if err != nil {
		f.Fatal(err)
	}
	b, err := bundle.Parse(raw)
	if err != nil {
		f.Fatal(err)
	}
	root, err := trustroot.Load(filepath.Join("..", "bundle", "testdata", "root.json"))
	if err != nil {
		f.Fatal(err)
	}
	v, err := verify.NewVerifier(root)
	if err != nil {
		f.Fatal(err)
	}
	return b, v
}

// FuzzCheckpoint feeds arbitrary checkpoints to the checkpoint parser and
// verifier: none may panic, and none but the original may verify.
func FuzzCheckpoint(f *testing.F) {
	b, v := golden(f)
	f.Add(b.Checkpoint)
	f.Add([]byte("comet.test/log\n1\nAAAA\n\n— comet.test/log AAAA\n"))
	f.Fuzz(func(t *testing.T, cp []byte) {
		c, err := v.VerifyCheckpoint(cp)
		if err != nil {
			return
		}
		if c.Checkpoint.Size != b.Inclusion.TreeSize || c.Checkpoint.Origin != "comet.test/log" {
			t.Fatalf("a checkpoint the log never signed verified: %q", cp)
		}
	})
}

// FuzzVerify runs the whole verifier on arbitrary bundles.
func FuzzVerify(f *testing.F) {
	b, v := golden(f)
	raw, err := b.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	p, err := verify.NewPolicy(verify.WithoutModelUnsafe())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fb, err := bundle.Parse(data)
		if err != nil {
			return
		}
		r, err := v.Verify(context.Background(), fb, p)
		if err == nil && !r.Passed() {
			t.Fatalf("no error but a failed check:\n%s", r)
		}
		if err != nil && r.Passed() {
			t.Fatalf("error %v but no failed check:\n%s", err, r)
		}
	})
}
