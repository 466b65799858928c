package featurize

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// MaxVocabulary bounds a featurizer's vocabulary.
const MaxVocabulary = 1 << 12

// vocabulary is a featurizer's terms and the column of each.
type vocabulary struct {
	terms []string
	col   map[string]int
}

// newVocabulary checks that every term is one distinct token as the tokenizer makes it.
func newVocabulary(terms []string, lowercase bool) (vocabulary, error) {
	if len(terms) > MaxVocabulary {
		return vocabulary{}, fmt.Errorf("%w: vocabulary of %d terms, at most %d", ErrSpec, len(terms), MaxVocabulary)
	}
	v := vocabulary{terms: terms, col: make(map[string]int, len(terms))}
	for i, t := range terms {
		if toks := Tokenize(t, lowercase); len(toks) != 1 || toks[0] != t {
			return vocabulary{}, fmt.Errorf("%w: vocabulary term %d %q is not one token as the tokenizer gives it (lowercase %v)", ErrSpec, i+1, t, lowercase)
		}
		if j, dup := v.col[t]; dup {
			return vocabulary{}, fmt.Errorf("%w: vocabulary term %q is both term %d and %d", ErrSpec, t, j+1, i+1)
		}
		v.col[t] = i
	}
	return v, nil
}

// names are the terms' column names.
func (v vocabulary) names() []string {
	width := max(3, len(strconv.Itoa(len(v.terms)-1)))
	out := make([]string, len(v.terms))
	for i, t := range v.terms {
		if plainName(t) {
			out[i] = "w_" + t
		} else {
			out[i] = fmt.Sprintf("w%0*d", width, i)
		}
	}
	return out
}

func plainName(t string) bool {
	for i := 0; i < len(t); i++ {
		if c := t[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return t != ""
}

// count adds each term's occurrences in toks to cols (1 for any number when binary).
func (v vocabulary) count(toks *tokens, binary bool, cols []int64) {
	if len(v.terms) == 0 {
		return
	}
	for i := range toks.len() {
		j, ok := v.col[string(toks.at(i))]
		if !ok || (binary && cols[j] > 0) {
			continue
		}
		cols[j]++
	}
}

// param is the vocabulary as the spec records it: the terms in column order, each
// query-escaped (so that any token is printable ASCII without quotes), joined by spaces.
func (v vocabulary) param() string {
	esc := make([]string, len(v.terms))
	for i, t := range v.terms {
		esc[i] = url.QueryEscape(t)
	}
	return strings.Join(esc, " ")
}

// parseVocabularyParam reads param's form back; "" is no vocabulary.
func parseVocabularyParam(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	fields := strings.Split(s, " ")
	out := make([]string, len(fields))
	for i, f := range fields {
		t, err := url.QueryUnescape(f)
		if err != nil {
			return nil, fmt.Errorf("%w: vocabulary term %d: %w", ErrSpec, i+1, err)
		}
		out[i] = t
	}
	return out, nil
}
