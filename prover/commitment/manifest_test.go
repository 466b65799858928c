package commitment

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// goldenCSV is the file the golden manifests commit to (its rows are the ones built below).
const goldenCSV = "id,a,b,y\n1,1,-2,3.90625\n2,0,0.00390625,0.0078125\n3,-0.02734375,0.02734375,0.2734375\n"

func goldenManifest(t testing.TB) *Manifest {
	h := Header{D: 2, FractionBits: 8, ValueBits: 24, ChunkRows: 2}
	rows := [][]int64{{256, -512, 1000}, {0, 1, 2}, {-7, 7, 70}}
	res := build(t, h, testSalt(), rows, 1)
	digest, err := FileDigest(testSalt(), strings.NewReader(goldenCSV))
	if err != nil {
		t.Fatal(err)
	}
	return NewManifest(res, "data.csv", digest, []string{"id", "a", "b", "y"}, []string{"a", "b"}, "y")
}

// goldenPublicManifest is the golden manifest declared public, with a featurizer.
func goldenPublicManifest(t testing.TB) *Manifest {
	m := goldenManifest(t)
	salt := testSalt()
	sum := sha256.Sum256([]byte(goldenCSV))
	m.Public, m.SHA256, m.Salt = true, hex.EncodeToString(sum[:]), &salt
	corpus := sha256.Sum256([]byte("text,y\nWe may terminate your account.,1\n"))
	corpusDigest, err := CorpusDigest(salt, hex.EncodeToString(corpus[:]))
	if err != nil {
		t.Fatal(err)
	}
	// The spec id as prover/featurize computes it: the SHA-256 of the canonical JSON.
	spec := sha256.Sum256([]byte(`{"name":"comet-legal-hash","version":"1","params":{"buckets":"2","lexicon":"none"}}`))
	m.Featurizer = &Featurizer{
		Name: "comet-legal-hash", Version: "1", Params: map[string]string{"buckets": "2", "lexicon": "none"},
		SpecSHA256: hex.EncodeToString(spec[:]), CorpusDigest: corpusDigest, CorpusSHA256: hex.EncodeToString(corpus[:]),
		TextColumn: "text", LabelColumn: "y", Rows: 3,
	}
	return m
}

func TestManifestGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		m    func(testing.TB) *Manifest
	}{
		{"manifest.golden.json", goldenManifest},
		{"manifest.public.golden.json", goldenPublicManifest},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := tc.m(t).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.file)
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
				t.Errorf("manifest encoding changed (run with -update if intended):\n%s\nwant\n%s", b, want)
			}
			m, err := ParseManifest(want)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := m.Marshal()
			if !bytes.Equal(again, want) {
				t.Error("parse and marshal is not the identity")
			}
		})
	}
}

