package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/registry/keyset"
)

func mustKey(t *testing.T, name string) *keys.Signer {
	t.Helper()
	k, err := keys.Generate(name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The chain issues a version only when what the registry states changes (or half of the
// newest's lifetime has passed), and every version it writes verifies from version 1.
func TestTrustChainIssues(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	set, err := keyset.Open(filepath.Join(cfg.DataDir, "no-circuits"), keyset.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	reg, log := mustKey(t, "comet.localhost"), mustKey(t, cfg.Log.Origin)
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	open := func(reg, log *keys.Signer, at time.Time) *trustroot.Root {
		t.Helper()
		chain, err := writeTrustRoot(ctx, reg, log, nil, set, cfg, logger, at)
		if err != nil {
			t.Fatal(err)
		}
		return chain.Latest()
	}
	v1 := open(reg, log, now)
	if v1.Version != 1 || !v1.Expires.Equal(now.Add(cfg.Trust.Expiry)) {
		t.Fatalf("first version %d expires %s", v1.Version, v1.Expires)
	}
	if again := open(reg, log, now.Add(time.Hour)); again.Version != 1 {
		t.Fatalf("a restart with nothing changed issued version %d", again.Version)
	}
	if later := open(reg, log, now.Add(cfg.Trust.Expiry/2+time.Hour)); later.Version != 2 {
		t.Fatalf("half the lifetime passed: version %d", later.Version)
	}
	newReg := mustKey(t, "comet.localhost")
	v3 := open(newReg, log, now.Add(cfg.Trust.Expiry/2+2*time.Hour))
	if v3.Version != 3 || len(v3.Registry) != 2 || v3.Registry[0].NotAfter.IsZero() || !v3.Registry[1].NotAfter.IsZero() {
		t.Fatalf("registry key rotation: %+v", v3.Registry)
	}
	chain, err := openTrustChain(cfg.Path("trustroot"))
	if err != nil || chain.Latest().Version != 3 {
		t.Fatalf("reopened chain: %v", err)
	}
	for v := int64(1); v <= 3; v++ {
		if _, ok := chain.Version(v); !ok {
			t.Fatalf("version %d not served", v)
		}
	}

	// Rotating the root key needs the old one to sign the hand-over.
	cfg.Trust.RootKeyFile = filepath.Join(cfg.DataDir, "root2.key")
	if err := mustKey(t, "comet.localhost/root").WriteFile(cfg.Trust.RootKeyFile); err != nil {
		t.Fatal(err)
	}
	if _, err := writeTrustRoot(ctx, newReg, log, nil, set, cfg, logger, now.Add(cfg.Trust.Expiry/2+3*time.Hour)); err == nil ||
		!strings.Contains(err.Error(), "trust.previous_root_key_file") {
		t.Fatalf("root key rotation without the old key: %v", err)
	}
	cfg.Trust.PreviousRootKeyFile = filepath.Join("keys", "root.key")
	v4 := open(newReg, log, now.Add(cfg.Trust.Expiry/2+3*time.Hour))
	if v4.Version != 4 || v4.RootKeys[0].KeyID() == v3.RootKeys[0].KeyID() {
		t.Fatalf("root key rotation: version %d root %s", v4.Version, v4.RootKeys[0].KeyID())
	}
	if _, err := v3.Next(mustMarshal(v4)); err != nil {
		t.Fatalf("version 4 does not follow version 3: %v", err)
	}

	// A version file edited on disk breaks the chain: the registry refuses to start on it.
	raw, _ := chain.Version(2)
	if err := os.WriteFile(filepath.Join(cfg.Path("trustroot"), "2.json"), []byte(strings.Replace(string(raw), `"sig": "`, `"sig": "AA`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := openTrustChain(cfg.Path("trustroot")); !errors.Is(err, trustroot.ErrInvalid) {
		t.Fatalf("edited version 2: %v", err)
	}
}

// A data directory from before signed trust roots carries its registry keys' windows on.
func TestTrustChainCarriesLegacyRoot(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	reg, log := mustKey(t, "comet.localhost"), mustKey(t, cfg.Log.Origin)
	legacy := `{"version": 1, "registry_keys": [{"key": "` + reg.Verifier().String() + `", "not_before": "2026-01-01T00:00:00Z"}],
	  "log": {"origin": "` + cfg.Log.Origin + `", "key": "` + log.Verifier().String() + `"}}`
	if err := os.WriteFile(cfg.Path("trustroot.json"), []byte(legacy), 0o644); err != nil {
		t.Fatal(err)
	}
	set, _ := keyset.Open(filepath.Join(cfg.DataDir, "no-circuits"), keyset.Policy{})
	chain, err := writeTrustRoot(ctx, reg, log, nil, set, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := chain.Latest()
	if r.Version != 1 || len(r.Registry) != 1 || !r.Registry[0].NotBefore.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("legacy windows not carried on: %+v", r.Registry)
	}
}
