package commitment

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func goldenManifest(t testing.TB) *Manifest {
	h := Header{D: 2, FractionBits: 8, ValueBits: 24, ChunkRows: 2}
	rows := [][]int64{{256, -512, 1000}, {0, 1, 2}, {-7, 7, 70}}
	res := build(t, h, testSalt(), rows, 1)
	return NewManifest(res, "data.csv", strings.Repeat("ab", 32), []string{"id", "a", "b", "y"}, []string{"a", "b"}, "y")
}

func TestManifestGolden(t *testing.T) {
	b, err := goldenManifest(t).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "manifest.golden.json")
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("manifest encoding changed:\n%s\nwant\n%s", b, want)
	}
	m, err := ParseManifest(want)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := m.Marshal()
	if !bytes.Equal(again, want) {
		t.Error("parse and marshal is not the identity")
	}
}

func TestManifestRejects(t *testing.T) {
	good, _ := goldenManifest(t).Marshal()
	edits := []struct {
		name, from, to string
	}{
		{"n edited", `"n": 3`, `"n": 4`},
		{"d edited", `"d": 2`, `"d": 3`},
		{"chunk rows edited", `"chunk_rows": 2`, `"chunk_rows": 4`},
		{"fraction bits edited", `"fraction_bits": 8`, `"fraction_bits": 9`},
		{"commitment edited", `"commitment": "`, `"commitment": "0`},
		{"unknown field", `"label": "y",`, `"label": "y", "extra": 1,`},
		{"label is a feature", `"label": "y"`, `"label": "a"`},
		{"label not a column", `"label": "y"`, `"label": "z"`},
		{"format", `comet.manifest/v1`, `comet.manifest/v9`},
		{"hash scheme", `commitment-v1`, `commitment-v2`},
		{"sha256", `"sha256": "ab`, `"sha256": "zz`},
		{"trailing data", "}\n", "}{}"},
	}
	for _, e := range edits {
		bad := strings.Replace(string(good), e.from, e.to, 1)
		if bad == string(good) {
			t.Fatalf("%s: edit did not apply", e.name)
		}
		if _, err := ParseManifest([]byte(bad)); !errors.Is(err, ErrManifest) {
			t.Errorf("%s: error = %v, want ErrManifest", e.name, err)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	good, _ := goldenManifest(f).Marshal()
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"n": -1, "chunk_rows": 0}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			if !errors.Is(err, ErrManifest) {
				t.Fatalf("error %v is not ErrManifest", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("parsed manifest does not validate: %v", err)
		}
	})
}
