package featurize

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestVocabularyColumns(t *testing.T) {
	cfg := Config{NGramMin: 1, NGramMax: 1, Weighting: Count, Lowercase: true, Lexicon: LexiconNone,
		Vocabulary: []string{"arbitration", "terminate", "ünilateral"}}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.Names(), []string{"w_arbitration", "w_terminate", "w002", "len_tokens", "len_chars"}; !slices.Equal(got, want) {
		t.Fatalf("names %v, want %v", got, want)
	}
	text := "We may TERMINATE, terminate or Ünilateral change; arbitration."
	if got := f.Append(nil, text); !slices.Equal(got[:3], []int64{1, 2, 1}) {
		t.Errorf("count weighting: %v", got[:3])
	}
	cfg.Weighting = Binary
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Append(nil, text); !slices.Equal(got[:3], []int64{1, 1, 1}) {
		t.Errorf("binary weighting: %v", got[:3])
	}
	// The spec carries the vocabulary, escaped to printable ASCII, and rebuilds the featurizer.
	spec := b.Spec()
	if err := spec.Validate(); err != nil || !strings.Contains(spec.Params["vocabulary"], "%C3%BC") {
		t.Fatalf("spec %v: %v", spec.Params["vocabulary"], err)
	}
	again, err := FromSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.Config().Vocabulary, cfg.Vocabulary) || !slices.Equal(again.Append(nil, text), b.Append(nil, text)) {
		t.Errorf("rebuilt from its spec: %v", again.Config().Vocabulary)
	}
	spec.Params["vocabulary"] = strings.Replace(spec.Params["vocabulary"], "terminate", "cancel", 1)
	if g, err := FromSpec(spec); err != nil || g.Names()[1] != "w_cancel" {
		t.Errorf("another vocabulary is another featurizer, rebuilt as such: %v", err)
	}
	// Without a vocabulary the spec has no such parameter: earlier records stay valid.
	if _, ok := mustNew(t, DefaultConfig()).Spec().Params["vocabulary"]; ok {
		t.Error("a featurizer without a vocabulary records one")
	}

	for _, c := range []struct {
		name  string
		terms []string
		lower bool
		want  string
	}{
		{"two tokens", []string{"may terminate"}, true, "not one token"},
		{"not lower-cased", []string{"Terminate"}, true, "not one token"},
		{"punctuation", []string{"terminate,"}, true, "not one token"},
		{"repeated", []string{"a", "b", "a"}, true, `"a" is both term 1 and 3`},
		{"empty", []string{""}, true, "not one token"},
	} {
		_, err := New(Config{NGramMin: 1, NGramMax: 1, Weighting: Count, Lowercase: c.lower, Lexicon: LexiconNone, Vocabulary: c.terms})
		if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestSelectVocabulary(t *testing.T) {
	docs := "id,text,label,fold\n" +
		"1,We may terminate your account,1,1\n" +
		"2,We may terminate at any time,1,1\n" +
		"3,You may read the terms,0,1\n" +
		"4,Read the terms carefully,0,1\n" +
		"5,The terms apply,0,1\n" +
		"6,Arbitration arbitration arbitration,1,0\n" + // a test row: never seen
		"7,Arbitration clause,1,0\n"
	opts := VocabularyOptions{Docs: CSVOptions{Text: "text", Label: "label", SplitBy: "fold", Test: []string{"0"}}, Size: 2, MinDocs: 2, Lowercase: true}
	got, err := SelectVocabulary(context.Background(), strings.NewReader(docs), opts)
	if err != nil {
		t.Fatal(err)
	}
	// "terminate" and "we" are in both positives and no negative; "terms" and "the" in
	// every negative: equal chi-squared, ties by term.
	var names []string
	for _, g := range got {
		names = append(names, g.Term)
	}
	if !slices.Equal(names, []string{"terminate", "terms"}) || got[0].Positive != 2 || got[0].Negative != 0 {
		t.Fatalf("chose %+v", got)
	}
	for _, c := range []struct {
		name string
		edit func(*VocabularyOptions)
		want string
	}{
		{"no label", func(o *VocabularyOptions) { o.Docs.Label = "" }, "needs a label"},
		{"size 0", func(o *VocabularyOptions) { o.Size = 0 }, "vocabulary size 0"},
		{"one class", func(o *VocabularyOptions) { o.Docs.Test = []string{"1"} }, "both labels"},
		{"no such column", func(o *VocabularyOptions) { o.Docs.Text = "body" }, `text column "body"`},
	} {
		o := opts
		c.edit(&o)
		if _, err := SelectVocabulary(context.Background(), strings.NewReader(docs), o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
