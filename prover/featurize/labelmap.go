package featurize

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

var (
	// ErrLabelMap means a label map is malformed: a pair that is not FROM=TO, a value that
	// is not a decimal number, or one FROM given twice.
	ErrLabelMap = errors.New("invalid label map")
	// ErrUnmappedLabel means a label cell holds a value the label map does not map.
	ErrUnmappedLabel = errors.New("label value not in the label map")
)

// LabelPair rewrites the label value From to To; both are decimal numbers.
type LabelPair struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// LabelMap rewrites labels, in the order the provider gave the pairs. A classifier needs
// its labels as ±1 in fixed point (the sign of the score is the prediction) while corpora
// often label 0/1, so the featurizer maps them on the way through and records the mapping.
type LabelMap []LabelPair

// ParseLabelMap reads "FROM=TO,FROM=TO", for example "0=-1,1=1", and validates it.
func ParseLabelMap(s string) (LabelMap, error) {
	var m LabelMap
	for item := range strings.SplitSeq(s, ",") {
		from, to, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("%w: %q is not FROM=TO", ErrLabelMap, item)
		}
		m = append(m, LabelPair{From: strings.Trim(from, " \t"), To: strings.Trim(to, " \t")})
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// String is the map in ParseLabelMap's syntax.
func (m LabelMap) String() string {
	parts := make([]string, len(m))
	for i, p := range m {
		parts[i] = p.From + "=" + p.To
	}
	return strings.Join(parts, ",")
}

// Validate checks that the map has pairs, that every value is a decimal number and that no
// two FROM values are the same number ("1" and "1.0" are): a label would otherwise have two
// images.
func (m LabelMap) Validate() error {
	_, err := m.lookup()
	return err
}

// labelLookup finds a label's image by its numeric value, so that "1.0" in the corpus
// matches a map written "1=…".
type labelLookup map[string]string

func (m LabelMap) lookup() (labelLookup, error) {
	if len(m) == 0 {
		return nil, fmt.Errorf("%w: no pairs", ErrLabelMap)
	}
	l := make(labelLookup, len(m))
	for _, p := range m {
		for _, v := range []string{p.From, p.To} {
			if err := checkLabel(v); err != nil {
				return nil, fmt.Errorf("%w: %s=%s: %q: %w", ErrLabelMap, p.From, p.To, v, err)
			}
		}
		key := decimalKey(p.From)
		if _, dup := l[key]; dup {
			return nil, fmt.Errorf("%w: label %s is mapped twice", ErrLabelMap, p.From)
		}
		l[key] = p.To
	}
	return l, nil
}

// apply maps a label that checkLabel accepted.
func (l labelLookup) apply(label string) (string, error) {
	if to, ok := l[decimalKey(label)]; ok {
		return to, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnmappedLabel, label)
}

// decimalKey is a canonical form of a decimal number that checkLabel accepted: equal numbers
// get equal keys. It works on the digits rather than through big.Rat, whose parsing of an
// exponent such as 1e999999999 would take unbounded time and memory.
func decimalKey(s string) string {
	sign := ""
	switch {
	case strings.HasPrefix(s, "-"):
		sign, s = "-", s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp, _ = strconv.Atoi(s[i+1:]) // checkLabel accepted it, so it is an int
		s = s[:i]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	exp -= len(frac)
	trimmed := strings.TrimRight(digits, "0")
	exp += len(digits) - len(trimmed)
	if trimmed == "" {
		return "0"
	}
	return sign + trimmed + "e" + strconv.Itoa(exp)
}
