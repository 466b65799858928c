package featurize

import (
	"encoding/json"
	"errors"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
)

// refHash is the hash column an n-gram goes to, computed with hash/fnv as an independent
// reference for the inline FNV-1a in Featurizer.
func refHash(ngram string, buckets int) (col int, sign int64) {
	h := fnv.New64a()
	h.Write([]byte(ngram))
	v := h.Sum64()
	sign = 1
	if v>>63 == 1 {
		sign = -1
	}
	return int(v % uint64(buckets)), sign
}

func mustNew(t testing.TB, cfg Config) *Featurizer {
	t.Helper()
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestHashFeatures(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		text   string
		ngrams []string // every n-gram occurrence the text yields under cfg
	}{
		{"unigrams", Config{Buckets: 16, NGramMin: 1, NGramMax: 1, Weighting: Count, Lowercase: true, Lexicon: LexiconNone},
			"We may, at ANY time, terminate.", []string{"we", "may", "at", "any", "time", "terminate"}},
		{"unigrams and bigrams", Config{Buckets: 7, NGramMin: 1, NGramMax: 2, Weighting: Count, Lowercase: true, Lexicon: LexiconNone},
			"sole discretion sole", []string{"sole", "discretion", "sole", "sole discretion", "discretion sole"}},
		{"trigrams only, case kept", Config{Buckets: 5, NGramMin: 3, NGramMax: 3, Weighting: Count, Lowercase: false, Lexicon: LexiconNone},
			"Not Liable for any", []string{"Not Liable for", "Liable for any"}},
		{"binary counts a repeat once", Config{Buckets: 3, NGramMin: 1, NGramMax: 1, Weighting: Binary, Lowercase: true, Lexicon: LexiconNone},
			"fee FEE fee tax", []string{"fee", "tax"}},
		{"too short for the n-gram", Config{Buckets: 4, NGramMin: 2, NGramMax: 3, Weighting: Count, Lowercase: true, Lexicon: LexiconNone},
			"Hello", nil},
		{"one bucket", Config{Buckets: 1, NGramMin: 1, NGramMax: 2, Weighting: Count, Lowercase: true, Lexicon: LexiconNone},
			"a b c", []string{"a", "b", "c", "a b", "b c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustNew(t, tt.cfg)
			want := make([]int64, tt.cfg.Buckets)
			for _, g := range tt.ngrams {
				col, sign := refHash(g, tt.cfg.Buckets)
				want[col] += sign
			}
			got := f.Append(nil, tt.text)
			if !slices.Equal(got[:tt.cfg.Buckets], want) {
				t.Errorf("hash columns %v, want %v", got[:tt.cfg.Buckets], want)
			}
			if len(got) != f.D() || f.D() != tt.cfg.Buckets+2 {
				t.Errorf("len %d, D %d", len(got), f.D())
			}
		})
	}
}

// Pinned values: a change to tokenising, hashing or the lexicon shows here, and these are
// the test vectors of docs/featurize.md.
func TestVectors(t *testing.T) {
	f := mustNew(t, DefaultConfig())
	names := f.Names()
	texts := []string{
		"",
		"We may terminate your account at any time, in our sole discretion, without notice.",
		"These Terms are governed by the laws of Ireland.",
		"  Amazon is not liable for indirect damages.\t",
	}
	got := map[string]map[string]int64{} // text → every non-zero feature
	for _, text := range texts {
		v := f.Append(nil, text)
		m := map[string]int64{}
		for j, x := range v {
			if x != 0 {
				m[names[j]] = x
			}
		}
		got[text] = m
	}
	b, _ := json.MarshalIndent(got, "", "  ")
	goldenCompare(t, "vectors.golden.json", append(b, '\n'))
	if len(got[""]) != 0 {
		t.Errorf("empty text has features %v", got[""])
	}
	m := got[texts[1]]
	if m["lex_termination"] != 1 || m["lex_discretion"] != 4 || m["len_tokens"] != 14 || m["len_chars"] != 82 {
		t.Errorf("termination sentence: %v", m)
	}
	m = got[texts[3]]
	if m["len_chars"] != 42 || m["lex_liability"] != 3 {
		t.Errorf("trimmed length or liability count: %v", m)
	}
}

func TestNames(t *testing.T) {
	f := mustNew(t, DefaultConfig())
	names := f.Names()
	if f.D() != 64+10+2 || names[0] != "h000" || names[63] != "h063" || names[64] != "lex_arbitration" ||
		names[f.D()-2] != "len_tokens" || names[f.D()-1] != "len_chars" {
		t.Errorf("names %v", names)
	}
	cfg := DefaultConfig()
	cfg.Buckets = 4096
	if n := mustNew(t, cfg).Names(); n[0] != "h0000" || n[4095] != "h4095" {
		t.Errorf("wide names %s … %s", n[0], n[4095])
	}
	cfg.Buckets, cfg.Lexicon = 0, LexiconNone
	if n := mustNew(t, cfg).Names(); !slices.Equal(n, []string{"len_tokens", "len_chars"}) {
		t.Errorf("no buckets, no lexicon: %v", n)
	}
}

