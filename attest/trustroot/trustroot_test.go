package trustroot_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/attesttest"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/trustroot"
)

var update = flag.Bool("update", false, "rewrite golden files")

var goldenPath = filepath.Join("testdata", "root.json")

var century = time.Date(2126, 1, 1, 0, 0, 0, 0, time.UTC)

func TestGolden(t *testing.T) {
	ctx := context.Background()
	if *update {
		d := attesttest.New(t, attesttest.Options{Witnesses: 3, Quorum: 2})
		f := d.Root.File()
		f.Expires = century // a golden file must not go stale by the calendar
		r, err := trustroot.Sign(ctx, f, d.RootKey)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := r.Marshal()
		if err := os.WriteFile(goldenPath, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	r, err := trustroot.Parse(want)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := r.Marshal()
	if !bytes.Equal(got, want) {
		t.Fatalf("re-encoding changed the file:\n%s", got)
	}
	if r.Version != 1 || len(r.Witnesses) != 3 || r.WitnessQuorum != 2 || r.LogOrigin != attesttest.Origin || len(r.Registry) != 1 ||
		r.Starknet == nil || len(r.RootKeys) != 1 || r.RootThreshold != 1 || len(r.Circuits) != 2 {
		t.Fatalf("parsed root: %+v", r)
	}
	if _, ok := r.RegistryKey(r.Registry[0].Key.KeyID()); !ok {
		t.Fatal("RegistryKey lookup")
	}
	if err := r.Check(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := r.Check(century); !errors.Is(err, trustroot.ErrExpired) {
		t.Fatalf("Check at expiry: %v", err)
	}
}

// signed wraps a raw payload in an envelope signed by k, bypassing Sign's validation, so
// that Parse's own checks are what is tested.
func signed(t *testing.T, payload []byte, k *keys.Signer) []byte {
	t.Helper()
	sig, err := k.Sign(dssePAE(trustroot.PayloadType, payload))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]any{
		"payloadType": trustroot.PayloadType,
		"payload":     base64.StdEncoding.EncodeToString(payload),
		"signatures":  []map[string]string{{"keyid": k.KeyID(), "sig": base64.StdEncoding.EncodeToString(sig)}},
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dssePAE(typ string, payload []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(typ), typ, len(payload), payload)
}

func TestParseRejects(t *testing.T) {
	d := attesttest.New(t, attesttest.Options{Witnesses: 3, Quorum: 2})
	good, err := json.Marshal(d.Root.File())
	if err != nil {
		t.Fatal(err)
	}
	g := string(good)
	r := d.Root
	regKey := r.Registry[0].Key.String()
	other, _ := keys.Generate("comet.test/other")
	cases := map[string]string{
		"format":             strings.Replace(g, trustroot.Format, "comet.trustroot/v1", 1),
		"version zero":       strings.Replace(g, `"version":1`, `"version":0`, 1),
		"no expiry":          strings.Replace(g, `"expires":"`+r.Expires.Format(time.RFC3339)+`"`, `"expires":"0001-01-01T00:00:00Z"`, 1),
		"threshold zero":     strings.Replace(g, `"threshold":1`, `"threshold":0`, 1),
		"threshold too high": strings.Replace(g, `"threshold":1`, `"threshold":2`, 1),
		"unknown field":      strings.Replace(g, `"version":1,`, `"version":1,"extra":true,`, 1),
		"quorum too large":   strings.Replace(g, `"quorum":2`, `"quorum":4`, 1),
		"negative quorum":    strings.Replace(g, `"quorum":2`, `"quorum":-1`, 1),
		"origin mismatch":    strings.Replace(g, `"origin":"comet.test/log"`, `"origin":"other/log"`, 1),
		"malformed key":      strings.Replace(g, regKey, regKey[:len(regKey)-3], 1),
		"duplicate witness":  strings.Replace(g, r.Witnesses[1].Key, r.Witnesses[0].Key, 1),
		"not_after first":    strings.Replace(g, `"not_before"`, `"not_after":"2000-01-01T00:00:00Z","not_before"`, 1),
		"bad circuit digest": strings.Replace(g, attesttest.VerifyingKeySHA256, "ABC", 1),
		"empty ceremony":     strings.Replace(g, `"phase1_contributors":["alice","bob"]`, `"phase1_contributors":[]`, 1),
		"trailing data":      g + "{}",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if in == g {
				t.Fatal("edit did not apply")
			}
			if _, err := trustroot.Parse(signed(t, []byte(in), d.RootKey)); !errors.Is(err, trustroot.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
	envCases := map[string][]byte{
		"signed by another key": signed(t, good, other),
		"not an envelope":       []byte(g),
		"not json":              []byte("["),
	}
	for name, in := range envCases {
		t.Run(name, func(t *testing.T) {
			if _, err := trustroot.Parse(in); !errors.Is(err, trustroot.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := trustroot.Parse(signed(t, good, d.RootKey)); err != nil {
		t.Fatalf("the unedited body: %v", err)
	}
}

// chain issues versions 1..n, rotating the root key at version rotateAt (signed by both
// keys there, as a hand-over must be).
type chain struct {
	raws  [][]byte
	roots []*trustroot.Root
	keys  []*keys.Signer // root key of each version
}

func newChain(t *testing.T, n, rotateAt int) *chain {
	t.Helper()
	ctx := context.Background()
	d := attesttest.New(t, attesttest.Options{})
	c := &chain{}
	key := d.RootKey
	for v := 1; v <= n; v++ {
		f := d.Root.File()
		f.Version = int64(v)
		signers := []*keys.Signer{key}
		if v == rotateAt {
			next, _ := keys.Generate(fmt.Sprintf("comet.test/root-%d", v))
			signers = []*keys.Signer{next, key}
			key = next
		}
		f.Root = trustroot.RootKeys{Threshold: 1, Keys: []string{key.Verifier().String()}}
		r, err := trustroot.Sign(ctx, f, signers...)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := r.Marshal()
		c.raws, c.roots, c.keys = append(c.raws, raw), append(c.roots, r), append(c.keys, key)
	}
	return c
}

func (c *chain) fetch(ctx context.Context, v int64) ([]byte, bool, error) {
	if v < 1 || v > int64(len(c.raws)) {
		return nil, false, nil
	}
	return c.raws[v-1], true, nil
}

func TestUpdateWalksTheChain(t *testing.T) {
	ctx := context.Background()
	c := newChain(t, 4, 3)
	got, err := trustroot.Update(ctx, c.roots[0], 4, c.fetch, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 4 || got.Fingerprint() != c.roots[3].Fingerprint() {
		t.Fatalf("updated to version %d", got.Version)
	}
	// Already at the newest: nothing to walk.
	if got, err := trustroot.Update(ctx, c.roots[3], 0, c.fetch, time.Now()); err != nil || got.Version != 4 {
		t.Fatalf("no-op update: %v, %v", got, err)
	}
}

func TestUpdateRefuses(t *testing.T) {
	ctx := context.Background()
	c := newChain(t, 3, 0)
	forger, _ := keys.Generate("comet.test/forger")
	// Version 2 signed only by a key version 1 does not name.
	forged := c.roots[1].File()
	forged.Root = trustroot.RootKeys{Threshold: 1, Keys: []string{forger.Verifier().String()}}
	fr, err := trustroot.Sign(ctx, forged, forger)
	if err != nil {
		t.Fatal(err)
	}
	forgedRaw, _ := fr.Marshal()
	skip := c.roots[2].File()
	skip.Version = 3
	sk, _ := trustroot.Sign(ctx, skip, c.keys[0])
	skipRaw, _ := sk.Marshal()
	expired := c.roots[1].File()
	expired.Expires = time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	ex, _ := trustroot.Sign(ctx, expired, c.keys[0])
	expiredRaw, _ := ex.Marshal()

	serve := func(raws ...[]byte) trustroot.Fetch {
		return func(ctx context.Context, v int64) ([]byte, bool, error) {
			if v < 2 || v-2 >= int64(len(raws)) {
				return nil, false, nil
			}
			return raws[v-2], true, nil
		}
	}
	cases := []struct {
		name   string
		from   *trustroot.Root
		latest int64
		fetch  trustroot.Fetch
		want   error
	}{
		{"not signed by its predecessor", c.roots[0], 0, serve(forgedRaw), trustroot.ErrChain},
		{"skips a version", c.roots[0], 0, serve(skipRaw), trustroot.ErrChain},
		{"newest expired", c.roots[0], 0, serve(expiredRaw), trustroot.ErrExpired},
		{"rollback offered", c.roots[2], 1, c.fetch, trustroot.ErrRollback},
		{"older version served as next", c.roots[1], 0, func(ctx context.Context, v int64) ([]byte, bool, error) {
			return c.raws[0], true, nil
		}, trustroot.ErrRollback},
		{"chain ends before the advertised version", c.roots[0], 5, c.fetch, trustroot.ErrChain},
		{"another document under the pinned version", c.roots[1], 0, func(ctx context.Context, v int64) ([]byte, bool, error) {
			if v == 2 {
				return expiredRaw, true, nil // version 2 too, signed by the same keys, but not the pinned one
			}
			return c.fetch(ctx, v)
		}, trustroot.ErrFork},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := trustroot.Update(ctx, tc.from, tc.latest, tc.fetch, time.Now()); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestRotationNeedsTheOldKey(t *testing.T) {
	c := newChain(t, 2, 0)
	next, _ := keys.Generate("comet.test/root-new")
	f := c.roots[1].File()
	f.Root = trustroot.RootKeys{Threshold: 1, Keys: []string{next.Verifier().String()}}
	// Signed by the new key alone: self-consistent, but version 1 never vouched for it.
	r, err := trustroot.Sign(context.Background(), f, next)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := r.Marshal()
	if _, err := c.roots[0].Next(raw); !errors.Is(err, trustroot.ErrChain) {
		t.Fatalf("err = %v, want ErrChain", err)
	}
	// A version must carry its own root keys' signatures too.
	if _, err := trustroot.Sign(context.Background(), f, c.keys[0]); !errors.Is(err, trustroot.ErrInvalid) {
		t.Fatalf("signed by the old key only: %v, want ErrInvalid", err)
	}
}

func FuzzParse(f *testing.F) {
	good, err := os.ReadFile(goldenPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"payloadType":"application/vnd.comet.trustroot.v2+json","payload":"e30=","signatures":[{"keyid":"a","sig":"AA=="}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := trustroot.Parse(b)
		if err != nil {
			return
		}
		raw, _ := r.Marshal()
		if _, err := trustroot.Parse(raw); err != nil {
			t.Fatalf("re-encoded root does not parse: %v", err)
		}
	})
}