func TestManifestRejects(t *testing.T) {
	private, _ := goldenManifest(t).Marshal()
	public, _ := goldenPublicManifest(t).Marshal()
	digest := `"file_digest": "`
	saltHex, _ := testSalt().MarshalText()
	edits := []struct {
		name           string
		from, to       string
		public, format bool // edit the public manifest; want ErrManifestVersion
	}{
		{name: "n edited", from: `"n": 3`, to: `"n": 4`},
		{name: "d edited", from: `"d": 2`, to: `"d": 3`},
		{name: "chunk rows edited", from: `"chunk_rows": 2`, to: `"chunk_rows": 4`},
		{name: "fraction bits edited", from: `"fraction_bits": 8`, to: `"fraction_bits": 9`},
		{name: "commitment edited", from: `"commitment": "`, to: `"commitment": "0`},
		{name: "unknown field", from: `"label": "y",`, to: `"label": "y", "extra": 1,`},
		{name: "label is a feature", from: `"label": "y"`, to: `"label": "a"`},
		{name: "label not a column", from: `"label": "y"`, to: `"label": "z"`},
		{name: "empty column name", from: `"id",`, to: `"",`},
		{name: "format", from: ManifestFormat, to: "comet.manifest/v9", format: true},
		{name: "v1", from: ManifestFormat, to: "comet.manifest/v1", format: true},
		{name: "hash scheme", from: `commitment-v1`, to: `commitment-v2`},
		{name: "file digest not hex", from: digest, to: digest + "zz"},
		{name: "file digest upper case", from: digest, to: digest + "AB"},
		{name: "file digest missing", from: `"file_digest"`, to: `"file_digestx"`},
		{name: "trailing data", from: "}\n", to: "}{}"},
		{name: "duplicate key, last wins in encoding/json", from: `"label": "y",`, to: `"label": "y", "label": "a",`},
		{name: "key in another case", from: `"label": "y",`, to: `"Label": "y",`},
		{name: "case variant beside the key", from: `"label": "y",`, to: `"label": "y", "LABEL": "y",`},
		{name: "null", from: `"label": "y"`, to: `"label": null`},
		{name: "null in a list", from: `"id",`, to: `null,`},
		{name: "missing public", from: `"public": false,`, to: ``},
		{name: "number as string", from: `"n": 3`, to: `"n": "3"`},
		{name: "not an object", from: `{`, to: `[{`},
		{name: "private with sha256", from: `"public": false,`, to: `"public": false, "sha256": "` + strings.Repeat("ab", 32) + `",`},
		{name: "private with salt", from: `"public": false,`, to: `"public": false, "salt": "` + strings.Repeat("ab", 32) + `",`},
		{name: "public flag dropped", from: `"public": true`, to: `"public": false`, public: true},
		{name: "public without salt", from: `"salt": "` + string(saltHex) + `",`, to: ``, public: true},
		{name: "public salt not hex", from: `"salt": "`, to: `"salt": "zz`, public: true},
		{name: "public sha256 not hex", from: `"sha256": "`, to: `"sha256": "x`, public: true},
		{name: "featurizer unknown key", from: `"rows": 3`, to: `"rows": 3, "keep": []`, public: true},
		{name: "featurizer key case", from: `"rows": 3`, to: `"Rows": 3`, public: true},
		{name: "featurizer duplicate param", from: `"buckets": "2",`, to: `"buckets": "2", "buckets": "3",`, public: true},
		{name: "featurizer param name", from: `"buckets": "2"`, to: `"Buckets": "2"`, public: true},
		{name: "featurizer rows", from: `"rows": 3`, to: `"rows": 4`, public: true},
		{name: "featurizer label", from: `"label_column": "y"`, to: `"label_column": "a"`, public: true},
		{name: "featurizer no name", from: `"name": "comet-legal-hash"`, to: `"name": ""`, public: true},
		{name: "featurizer spec id", from: `"spec_sha256": "`, to: `"spec_sha256": "x`, public: true},
		{name: "featurizer corpus digest", from: `"corpus_digest": "`, to: `"corpus_digest": "0`, public: true},
		{name: "featurizer corpus digest not keyed from corpus_sha256", from: `"corpus_sha256": "1`, to: `"corpus_sha256": "2`, public: true},
		{name: "featurizer null params", from: `"params": {`, to: `"params": null, "x": {`, public: true},
		{name: "nested too deeply", from: `"buckets": "2"`, to: `"buckets": {"a": {"b": [1]}}`, public: true},
		{name: "featurizer split part", from: `"rows": 3`, to: `"rows": 3, "split": {"column": "fold", "test_values": ["0"], "part": "dev"}`, public: true},
		{name: "featurizer split without part", from: `"rows": 3`, to: `"rows": 3, "split": {"column": "fold", "test_values": ["0"]}`, public: true},
		{name: "featurizer split unknown key", from: `"rows": 3`, to: `"rows": 3, "split": {"column": "fold", "test_values": ["0"], "part": "test", "rows": 1}`, public: true},
		{name: "featurizer split no test values", from: `"rows": 3`, to: `"rows": 3, "split": {"column": "fold", "test_values": [], "part": "test"}`, public: true},
		{name: "featurizer split no column", from: `"rows": 3`, to: `"rows": 3, "split": {"column": "", "test_values": ["0"], "part": "test"}`, public: true},
	}
	for _, e := range edits {
		t.Run(e.name, func(t *testing.T) {
			good := private
			if e.public {
				good = public
			}
			bad := strings.Replace(string(good), e.from, e.to, 1)
			if bad == string(good) {
				t.Fatalf("edit did not apply")
			}
			_, err := ParseManifest([]byte(bad))
			if !errors.Is(err, ErrManifest) {
				t.Fatalf("error = %v, want ErrManifest", err)
			}
			if got := errors.Is(err, ErrManifestVersion); got != e.format {
				t.Errorf("errors.Is(%v, ErrManifestVersion) = %t", err, got)
			}
		})
	}
}

