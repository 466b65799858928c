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
	code, out, _ = runComet(t, "keys", "show", priv)
	if code != 0 || !strings.Contains(out, s.Verifier().String()) {
		t.Errorf("show: exit %d:\n%s", code, out)
	}

	for _, args := range [][]string{
		{"keys", "generate", "--name", "other", "--out", priv},                       // never overwrites
		{"keys", "generate", "--name", "bad name", "--out", filepath.Join(dir, "x")}, // not a note name
		{"keys", "show", pub}, // a public key is not a private key
	} {
		if code, _, errOut := runComet(t, args...); code != 2 || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	if b2, _ := os.ReadFile(priv); strings.TrimSpace(string(b2)) != s.PrivateKey() {
		t.Error("the private key file was overwritten")
	}
}
