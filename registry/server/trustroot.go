package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/internal/config"
	"github.com/comet-attest/comet/registry/keyset"
)

// writeTrustRoot builds the trust root clients pin: the registry key (valid from when this
// data directory first saw it), the log's origin and key, and the published circuits. It is
// kept in path so that a key's not_before survives restarts; keys no longer in use stay
// listed, so that what they signed still verifies. With anchoring on, it pins the anchor
// contract and chain, so that clients read anchors where the registry writes them.
func writeTrustRoot(path string, registry, log *keys.Signer, set *keyset.Set, anchor config.Anchor, now time.Time) (*trustroot.Root, error) {
	f := trustroot.File{Version: trustroot.Version}
	old, err := trustroot.Load(path)
	switch {
	case err == nil:
		f.RegistryKeys = old.File().RegistryKeys
		f.Witnesses, f.Starknet = old.File().Witnesses, old.File().Starknet
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	known := false
	for _, k := range f.RegistryKeys {
		if v, err := keys.ParseVerifier(k.Key); err == nil && v.KeyID() == registry.KeyID() {
			known = true
		}
	}
	if !known {
		// A minute of slack for clocks; attestations are issued after start-up anyway.
		f.RegistryKeys = append(f.RegistryKeys, trustroot.KeyEntry{Key: registry.Verifier().String(), NotBefore: now.UTC().Add(-time.Minute).Truncate(time.Second)})
	}
	f.Log = trustroot.LogEntry{Origin: log.Name(), Key: log.Verifier().String()}
	if anchor.RPCURL != "" {
		f.Starknet = &trustroot.Starknet{ChainID: anchor.ChainID, Contract: anchor.Contract}
	}
	if pins := set.Pins(); len(pins) > 0 {
		f.Circuits = pins
	}
	root, err := trustroot.New(f)
	if err != nil {
		return nil, fmt.Errorf("trust root: %w", err)
	}
	b, err := root.Marshal()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		return nil, fmt.Errorf("write trust root: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return nil, fmt.Errorf("write trust root: %w", err)
	}
	return root, nil
}
