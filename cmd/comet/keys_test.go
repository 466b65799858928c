package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/comet-attest/comet/attest/keys"
)

func TestKeysGenerate(t *testing.T) {
	dir := t.TempDir()
	priv := filepath.Join(dir, "registry.key")
	pub := filepath.Join(dir, "registry.pub")
	code, out, errOut := runComet(t, "keys", "generate", "--name", "registry.example", "--out", priv, "--public-out", pub)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	fi, err := os.Stat(priv)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v %v", fi, err)
	}
	s, err := keys.LoadFile(priv)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := keys.ParseVerifier(strings.TrimSpace(string(b))); err != nil || v.KeyID() != s.KeyID() {
		t.Fatalf("public key file does not match: %v", err)
	}
	if !strings.Contains(out, s.KeyID()) || strings.Contains(out, s.PrivateKey()) {
		t.Errorf("output must show the key id and never the private key:\n%s", out)
	}
	// show takes the private key file or the public one; --pem prints only the public key.
	wantPEM, err := s.Verifier().PEM()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{priv, pub} {
		code, out, _ = runComet(t, "keys", "show", f)
		if code != 0 || !strings.Contains(out, s.Verifier().String()) || !strings.Contains(out, s.KeyID()) {
			t.Errorf("show %s: exit %d:\n%s", filepath.Base(f), code, out)
		}
		if code, out, _ = runComet(t, "keys", "show", f, "--pem"); code != 0 || out != string(wantPEM) {
			t.Errorf("show %s --pem: exit %d:\n%s", filepath.Base(f), code, out)
		}
	}
	notKey := writeFile(t, dir, "not.key", "PRIVATE+KEY+registry.example+00000000+AQ\n")

	for _, args := range [][]string{
		{"keys", "generate", "--name", "other", "--out", priv},                       // never overwrites
		{"keys", "generate", "--name", "bad name", "--out", filepath.Join(dir, "x")}, // not a note name
		{"keys", "show", notKey, "--pem"},                                            // not a key
	} {
		if code, _, errOut := runComet(t, args...); code != 2 || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	if b2, _ := os.ReadFile(priv); strings.TrimSpace(string(b2)) != s.PrivateKey() {
		t.Error("the private key file was overwritten")
	}
}