// TestManifestSplit checks that a featurizer's split part, which older manifests lack,
// parses and survives a round trip.
func TestManifestSplit(t *testing.T) {
	public, _ := goldenPublicManifest(t).Marshal()
	b := strings.Replace(string(public), `"rows": 3`, `"rows": 3, "split": {"column": "fold", "test_values": ["0", "1"], "part": "test"}`, 1)
	m, err := ParseManifest([]byte(b))
	if err != nil {
		t.Fatal(err)
	}
	if s := m.Featurizer.Split; s == nil || s.Column != "fold" || strings.Join(s.TestValues, ",") != "0,1" || s.Part != "test" {
		t.Fatalf("split %+v", m.Featurizer.Split)
	}
	again, _ := m.Marshal()
	if _, err := ParseManifest(again); err != nil || !strings.Contains(string(again), `"part": "test"`) {
		t.Errorf("round trip: %v\n%s", err, again)
	}
}

func TestManifestV1Message(t *testing.T) {
	_, err := ParseManifest([]byte(`{"format": "comet.manifest/v1", "sha256": "ab"}`))
	if !errors.Is(err, ErrManifestVersion) || !strings.Contains(err.Error(), "comet.manifest/v1") ||
		!strings.Contains(err.Error(), "comet dataset commit") {
		t.Errorf("v1 manifest: %v", err)
	}
}

// hkdfHMAC is RFC 5869 written out (extract with an all-zero salt, one expand block), so that
// the test pins the keyed digests of docs/manifest.md independently of crypto/hkdf.
func hkdfHMAC(salt Salt, info string, msg []byte) string {
	extract := hmac.New(sha256.New, make([]byte, sha256.Size))
	extract.Write(salt[:])
	expand := hmac.New(sha256.New, extract.Sum(nil))
	expand.Write(append([]byte(info), 1))
	mac := hmac.New(sha256.New, expand.Sum(nil))
	mac.Write(msg)
	return hex.EncodeToString(mac.Sum(nil))
}

// TestKeyedDigestVector pins the test vector of docs/manifest.md, "Keyed digests".
func TestKeyedDigestVector(t *testing.T) {
	const file = "x,y\n0,1\n1,0\n"
	got, err := FileDigest(testSalt(), strings.NewReader(file))
	if err != nil || got != "4d3f6c9e1faeb0d166b7bdeb2776214510603f1dc2bccf8e90a5c7522df8a230" {
		t.Errorf("file digest %s, %v", got, err)
	}
	sum := sha256.Sum256([]byte(file))
	got, err = CorpusDigest(testSalt(), hex.EncodeToString(sum[:]))
	if err != nil || got != "5e661f8e77e0828c9329a035d4a16c8fe2a457448c9731c2cfac7aadb050e445" {
		t.Errorf("corpus digest %s, %v", got, err)
	}
}

func TestKeyedDigests(t *testing.T) {
	salt := testSalt()
	file, err := FileDigest(salt, strings.NewReader(goldenCSV))
	if err != nil {
		t.Fatal(err)
	}
	if want := hkdfHMAC(salt, "comet/manifest/v2 file digest", []byte(goldenCSV)); file != want {
		t.Errorf("file digest %s, want %s", file, want)
	}
	streamed := NewFileDigest(salt)
	streamed.Write([]byte(goldenCSV[:5]))
	streamed.Write([]byte(goldenCSV[5:]))
	if got := hex.EncodeToString(streamed.Sum(nil)); got != file {
		t.Errorf("streamed file digest %s, want %s", got, file)
	}

	sum := sha256.Sum256([]byte(goldenCSV))
	corpus, err := CorpusDigest(salt, hex.EncodeToString(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	if want := hkdfHMAC(salt, "comet/manifest/v2 corpus digest", sum[:]); corpus != want {
		t.Errorf("corpus digest %s, want %s", corpus, want)
	}
	if corpus == file {
		t.Error("the two labels give the same key")
	}
	other := salt
	other[31] ^= 1
	if again, _ := FileDigest(other, strings.NewReader(goldenCSV)); again == file {
		t.Error("another salt gives the same file digest")
	}
	for _, bad := range []string{"", strings.Repeat("AB", 32), strings.Repeat("ab", 31), strings.Repeat("zz", 32)} {
		if _, err := CorpusDigest(salt, bad); err == nil {
			t.Errorf("CorpusDigest(%q) accepted", bad)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	private, _ := goldenManifest(f).Marshal()
	public, _ := goldenPublicManifest(f).Marshal()
	f.Add(private)
	f.Add(public)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"n": -1, "chunk_rows": 0}`))
	f.Add([]byte(`{"format": "comet.manifest/v1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			if !errors.Is(err, ErrManifest) {
				t.Fatalf("error %v is not ErrManifest", err)
			}
			return
		}
		again, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseManifest(again)
		if err != nil {
			t.Fatalf("re-marshalled manifest does not parse: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(m, back) {
			t.Fatalf("re-marshalled manifest parses differently:\n%+v\n%+v", m, back)
		}
	})
}
