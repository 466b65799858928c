package featurize

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// Lexicon is a versioned list of phrase categories whose match counts become features
// "lex_<category>", in category order. A phrase is lower-case tokens separated by single
// spaces; a token ending in "*" matches any token that starts with the rest.
type Lexicon struct {
	Name       string     `json:"name"`
	Categories []Category `json:"categories"`
}

// Category is one lexicon feature and its phrases.
type Category struct {
	Name    string   `json:"name"`
	Phrases []string `json:"phrases"`
}

// Lexicon names accepted by Config.Lexicon.
const (
	LexiconClaudetteEN1 = "claudette-en-1"
	LexiconNone         = "none"
)

// lexiconByName returns a fresh copy of a built-in lexicon.
func lexiconByName(name string) (Lexicon, error) {
	switch name {
	case LexiconClaudetteEN1:
		return ClaudetteEN1(), nil
	case LexiconNone:
		return Lexicon{Name: LexiconNone}, nil
	}
	return Lexicon{}, fmt.Errorf("%w: unknown lexicon %q (known: %s, %s)", ErrSpec, name, LexiconClaudetteEN1, LexiconNone)
}

// ClaudetteEN1 is the lexicon "claudette-en-1": English cue phrases for the nine CLAUDETTE
// categories of potentially unfair clauses in terms of service (Lippi et al. 2019; privacy
// included from Drawzeski et al. 2021) and one category of unilateral-discretion markers
// that several of them share. The phrases were written from the category definitions,
// not fitted to the corpus. Any change to this list is a new lexicon name: its SHA-256
// enters the featurizer spec, so a silent edit changes the spec id.
func ClaudetteEN1() Lexicon {
	return Lexicon{Name: LexiconClaudetteEN1, Categories: []Category{
		{"arbitration", []string{ // a
			"arbitrat*", "class action", "class actions", "jury trial", "trial by jury",
			"small claims", "dispute resolution", "mediation", "binding", "individual basis",
		}},
		{"change", []string{ // ch
			"modif*", "amend*", "revis*", "change these", "change the terms", "changes to these",
			"changes to the terms", "changes to this", "from time to time", "continued use",
			"continue to use", "posting", "updated", "update these",
		}},
		{"content_removal", []string{ // cr
			"remov*", "delet*", "disable access", "take down", "takedown", "refuse to post",
			"moderat*", "your content", "user content", "any content",
		}},
		{"jurisdiction", []string{ // j
			"jurisdiction*", "court", "courts", "venue", "forum", "submit to", "competent",
			"located in",
		}},
		{"law", []string{ // law
			"governed by", "laws of", "law of", "governing law", "conflict of laws",
			"conflicts of law", "construed in accordance", "without regard to", "state of",
		}},
		{"liability", []string{ // ltd
			"liab*", "not be responsible", "not responsible", "damages", "indirect",
			"consequential", "incidental", "punitive", "as is", "as available", "warrant*",
			"disclaim*", "in no event", "to the extent permitted", "maximum extent",
			"lost profits", "indemnif*", "negligence",
		}},
		{"termination", []string{ // ter
			"terminat*", "suspend*", "suspension", "discontinu*", "cancel*", "deactivat*",
			"close your account", "disable your account", "restrict access",
		}},
		{"use", []string{ // use
			"by using", "by accessing", "by continuing", "you agree", "you accept",
			"agree to be bound", "constitutes acceptance", "acceptance of", "by clicking",
			"by registering", "you acknowledge",
		}},
		{"privacy", []string{ // pinc
			"privacy*", "personal data", "personal information", "incorporated", "by reference",
			"cookie*", "data policy",
		}},
		{"discretion", []string{ // shared by ch, cr, ter: unilateral power
			"discretion", "at any time", "without notice", "without prior notice",
			"without further notice", "for any reason", "reserve the right",
			"reserves the right", "we may", "we can",
		}},
	}}
}

// SHA256 is the lower-case hex SHA-256 of the lexicon's compact JSON,
// {"name":...,"categories":[{"name":...,"phrases":[...]},...]}, in list order.
func (l Lexicon) SHA256() (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil {
		return "", fmt.Errorf("lexicon %s: %w", l.Name, err)
	}
	sum := sha256.Sum256(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	return hex.EncodeToString(sum[:]), nil
}

// pattern is one compiled phrase: its tokens, whether each is a prefix, and its category.
type pattern struct {
	toks   [][]byte
	prefix []bool
	cat    int
}

// matcher counts phrase occurrences in a token sequence.
type matcher struct {
	pats      []pattern
	byFirst   map[string][]int // patterns whose first token is exact, by that token
	wildFirst [256][]int       // patterns whose first token is a prefix, by its first byte
	cats      int
}

// compile checks every phrase's form and indexes the patterns by first token.
func (l Lexicon) compile() (*matcher, error) {
	m := &matcher{byFirst: map[string][]int{}, cats: len(l.Categories)}
	seenCat := map[string]bool{}
	for c, cat := range l.Categories {
		if !paramKey(cat.Name) || seenCat[cat.Name] {
			return nil, fmt.Errorf("%w: lexicon %s: bad or repeated category name %q", ErrSpec, l.Name, cat.Name)
		}
		seenCat[cat.Name] = true
		seen := map[string]bool{}
		for _, ph := range cat.Phrases {
			p, err := compilePhrase(ph)
			if err != nil || seen[ph] {
				return nil, fmt.Errorf("%w: lexicon %s, category %s: phrase %q is malformed or repeated", ErrSpec, l.Name, cat.Name, ph)
			}
			seen[ph] = true
			p.cat = c
			i := len(m.pats)
			m.pats = append(m.pats, p)
			if p.prefix[0] {
				b := p.toks[0][0]
				m.wildFirst[b] = append(m.wildFirst[b], i)
			} else {
				m.byFirst[string(p.toks[0])] = append(m.byFirst[string(p.toks[0])], i)
			}
		}
	}
	return m, nil
}

// compilePhrase splits a phrase on single spaces; each token, less a final "*", must be
// exactly one lower-case token as Tokenize makes it.
func compilePhrase(ph string) (pattern, error) {
	var p pattern
	for _, tok := range strings.Split(ph, " ") {
		prefix := strings.HasSuffix(tok, "*")
		tok = strings.TrimSuffix(tok, "*")
		if got := Tokenize(tok, true); len(got) != 1 || got[0] != tok {
			return pattern{}, fmt.Errorf("%w: phrase %q", ErrSpec, ph)
		}
		p.toks = append(p.toks, []byte(tok))
		p.prefix = append(p.prefix, prefix)
	}
	return p, nil
}

// count adds to dst[c] the number of (start position, phrase) pairs of category c whose
// phrase matches the tokens beginning at that position. Overlapping matches all count.
func (m *matcher) count(t *tokens, dst []int64) {
	n := t.len()
	for i := range n {
		tok := t.at(i)
		for _, k := range m.byFirst[string(tok)] {
			if m.pats[k].matches(t, i) {
				dst[m.pats[k].cat]++
			}
		}
		for _, k := range m.wildFirst[tok[0]] {
			if m.pats[k].matches(t, i) {
				dst[m.pats[k].cat]++
			}
		}
	}
}

func (p *pattern) matches(t *tokens, i int) bool {
	if i+len(p.toks) > t.len() {
		return false
	}
	for j, want := range p.toks {
		got := t.at(i + j)
		if p.prefix[j] && !bytes.HasPrefix(got, want) || !p.prefix[j] && !bytes.Equal(got, want) {
			return false
		}
	}
	return true
}
