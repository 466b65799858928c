package featurize

import (
	"unicode"
	"unicode/utf8"
)

// isTokenRune reports whether r belongs to a token: a letter (L*), a number (N*) or a mark
// (M*) in the Unicode tables of the Go release (unicode.Version). Everything else,
// including the U+FFFD that an invalid UTF-8 byte decodes to, separates tokens.
func isTokenRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return isTokenRuneUnicode(r)
}

func isTokenRuneUnicode(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)
}

// tokens is one text's tokens, stored without a string per token: token i is
// buf[ends[i-1]:ends[i]]. It is reused across texts to keep featurizing allocation-free.
type tokens struct {
	buf  []byte
	ends []int
}

// split replaces t's contents with the tokens of text, each code point mapped with
// unicode.ToLower when lower is set.
func (t *tokens) split(text string, lower bool) {
	t.buf, t.ends = t.buf[:0], t.ends[:0]
	in := false
	for _, r := range text {
		if !isTokenRune(r) {
			if in {
				t.ends = append(t.ends, len(t.buf))
				in = false
			}
			continue
		}
		if lower {
			r = unicode.ToLower(r)
		}
		t.buf = utf8.AppendRune(t.buf, r)
		in = true
	}
	if in {
		t.ends = append(t.ends, len(t.buf))
	}
}

func (t *tokens) len() int { return len(t.ends) }

func (t *tokens) at(i int) []byte {
	start := 0
	if i > 0 {
		start = t.ends[i-1]
	}
	return t.buf[start:t.ends[i]]
}

// Tokenize returns the tokens of text as the featurizer sees them: maximal runs of letters,
// numbers and combining marks, each code point lower-cased with unicode.ToLower when
// lowercase is set (docs/featurize.md). Invalid UTF-8 bytes separate tokens.
func Tokenize(text string, lowercase bool) []string {
	var t tokens
	t.split(text, lowercase)
	out := make([]string, t.len())
	for i := range out {
		out[i] = string(t.at(i))
	}
	return out
}
