package trustroot_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/comet-attest/comet/attest/attesttest"
	"github.com/comet-attest/comet/attest/trustroot"
)

var update = flag.Bool("update", false, "rewrite golden files")

var goldenPath = filepath.Join("testdata", "root.json")

func TestGolden(t *testing.T) {
	if *update {
		d := attesttest.New(t, attesttest.Options{Witnesses: 3, Quorum: 2})
		raw, err := d.Root.Marshal()
		if err != nil {
			t.Fatal(err)
		}
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
	got, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("re-encoding changed the file:\n%s", got)
	}
	if len(r.Witnesses) != 3 || r.WitnessQuorum != 2 || r.LogOrigin != attesttest.Origin || len(r.Registry) != 1 || r.Starknet == nil {
		t.Fatalf("parsed root: %+v", r)
	}
	if _, ok := r.RegistryKey(r.Registry[0].Key.KeyID()); !ok {
		t.Fatal("RegistryKey lookup")
	}
}

func TestParseRejects(t *testing.T) {
	good, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	g := string(good)
	r, _ := trustroot.Parse(good)
	regKey := r.Registry[0].Key.String()
	witKey := r.Witnesses[0].Key
	cases := map[string]string{
		"version":            strings.Replace(g, `"version": 1`, `"version": 2`, 1),
		"unknown field":      strings.Replace(g, `"version": 1,`, `"version": 1, "extra": true,`, 1),
		"quorum too large":   strings.Replace(g, `"quorum": 2`, `"quorum": 4`, 1),
		"negative quorum":    strings.Replace(g, `"quorum": 2`, `"quorum": -1`, 1),
		"origin mismatch":    strings.Replace(g, `"origin": "comet.test/log"`, `"origin": "other/log"`, 1),
		"malformed key":      strings.Replace(g, regKey, regKey[:len(regKey)-3], 1),
		"duplicate witness":  strings.Replace(g, r.Witnesses[1].Key, witKey, 1),
		"not_after first":    strings.Replace(g, `"not_before"`, `"not_after": "2000-01-01T00:00:00Z", "not_before"`, 1),
		"bad circuit digest": strings.Replace(g, attesttest.VerifyingKeySHA256, "ABC", 1),
		"trailing data":      g + "{}",
		"not json":           "[",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if in == g {
				t.Fatal("edit did not apply")
			}
			if _, err := trustroot.Parse([]byte(in)); !errors.Is(err, trustroot.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	good, err := os.ReadFile(goldenPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := trustroot.Parse(b)
		if err != nil {
			return
		}
		raw, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := trustroot.Parse(raw); err != nil {
			t.Fatalf("re-encoded root does not parse: %v", err)
		}
	})
}
