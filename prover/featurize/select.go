package featurize

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// VocabularyOptions choose a vocabulary from labelled documents (SelectVocabulary).
type VocabularyOptions struct {
	// Docs names the text and label columns; with SplitBy and Test, the rows whose split cell
	// is a test value are left out, so that the choice never sees the test set.
	Docs CSVOptions
	// Size is the number of terms to choose, 1 to MaxVocabulary.
	Size int
	// MinDocs leaves out terms that occur in fewer training documents: a rare term's
	// association with the label is noise, and publishing it says more about the documents.
	MinDocs int
	// Lowercase lower-cases tokens, as the featurizer that uses the vocabulary must.
	Lowercase bool
}

// Term is a chosen term with the counts it was chosen by.
type Term struct {
	Term string
	// Positive and Negative count the training documents that contain the term among those
	// whose label is above 0 and the others.
	Positive, Negative int
	// Chi2 is the chi-squared statistic of the term's presence against the label.
	Chi2 float64
}

// SelectVocabulary reads a CSV of labelled documents and returns the Size tokens whose
// presence is most associated with the label (largest chi-squared of the 2×2 table of
// presence against label > 0), most associated first, ties by term: the vocabulary of a
// featurizer (Config.Vocabulary) for a linear classifier. The choice depends on the
// training documents, so the published vocabulary tells which terms occur in them at least
// MinDocs times; choose it from public documents when the training set is private.
func SelectVocabulary(ctx context.Context, src io.Reader, o VocabularyOptions) ([]Term, error) {
	switch {
	case o.Size < 1 || o.Size > MaxVocabulary:
		return nil, fmt.Errorf("%w: vocabulary size %d not in [1, %d]", ErrSpec, o.Size, MaxVocabulary)
	case o.Docs.Text == "":
		return nil, ErrNoText
	case o.Docs.Label == "":
		return nil, fmt.Errorf("%w: choosing a vocabulary needs a label column", ErrSpec)
	case o.Docs.SplitBy != "":
		if err := checkTestValues(o.Docs.Test); err != nil {
			return nil, err
		}
	}
	var labels labelLookup
	if o.Docs.LabelMap != nil {
		var err error
		if labels, err = o.Docs.LabelMap.lookup(); err != nil {
			return nil, err
		}
	}
	isTest := make(map[string]bool, len(o.Docs.Test))
	for _, v := range o.Docs.Test {
		isTest[v] = true
	}
	type counts struct{ pos, neg int }
	df := map[string]*counts{}
	var pos, neg int
	var toks tokens
	seen := map[string]bool{}
	err := scanDocuments(ctx, src, o.Docs, func(*documents) error { return nil }, func(d *documents, row int, in []string) error {
		if d.cols.split >= 0 && isTest[strings.Trim(in[d.cols.split], " \t")] {
			return nil
		}
		text, err := d.text(row, in)
		if err != nil {
			return err
		}
		label, err := d.label(row, in, labels)
		if err != nil {
			return err
		}
		v, err := strconv.ParseFloat(label, 64)
		if err != nil {
			return cellError(d.cr, row, d.header, d.cols.label, err)
		}
		positive := v > 0
		if positive {
			pos++
		} else {
			neg++
		}
		toks.split(text, o.Lowercase)
		clear(seen)
		for i := range toks.len() {
			t := string(toks.at(i))
			if seen[t] {
				continue
			}
			seen[t] = true
			c := df[t]
			if c == nil {
				c = &counts{}
				df[t] = c
			}
			if positive {
				c.pos++
			} else {
				c.neg++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if pos == 0 || neg == 0 {
		return nil, fmt.Errorf("%w: the training documents need both labels above 0 and not (%d and %d)", ErrSpec, pos, neg)
	}
	terms := make([]Term, 0, len(df))
	for t, c := range df {
		if c.pos+c.neg < o.MinDocs {
			continue
		}
		terms = append(terms, Term{Term: t, Positive: c.pos, Negative: c.neg, Chi2: chi2(c.pos, c.neg, pos-c.pos, neg-c.neg)})
	}
	slices.SortFunc(terms, func(a, b Term) int {
		if c := cmp.Compare(b.Chi2, a.Chi2); c != 0 {
			return c
		}
		return strings.Compare(a.Term, b.Term)
	})
	if len(terms) > o.Size {
		terms = terms[:o.Size]
	}
	return terms, nil
}

// chi2 is the chi-squared statistic of the 2×2 table [[a, b], [c, d]] (present positive,
// present negative; absent positive, absent negative).
func chi2(a, b, c, d int) float64 {
	fa, fb, fc, fd := float64(a), float64(b), float64(c), float64(d)
	den := (fa + fb) * (fc + fd) * (fa + fc) * (fb + fd)
	if den == 0 {
		return 0
	}
	x := fa*fd - fb*fc
	return (fa + fb + fc + fd) * x * x / den
}
