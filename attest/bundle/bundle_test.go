package bundle_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/attesttest"
	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/attest/verify"
)

var update = flag.Bool("update", false, "rewrite golden files")

var (
	goldenBundle = filepath.Join("testdata", "bundle.golden")
	goldenRoot   = filepath.Join("testdata", "root.json")
)

// TestGolden pins the wire format: the committed bundle parses, re-encodes
// to the same bytes, and still verifies against the committed trust root.
// -update regenerates both from a fresh virtual deployment.
func TestGolden(t *testing.T) {
	ctx := context.Background()
	if *update {
		d := attesttest.New(t, attesttest.Options{Witnesses: 3})
		for i := range 5 {
			subj, tr := attesttest.Sample(i)
			if _, lb, err := d.Sign(ctx, subj, tr); err != nil {
				t.Fatal(err)
			} else if _, err := d.Log.Append(ctx, lb); err != nil {
				t.Fatal(err)
			}
		}
		subj, tr := attesttest.Sample(5)
		b, err := d.Attest(ctx, subj, tr)
		if err != nil {
			t.Fatal(err)
		}
		// A receipt anchoring the bundle's own checkpoint (verify ties the root to it).
		cpRoot := strings.Split(string(b.Checkpoint), "\n")[2]
		rootHash, err := base64.StdEncoding.DecodeString(cpRoot)
		if err != nil {
			t.Fatal(err)
		}
		b.Anchor = fmt.Appendf(nil, `{"chain":"starknet","network":"sepolia","contract":"0x0","tx_hash":"0x1","block_number":1,"tree_size":6,"root":"%x","finality":"ACCEPTED_ON_L2"}`, rootHash)
		raw, err := b.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		// Re-signed to expire in a century: a golden file must not go stale by the calendar.
		rf := d.Root.File()
		rf.Expires = time.Date(2126, 1, 1, 0, 0, 0, 0, time.UTC)
		signed, err := trustroot.Sign(ctx, rf, d.RootKey)
		if err != nil {
			t.Fatal(err)
		}
		root, err := signed.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenBundle, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenRoot, root, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenBundle)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Parse(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("re-encoding changed the bundle:\n%s", got)
	}
	root, err := trustroot.Load(goldenRoot)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.NewVerifier(root)
	if err != nil {
		t.Fatal(err)
	}
	p, err := verify.NewPolicy(verify.WithoutModelUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	if r, err := v.Verify(ctx, b, p); err != nil {
		t.Fatalf("golden bundle no longer verifies: %v\n%s", err, r)
	}
}

func TestParseRejects(t *testing.T) {
	good, err := os.ReadFile(goldenBundle)
	if err != nil {
		t.Fatal(err)
	}
	g := string(good)
	cases := map[string]string{
		"version":          strings.Replace(g, `"version": 1`, `"version": 2`, 1),
		"unknown field":    strings.Replace(g, `"version": 1,`, `"version": 1, "x": 0,`, 1),
		"index past size":  strings.Replace(g, `"log_index": 5`, `"log_index": 6`, 1),
		"anchor not obj":   strings.Replace(g, `"anchor": {`, `"anchor": [{`, 1),
		"short leaf":       strings.Replace(g, `"leaf": "AQ`, `"leaf": "`, 1),
		"checkpoint text":  strings.Replace(g, `"checkpoint": "comet.test/log\n`, `"checkpoint": "comet.test/log\nx`, 1),
		"trailing":         g + "{}",
		"no envelope":      strings.Replace(g, `"envelope": {`, `"envelope": null, "y": {`, 1),
		"short proof hash": strings.Replace(g, `"hashes": [`+"\n      \"", `"hashes": [`+"\n      \"AAAA\", \"", 1),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if in == g {
				t.Fatal("edit did not apply")
			}
			if _, err := bundle.Parse([]byte(in)); !errors.Is(err, bundle.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	good, err := os.ReadFile(goldenBundle)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := bundle.Parse(data)
		if err != nil {
			return
		}
		raw, err := b.Marshal()
		if err != nil {
			t.Fatalf("parsed bundle does not marshal: %v", err)
		}
		b2, err := bundle.Parse(raw)
		if err != nil {
			t.Fatalf("re-encoded bundle does not parse: %v", err)
		}
		raw2, _ := b2.Marshal()
		if !bytes.Equal(raw, raw2) {
			t.Fatal("encoding is not stable")
		}
	})
}
