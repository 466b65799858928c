package proof

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/setup"
)

var update = flag.Bool("update", false, "regenerate the golden bundle and its inputs in testdata/")

const (
	goldenBundle   = "testdata/bundle.golden.json"
	goldenModel    = "testdata/model.json"
	goldenManifest = "testdata/manifest.json"
	goldenKeys     = "testdata/keys"
)

// regenerate proves the small synthetic dataset again and writes the bundle, the model, the
// manifest and the verifying keys (not the proving keys) to testdata.
func regenerate(t *testing.T) {
	p := proveSmall(t, 7, 7)
	write := func(path string, data []byte, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := p.bundle.Marshal()
	write(goldenBundle, b, err)
	m, err := p.model.Marshal()
	write(goldenModel, m, err)
	man, err := p.manifest.Marshal()
	write(goldenManifest, man, err)
	src, dst := setup.Dir(keyCache.dir, p.shape()), setup.Dir(goldenKeys, p.shape())
	for _, name := range []string{"keys.json", "chunk.vk", "final.vk"} {
		data, err := os.ReadFile(filepath.Join(src, name))
		write(filepath.Join(dst, name), data, err)
	}
}

func loadGolden(t testing.TB) (data []byte, b *Bundle, m *model.Model, man *commitment.Manifest, keys *setup.Keys) {
	t.Helper()
	ctx := context.Background()
	data, err := os.ReadFile(goldenBundle)
	if err != nil {
		t.Fatal(err)
	}
	if b, err = ParseBundle(data); err != nil {
		t.Fatal(err)
	}
	if m, err = model.Load(ctx, goldenModel); err != nil {
		t.Fatal(err)
	}
	if man, err = commitment.LoadManifest(goldenManifest); err != nil {
		t.Fatal(err)
	}
	if keys, err = setup.Load(ctx, goldenKeys, circuit.ShapeOf(man.Header, m.FitIntercept), setup.Verifying); err != nil {
		t.Fatal(err)
	}
	return data, b, m, man, keys
}

// TestBundleGolden pins the bundle format: the golden bundle parses, encodes to the same
// bytes, and verifies against the golden model, manifest and verifying keys.
func TestBundleGolden(t *testing.T) {
	if *update {
		regenerate(t)
	}
	data, b, m, man, keys := loadGolden(t)
	again, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Fatal("the golden bundle does not re-encode to the same bytes")
	}
	r, err := Verify(context.Background(), b, Inputs{Model: m, Manifest: man, Provider: testProvider}, keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Checks {
		if !c.Passed || c.Detail == "" {
			t.Errorf("check %q: passed %v, detail %q", c.Name, c.Passed, c.Detail)
		}
	}
}

func TestParseBundleRejects(t *testing.T) {
	data, _, _, _, _ := loadGolden(t)
	s := string(data)
	for name, bad := range map[string]string{
		"empty":                 "",
		"not json":              "proof",
		"array":                 "[]",
		"trailing data":         s + "{}",
		"unknown field":         strings.Replace(s, `"format"`, `"extra": 1, "format"`, 1),
		"other format":          strings.Replace(s, BundleFormat, "comet.proof/v0", 1),
		"format v1":             strings.Replace(s, BundleFormat, "comet.proof/v1", 1),
		"no provider":           strings.Replace(s, `"provider": "`+testProvider+`"`, `"provider": ""`, 1),
		"no metrics":            strings.Replace(s, `"ssr": "`, `"ssr_": "`, 1),
		"other backend":         strings.Replace(s, `"groth16"`, `"plonk"`, 1),
		"weight a number":       strings.Replace(s, `"weights": [`+"\n"+`    "`, `"weights": [`+"\n"+`    1, "`, 1),
		"bad proof":             strings.Replace(s, `"proof": "`, `"proof": "AAAA`, 1),
		"huge commitment count": proofRE.ReplaceAllLiteralString(s, `"proof": "`+hugeCount()+`"`),
		"not base64":            strings.Replace(s, `"proof": "`, `"proof": "!`, 1),
		"bad digest":            strings.Replace(s, `"acc_in": "`, `"acc_in": "zz`, 1),
		"leading zero":          strings.Replace(s, `"tau": "`, `"tau": "0`, 1),
		"shape mismatch":        strings.Replace(s, `"chunk_rows": 8`, `"chunk_rows": 9`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			if bad == s {
				t.Fatal("the edit did not apply; fix the test")
			}
			if _, err := ParseBundle([]byte(bad)); !errors.Is(err, ErrBundle) {
				t.Fatalf("ParseBundle = %v, want ErrBundle", err)
			}
		})
	}
}

// FuzzBundle: ParseBundle never panics, and whatever it accepts re-encodes to a bundle that
// parses to the same encoding.
func FuzzBundle(f *testing.F) {
	data, err := os.ReadFile(goldenBundle)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"format":"comet.proof/v2"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			if !errors.Is(err, ErrBundle) {
				t.Fatalf("error %v is not ErrBundle", err)
			}
			return
		}
		out, err := b.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		b2, err := ParseBundle(out)
		if err != nil {
			t.Fatal(err)
		}
		out2, err := b2.Marshal()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("encoding not stable: %v", err)
		}
	})
}

// hugeCount is the base64 of a proof whose commitment count asks gnark's decoder for 2^32−1
// points: ParseBundle must refuse it before decoding.
func hugeCount() string {
	raw := make([]byte, 196)
	copy(raw[128:132], []byte{0xff, 0xff, 0xff, 0xff})
	return base64.StdEncoding.EncodeToString(raw)
}

var proofRE = regexp.MustCompile(`"proof": "[^"]*"`)

// A malformed bundle's error names the member at fault, and the chunk for a chunk's.
func TestParseBundleNamesField(t *testing.T) {
	data, _, _, _, _ := loadGolden(t)
	s := string(data)
	nth := func(old, new string, n int) string { // replaces the n-th (0-based) occurrence of old
		parts := strings.SplitN(s, old, n+2)
		return strings.Join(parts[:n+1], old) + new + strings.Join(parts[n+1:], old)
	}
	for _, tc := range []struct{ name, bad, want string }{
		{"chunk proof not base64", nth(`"proof": "`, `"proof": "!`, 1), "chunk 1: proof: not base64"},
		{"chunk rows a string", nth(`"rows": `, `"rows": "8", "x": `, 2), "chunk 2: rows must be an integer, not a string"},
		{"chunk digest", nth(`"acc_out": "`, `"acc_out": "zz`, 0), "chunk 0: acc_out:"},
		{"chunk unknown field", nth(`"rows": `, `"extra": 1, "rows": `, 1), `chunk 1: unknown field "extra"`},
		{"final proof", nth(`"proof": "`, `"proof": "AAAA`, 3), "final: proof:"},
		{"tau", strings.Replace(s, `"tau": "`, `"tau": "0`, 1), "tau:"},
		{"nested unknown field", strings.Replace(s, `"n": 20,`, `"n": 20, "m": 1,`, 1), `header: json: unknown field "m"`},
		{"broken JSON", strings.Replace(s, `"tau": "`, `"tau" "`, 1), "not JSON at line "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bad == s {
				t.Fatal("the edit did not apply; fix the test")
			}
			_, err := ParseBundle([]byte(tc.bad))
			if !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseBundle = %v, want ErrBundle naming %q", err, tc.want)
			}
		})
	}
}
