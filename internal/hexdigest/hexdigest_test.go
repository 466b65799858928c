package hexdigest

import (
	"regexp"
	"strings"
	"testing"
)

// Valid accepts exactly what the regular expression it replaced accepted.
func TestValid(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{64}$`)
	good := strings.Repeat("0123456789abcdef", 4)
	for _, s := range []string{good, "", good[:63], good + "0", strings.ToUpper(good), good[:63] + "g", good[:63] + "\n", "\n" + good[1:], good[:32] + " " + good[33:]} {
		if Valid(s) != re.MatchString(s) {
			t.Errorf("Valid(%q) = %v", s, Valid(s))
		}
	}
}
