package featurize

import (
	"errors"
	"slices"
	"testing"
)

func TestClaudetteLexiconForm(t *testing.T) {
	l := ClaudetteEN1()
	if _, err := l.compile(); err != nil {
		t.Fatal(err)
	}
	most := 0
	for _, c := range l.Categories {
		most = max(most, len(c.Phrases))
	}
	// Featurizer.Append and docs/featurize.md state this bound on the lexicon counts.
	if most != 18 {
		t.Errorf("largest category has %d phrases; update the bound in Append's comment and the docs", most)
	}
	sum, err := l.SHA256()
	if err != nil {
		t.Fatal(err)
	}
	goldenCompare(t, "lexicon.golden.sha256", []byte(sum+"\n"))
}

func TestLexiconRejects(t *testing.T) {
	tests := []Lexicon{
		{Name: "x", Categories: []Category{{"a", []string{"Upper"}}}},
		{Name: "x", Categories: []Category{{"a", []string{"two  spaces"}}}},
		{Name: "x", Categories: []Category{{"a", []string{"e-mail"}}}},
		{Name: "x", Categories: []Category{{"a", []string{""}}}},
		{Name: "x", Categories: []Category{{"a", []string{"*"}}}},
		{Name: "x", Categories: []Category{{"a", []string{"dup", "dup"}}}},
		{Name: "x", Categories: []Category{{"a", nil}, {"a", nil}}},
		{Name: "x", Categories: []Category{{"Bad-Name", nil}}},
	}
	for _, l := range tests {
		if _, err := l.compile(); !errors.Is(err, ErrSpec) {
			t.Errorf("%+v: err %v, want ErrSpec", l.Categories, err)
		}
	}
}

func TestLexiconCount(t *testing.T) {
	l := Lexicon{Name: "t", Categories: []Category{
		{"one", []string{"at any time", "any"}},
		{"two", []string{"terminat*", "not liab* for"}},
	}}
	m, err := l.compile()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text string
		want []int64
	}{
		{"", []int64{0, 0}},
		{"At ANY time, any time at any", []int64{4, 0}},               // overlapping matches all count
		{"terminate; Termination, terminat, terminal", []int64{0, 3}}, // "terminal" is not "terminat…"
		{"we are not liable for it, not liability for, not liable to", []int64{0, 2}},
		{"at any", []int64{1, 0}}, // a phrase cut short by the end of the text
		{"preterminate", []int64{0, 0}},
	}
	for _, tt := range tests {
		var tk tokens
		tk.split(tt.text, true)
		got := make([]int64, 2)
		m.count(&tk, got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q: %v, want %v", tt.text, got, tt.want)
		}
	}
}
