package web

import (
	"fmt"
	"strings"
	"unicode"
)

// isBidiControl reports the characters that change the direction of the text around them
// (the embeddings, overrides and isolates, U+202A–U+202E and U+2066–U+2069, and the marks
// U+200E, U+200F and U+061C): in a provider's string they could make the page read
// otherwise than it is written.
func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x061C
}

func invisible(r rune) bool {
	return isBidiControl(r) || (unicode.IsControl(r) && r != '\t' && r != '\n')
}

// clean shows a provider-supplied string as it is: every bidirectional control, and any
// other control character but tab and newline, is replaced by a visible marker such as
// [U+202E], so that a name cannot reorder what is shown around it. Templates also wrap
// provider strings in <bdi>, which isolates what remains (right-to-left letters).
func clean(s string) string {
	if !strings.ContainsFunc(s, invisible) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if invisible(r) {
			fmt.Fprintf(&b, "[U+%04X]", r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}
