package featurize

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Name and Version of the featurizer this package implements.
const (
	Name    = "comet-legal-hash"
	Version = "1"
)

// Fixed parts of version 1, recorded in the spec so that it says everything.
const (
	hashName      = "fnv1a64"
	tokenizerName = "unicode-letter-number-mark"
)

// Bounds of a valid Config.
const (
	MaxBuckets = 1 << 16
	MaxNGram   = 4
)

// Weighting says how the n-grams of one text add up in a hash column.
type Weighting string

const (
	// Count adds the sign of every n-gram occurrence.
	Count Weighting = "count"
	// Binary adds the sign of every distinct 64-bit n-gram hash once.
	Binary Weighting = "binary"
)

// Config holds the parameters of a featurizer.
type Config struct {
	// Buckets is the number of hashed columns h000…, 0 to MaxBuckets.
	Buckets int
	// NGramMin and NGramMax bound the token n-grams that are hashed: 1 ≤ min ≤ max ≤ MaxNGram.
	NGramMin, NGramMax int
	// Weighting is Count or Binary.
	Weighting Weighting
	// Lowercase maps every token code point through unicode.ToLower before hashing.
	// Lexicon matching always uses lower-cased tokens.
	Lowercase bool
	// Lexicon names a built-in lexicon (LexiconClaudetteEN1) or LexiconNone.
	Lexicon string
	// Vocabulary, when not empty, adds one column per term, before the hashed ones: the
	// term's occurrences among the text's tokens (Weighting Count) or 1 if it occurs at all
	// (Binary). Terms are single tokens as the tokenizer makes them (lower-cased when
	// Lowercase), distinct, at most MaxVocabulary. Unlike hashed columns, terms never share
	// a column: a vocabulary chosen for the task (comet dataset vocabulary) gives a better
	// model per feature than hashing, whose collisions mix unrelated words.
	Vocabulary []string
}

// DefaultConfig is what `comet dataset featurize` uses when no flags are given.
func DefaultConfig() Config {
	return Config{Buckets: 64, NGramMin: 1, NGramMax: 2, Weighting: Count, Lowercase: true, Lexicon: LexiconClaudetteEN1}
}

// Featurizer turns a text into a fixed-length vector of integers (docs/featurize.md). It is
// immutable and safe for concurrent use.
type Featurizer struct {
	cfg     Config
	spec    Spec
	lexicon Lexicon
	match   *matcher
	vocab   vocabulary
	names   []string
	scratch sync.Pool // *scratch
}

type scratch struct {
	toks, lower tokens
	hashes      []uint64
}

// New checks cfg and builds the featurizer.
func New(cfg Config) (*Featurizer, error) {
	switch {
	case cfg.Buckets < 0 || cfg.Buckets > MaxBuckets:
		return nil, fmt.Errorf("%w: buckets %d not in [0, %d]", ErrSpec, cfg.Buckets, MaxBuckets)
	case cfg.NGramMin < 1 || cfg.NGramMin > cfg.NGramMax || cfg.NGramMax > MaxNGram:
		return nil, fmt.Errorf("%w: n-gram range %d..%d not within 1..%d", ErrSpec, cfg.NGramMin, cfg.NGramMax, MaxNGram)
	case cfg.Weighting != Count && cfg.Weighting != Binary:
		return nil, fmt.Errorf("%w: weighting %q is neither %q nor %q", ErrSpec, cfg.Weighting, Count, Binary)
	}
	vocab, err := newVocabulary(cfg.Vocabulary, cfg.Lowercase)
	if err != nil {
		return nil, err
	}
	lex, err := lexiconByName(cfg.Lexicon)
	if err != nil {
		return nil, err
	}
	m, err := lex.compile()
	if err != nil {
		return nil, err
	}
	f := &Featurizer{cfg: cfg, lexicon: lex, match: m, vocab: vocab}
	f.scratch.New = func() any { return new(scratch) }
	f.names = vocab.names()
	width := max(3, len(strconv.Itoa(cfg.Buckets-1)))
	for j := range cfg.Buckets {
		f.names = append(f.names, fmt.Sprintf("h%0*d", width, j))
	}
	for _, c := range lex.Categories {
		f.names = append(f.names, "lex_"+c.Name)
	}
	f.names = append(f.names, "len_tokens", "len_chars")
	f.spec = Spec{Name: Name, Version: Version, Params: map[string]string{
		"buckets":   strconv.Itoa(cfg.Buckets),
		"ngram_min": strconv.Itoa(cfg.NGramMin),
		"ngram_max": strconv.Itoa(cfg.NGramMax),
		"weighting": string(cfg.Weighting),
		"lowercase": strconv.FormatBool(cfg.Lowercase),
		"lexicon":   lex.Name,
		"hash":      hashName,
		"tokenizer": tokenizerName,
		"unicode":   unicode.Version,
	}}
	if len(lex.Categories) > 0 {
		sum, err := lex.SHA256()
		if err != nil {
			return nil, err
		}
		f.spec.Params["lexicon_sha256"] = sum
	}
	if len(vocab.terms) > 0 {
		f.spec.Params["vocabulary"] = vocab.param()
	}
	return f, nil
}