func TestSpec(t *testing.T) {
	s := mustNew(t, DefaultConfig()).Spec()
	c, err := s.CanonicalJSON()
	if err != nil {
		t.Fatal(err)
	}
	// The canonical form is what encoding/json gives for the validated character set.
	if std, _ := json.Marshal(s); string(std) != string(c) {
		t.Errorf("canonical %s\njson      %s", c, std)
	}
	lex, _ := ClaudetteEN1().SHA256()
	want := `{"name":"comet-legal-hash","version":"1","params":{"buckets":"64","hash":"fnv1a64",` +
		`"lexicon":"claudette-en-1","lexicon_sha256":"` + lex + `","lowercase":"true","ngram_max":"2",` +
		`"ngram_min":"1","tokenizer":"unicode-letter-number-mark","unicode":"` + unicode.Version + `","weighting":"count"}}`
	if string(c) != want {
		t.Errorf("canonical spec\n%s\nwant\n%s", c, want)
	}
	goldenCompare(t, "spec.golden.json", append(c, '\n'))
	id, err := s.ID()
	if err != nil || len(id) != 64 {
		t.Fatalf("id %q %v", id, err)
	}

	// Round trip through JSON and FromSpec.
	b, _ := json.Marshal(s)
	back, err := ParseSpec(b)
	if err != nil {
		t.Fatal(err)
	}
	f, err := FromSpec(back)
	if err != nil {
		t.Fatal(err)
	}
	if id2, _ := f.Spec().ID(); id2 != id {
		t.Errorf("id after round trip %s, want %s", id2, id)
	}
	// The returned spec is a copy.
	s.Params["buckets"] = "1"
	if mustNew(t, DefaultConfig()).Spec().Params["buckets"] != "64" || f.Spec().Params["buckets"] != "64" {
		t.Error("Spec shares its params map")
	}
}

func TestFromSpecRejects(t *testing.T) {
	base := mustNew(t, DefaultConfig()).Spec()
	edit := func(fn func(p map[string]string)) Spec {
		s := mustNew(t, DefaultConfig()).Spec()
		fn(s.Params)
		return s
	}
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"other name", Spec{Name: "other", Version: "1", Params: base.Params}, "not implemented"},
		{"other version", Spec{Name: Name, Version: "2", Params: base.Params}, "not implemented"},
		{"other unicode", edit(func(p map[string]string) { p["unicode"] = "9.0.0" }), "parameter unicode"},
		{"edited lexicon", edit(func(p map[string]string) { p["lexicon_sha256"] = strings.Repeat("0", 64) }), "parameter lexicon_sha256"},
		{"unknown param", edit(func(p map[string]string) { p["stem"] = "true" }), "parameter stem"},
		{"missing param", edit(func(p map[string]string) { delete(p, "hash") }), "parameter hash"},
		{"other hash", edit(func(p map[string]string) { p["hash"] = "crc32" }), "parameter hash"},
		{"bad buckets", edit(func(p map[string]string) { p["buckets"] = "many" }), "buckets -1"},
		{"bad lowercase", edit(func(p map[string]string) { p["lowercase"] = "yes" }), "parameter lowercase"},
		{"unknown lexicon", edit(func(p map[string]string) { p["lexicon"] = "mine" }), "unknown lexicon"},
		{"quote in value", edit(func(p map[string]string) { p["weighting"] = `"` }), "printable ASCII"},
		{"upper-case key", edit(func(p map[string]string) { p["Buckets"] = "1" }), "[a-z0-9_]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromSpec(tt.spec)
			if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want ErrSpec containing %q", err, tt.want)
			}
		})
	}
	if _, err := ParseSpec([]byte(`{"name":"comet-legal-hash","version":"1","params":{},"extra":1}`)); !errors.Is(err, ErrSpec) {
		t.Errorf("unknown field: %v", err)
	}
}

func TestConfigRejects(t *testing.T) {
	tests := []func(*Config){
		func(c *Config) { c.Buckets = -1 },
		func(c *Config) { c.Buckets = MaxBuckets + 1 },
		func(c *Config) { c.NGramMin = 0 },
		func(c *Config) { c.NGramMin, c.NGramMax = 3, 2 },
		func(c *Config) { c.NGramMax = MaxNGram + 1 },
		func(c *Config) { c.Weighting = "tfidf" },
		func(c *Config) { c.Lexicon = "" },
	}
	for i, edit := range tests {
		cfg := DefaultConfig()
		edit(&cfg)
		if _, err := New(cfg); !errors.Is(err, ErrSpec) {
			t.Errorf("case %d (%+v): err %v, want ErrSpec", i, cfg, err)
		}
	}
}

// Lexicon matching ignores the Lowercase setting; hashing follows it.
func TestLowercaseOff(t *testing.T) {
	on := mustNew(t, DefaultConfig())
	cfg := DefaultConfig()
	cfg.Lowercase = false
	off := mustNew(t, cfg)
	text := "ARBITRATION Arbitration arbitration"
	a, b := on.Append(nil, text), off.Append(nil, text)
	if !slices.Equal(a[64:], b[64:]) || a[64] != 3 {
		t.Errorf("lexicon and length: lowercase %v, not %v", a[64:], b[64:])
	}
	if slices.Equal(a[:64], b[:64]) {
		t.Error("hash columns ignore Lowercase")
	}
}

// Append reuses pooled scratch space; concurrent calls must not disturb each other, and
// appending to a non-empty slice must leave its prefix alone.
func TestAppendConcurrentAndPrefix(t *testing.T) {
	f := mustNew(t, DefaultConfig())
	texts := []string{"We may terminate at any time.", "Governed by the laws of Sweden.", "", "x"}
	want := make([][]int64, len(texts))
	for i, s := range texts {
		want[i] = f.Append(nil, s)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for k := range 200 {
				i := (g + k) % len(texts)
				got := f.Append([]int64{42}, texts[i])
				if got[0] != 42 || !slices.Equal(got[1:], want[i]) {
					t.Errorf("goroutine %d text %d: %v", g, i, got)
					return
				}
			}
		})
	}
	wg.Wait()
}
