package keys_test

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/comet-attest/comet/attest/keys"
	"golang.org/x/mod/sumdb/note"
)

func TestGenerateSignVerify(t *testing.T) {
	k, err := keys.Generate("comet.test/registry")
	if err != nil {
		t.Fatal(err)
	}
	v := k.Verifier()
	if !strings.HasPrefix(k.KeyID(), "comet.test/registry+") || len(k.KeyID()) != len("comet.test/registry+")+8 || k.KeyID() != v.KeyID() {
		t.Fatalf("key id %q / %q", k.KeyID(), v.KeyID())
	}
	// The key works as a signed-note signer and verifier, and our verifier
	// text parses with sumdb/note itself.
	n, err := note.Sign(&note.Note{Text: "hello\n"}, k)
	if err != nil {
		t.Fatal(err)
	}
	nv, err := note.NewVerifier(v.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(n, note.VerifierList(nv)); err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(n, note.VerifierList(v)); err != nil {
		t.Fatal(err)
	}
	v2, err := keys.ParseVerifier(v.String())
	if err != nil || v2.Fingerprint() != v.Fingerprint() {
		t.Fatal("verifier round trip")
	}
}

func TestLoad(t *testing.T) {
	k, err := keys.Generate("comet.test/log")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "log.key")
	if err := k.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", fi.Mode().Perm())
	}
	if err := k.WriteFile(path); err == nil {
		t.Error("WriteFile overwrote an existing key")
	}
	got, err := keys.LoadFile(path)
	if err != nil || got.KeyID() != k.KeyID() {
		t.Fatalf("LoadFile: %v", err)
	}
	t.Setenv("COMET_TEST_KEY", k.PrivateKey())
	if got, err := keys.LoadEnv("COMET_TEST_KEY"); err != nil || got.KeyID() != k.KeyID() {
		t.Fatalf("LoadEnv: %v", err)
	}
	if _, err := keys.LoadEnv("COMET_TEST_UNSET_KEY"); !errors.Is(err, keys.ErrNoKey) {
		t.Fatalf("unset env: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	if _, err := keys.LoadFile(empty); !errors.Is(err, keys.ErrNoKey) {
		t.Fatalf("empty file: %v", err)
	}
}

// The PEM is the PKIX encoding of the same Ed25519 key that signs: what x509 parses back is
// the key that verifies the signer's signatures.
func TestPEM(t *testing.T) {
	k, err := keys.Generate("comet.test/registry")
	if err != nil {
		t.Fatal(err)
	}
	b, err := k.Verifier().PEM()
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" || len(block.Headers) != 0 || len(rest) != 0 {
		t.Fatalf("PEM %q", b)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := k.Sign([]byte("m"))
	if ed, ok := pub.(ed25519.PublicKey); !ok || !ed.Equal(k.Verifier().Public()) || !ed25519.Verify(ed, []byte("m"), sig) {
		t.Fatalf("PEM holds %T %x, not the signer's key", pub, pub)
	}
}

// LoadVerifierFile takes the private key file or the public one and gives the same key.
func TestLoadVerifierFile(t *testing.T) {
	k, err := keys.Generate("comet.test/log")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "log.key"), filepath.Join(dir, "log.pub")
	if err := k.WriteFile(priv); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, []byte(k.Verifier().String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{priv, pub} {
		if v, err := keys.LoadVerifierFile(path); err != nil || v.String() != k.Verifier().String() {
			t.Errorf("LoadVerifierFile(%s): %v %v", filepath.Base(path), v, err)
		}
	}
	bad := filepath.Join(dir, "bad")
	_ = os.WriteFile(bad, []byte("PRIVATE+KEY+x+00000000+AQ\n"), 0o600)
	if _, err := keys.LoadVerifierFile(bad); !errors.Is(err, keys.ErrMalformedKey) {
		t.Errorf("malformed private key: %v", err)
	}
	_ = os.WriteFile(bad, []byte("\n"), 0o600)
	if _, err := keys.LoadVerifierFile(bad); !errors.Is(err, keys.ErrNoKey) {
		t.Errorf("empty file: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	k, _ := keys.Generate("a")
	for name, s := range map[string]string{
		"empty":            "",
		"verifier as skey": k.Verifier().String(),
		"bad hash":         strings.Replace(k.PrivateKey(), "+"+k.KeyID()[2:]+"+", "+00000000+", 1),
		"truncated":        k.PrivateKey()[:len(k.PrivateKey())-4],
	} {
		if _, err := keys.ParseSigner(s); !errors.Is(err, keys.ErrMalformedKey) {
			t.Errorf("ParseSigner %s: %v", name, err)
		}
	}
	if _, err := keys.ParseVerifier(k.PrivateKey()); !errors.Is(err, keys.ErrMalformedKey) {
		t.Errorf("ParseVerifier accepted a private key")
	}
}

// FuzzParseKeys feeds arbitrary text to the signed-note key parsers (keys come from config,
// files and trust roots): none may panic, and a parsed key prints back as it was read.
func FuzzParseKeys(f *testing.F) {
	s, err := keys.Generate("comet.test/fuzz")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(s.PrivateKey())
	f.Add(s.Verifier().String())
	f.Add("PRIVATE+KEY+x+00000000+AQ")
	f.Fuzz(func(t *testing.T, text string) {
		if v, err := keys.ParseVerifier(text); err == nil && v.String() != text {
			t.Fatalf("verifier %q prints as %q", text, v.String())
		}
		if s, err := keys.ParseSigner(text); err == nil {
			if s.PrivateKey() != text {
				t.Fatalf("signer %q prints as %q", text, s.PrivateKey())
			}
			sig, _ := s.Sign([]byte("m"))
			if !s.Verifier().Verify([]byte("m"), sig) {
				t.Fatal("a parsed signer's signature does not verify with its own verifier")
			}
		}
	})
}