// FromSpec rebuilds the featurizer that a recorded spec names. It refuses a spec of another
// name or version, with missing, unknown or altered parameters, or made with other Unicode
// tables than this build's: each of those could give different features for the same text.
func FromSpec(s Spec) (*Featurizer, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.Name != Name || s.Version != Version {
		return nil, fmt.Errorf("%w: featurizer %s version %s is not implemented (this is %s version %s)", ErrSpec, s.Name, s.Version, Name, Version)
	}
	p := s.Params
	atoi := func(key string) int {
		v, err := strconv.Atoi(p[key])
		if err != nil {
			return -1 // New rejects it, and the comparison below names the parameter
		}
		return v
	}
	lower, _ := strconv.ParseBool(p["lowercase"])
	vocab, err := parseVocabularyParam(p["vocabulary"])
	if err != nil {
		return nil, err
	}
	f, err := New(Config{
		Buckets: atoi("buckets"), NGramMin: atoi("ngram_min"), NGramMax: atoi("ngram_max"),
		Weighting: Weighting(p["weighting"]), Lowercase: lower, Lexicon: p["lexicon"], Vocabulary: vocab,
	})
	if err != nil {
		return nil, err
	}
	want := f.spec.Params
	keys := make([]string, 0, len(p)+len(want))
	for k := range p {
		keys = append(keys, k)
	}
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		if p[k] != want[k] {
			return nil, fmt.Errorf("%w: parameter %s is %q, this build gives %q", ErrSpec, k, p[k], want[k])
		}
	}
	return f, nil
}

// Spec returns the featurizer's spec; the caller may modify the copy.
func (f *Featurizer) Spec() Spec {
	s := f.spec
	s.Params = make(map[string]string, len(f.spec.Params))
	for k, v := range f.spec.Params {
		s.Params[k] = v
	}
	return s
}

// Config returns the parameters the featurizer was built with.
func (f *Featurizer) Config() Config { return f.cfg }

// Names returns the feature names in vector order: w_<term> (or w<index> for a term that is
// not [a-z0-9_]) per vocabulary term, h000… (Buckets of them), lex_<category> per lexicon
// category, len_tokens, len_chars.
func (f *Featurizer) Names() []string { return slices.Clone(f.names) }

// D returns the number of features.
func (f *Featurizer) D() int { return len(f.names) }

// FNV-1a 64 parameters, the same as hash/fnv New64a (offset basis and prime of draft-eastlake-fnv).
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// Append appends the D() features of text to dst and returns the extended slice. Every
// value is an integer of magnitude at most K·runes(text), K being the larger of the number
// of n-gram orders and the most phrases in one lexicon category (18 for claudette-en-1): a
// fixed-point format with that many integer bits holds it exactly.
func (f *Featurizer) Append(dst []int64, text string) []int64 {
	s := f.scratch.Get().(*scratch)
	defer f.scratch.Put(s)
	s.toks.split(text, f.cfg.Lowercase)
	lower := &s.toks
	if !f.cfg.Lowercase && len(f.lexicon.Categories) > 0 {
		s.lower.split(text, true)
		lower = &s.lower
	}
	start := len(dst)
	dst = slices.Grow(dst, f.D())[:start+f.D()]
	clear(dst[start:])
	v := len(f.vocab.terms)
	f.vocab.count(&s.toks, f.cfg.Weighting == Binary, dst[start:start+v])
	f.hash(s, dst[start+v:start+v+f.cfg.Buckets])
	f.match.count(lower, dst[start+v+f.cfg.Buckets:])
	dst[start+f.D()-2] = int64(s.toks.len())
	dst[start+f.D()-1] = int64(utf8.RuneCountInString(strings.TrimSpace(text)))
	return dst
}

// hash adds the signed n-gram hashes into cols. The n-gram is its tokens' UTF-8 bytes
// joined by single spaces; its hash h is FNV-1a 64 of those bytes; it goes to column
// h mod buckets with sign + when bit 63 of h is 0 and - when it is 1.
func (f *Featurizer) hash(s *scratch, cols []int64) {
	if len(cols) == 0 {
		return
	}
	s.hashes = s.hashes[:0]
	t := &s.toks
	for n := f.cfg.NGramMin; n <= f.cfg.NGramMax; n++ {
		for i := 0; i+n <= t.len(); i++ {
			h := uint64(fnvOffset64)
			for k := range n {
				if k > 0 {
					h = (h ^ ' ') * fnvPrime64
				}
				for _, c := range t.at(i + k) {
					h = (h ^ uint64(c)) * fnvPrime64
				}
			}
			s.hashes = append(s.hashes, h)
		}
	}
	if f.cfg.Weighting == Binary {
		slices.Sort(s.hashes)
		s.hashes = slices.Compact(s.hashes)
	}
	buckets := uint64(len(cols))
	for _, h := range s.hashes {
		if h>>63 == 0 {
			cols[h%buckets]++
		} else {
			cols[h%buckets]--
		}
	}
}
