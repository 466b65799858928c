package featurize

import (
	"slices"
	"testing"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		text  string
		lower bool
		want  []string
	}{
		{"", true, []string{}},
		{"  \t ", true, []string{}},
		{"We may terminate THIS Agreement.", true, []string{"we", "may", "terminate", "this", "agreement"}},
		{"We may terminate THIS Agreement.", false, []string{"We", "may", "terminate", "THIS", "Agreement"}},
		{"company's don't e-mail", true, []string{"company", "s", "don", "t", "e", "mail"}},
		{"section 14.2(b) §7 ½ x²", true, []string{"section", "14", "2", "b", "7", "½", "x²"}},
		{"snake_case and tab\tsplit", true, []string{"snake", "case", "and", "tab", "split"}},
		{"ÉCOLE Straße İstanbul ΣΟΦΊΑΣ", true, []string{"école", "straße", "istanbul", "σοφίασ"}}, // simple mappings: no dotted i, no final sigma
		{"cafe\u0301 naïve", true, []string{"cafe\u0301", "naïve"}},                               // the combining acute stays in the token
		{"日本語の規約 and 中文", true, []string{"日本語の規約", "and", "中文"}},                                  // no word segmentation of scripts without spaces
		{"bad\xffbyte\xc3", true, []string{"bad", "byte"}},                                        // invalid UTF-8 separates
		{"arbitration\u00a0clause\u2003here", true, []string{"arbitration", "clause", "here"}},    // Unicode spaces
		{"emoji🙂between", true, []string{"emoji", "between"}},
	}
	for _, tt := range tests {
		if got := Tokenize(tt.text, tt.lower); !slices.Equal(got, tt.want) {
			t.Errorf("Tokenize(%q, %v) = %q, want %q", tt.text, tt.lower, got, tt.want)
		}
	}
}

// The ASCII fast path must agree with the Unicode tables it stands in for.
func TestTokenRuneASCII(t *testing.T) {
	for r := rune(0); r < 0x80; r++ {
		slow := isTokenRuneUnicode(r)
		if isTokenRune(r) != slow {
			t.Errorf("isTokenRune(%q) = %v, unicode says %v", r, !slow, slow)
		}
	}
}
