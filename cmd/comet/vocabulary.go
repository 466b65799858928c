package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/comet-attest/comet/internal/atomicfile"
	"github.com/comet-attest/comet/prover/featurize"
)

func newDatasetVocabularyCmd() *cobra.Command {
	var f featurizeFlags
	var size, minDocs int
	lowercase := true
	cmd := &cobra.Command{
		Use:   "vocabulary docs.csv --text text --label unfair [--split-by fold --test 0] --size 116 --out vocab.txt",
		Short: "Choose the terms most associated with the label, for comet dataset featurize --vocabulary",
		Example: `  comet dataset vocabulary claudette.csv --text text --label unfair --split-by test_fold --test 0 \
      --size 116 --out vocab.txt
  comet dataset featurize claudette.csv --text text --label unfair --vocabulary vocab.txt --buckets 0 ...`,
		Long: `Reads a CSV of labelled documents and writes the --size tokens whose presence is most
associated with the label (chi-squared of presence against label > 0), one per line, most
associated first. With --split-by and --test the test rows are left out, so that the choice
never sees the test set.

A vocabulary column is one term, where a hashed column mixes every word that hashes to it: for a
linear classifier, a few hundred chosen terms do better than as many hashed columns. The
vocabulary becomes part of the featurizer's public spec, so it tells which terms occur at least
--min-docs times in the documents it was chosen from: choose it from public documents when the
training set is private (docs/featurize.md).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.label == "" {
				return usageErrorf("--label is required: terms are chosen by their association with it")
			}
			if f.out == "" {
				return usageErrorf("--out is required")
			}
			opts, err := f.csvOptions()
			if err != nil {
				return err
			}
			file, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("open documents: %w", err)
			}
			defer file.Close()
			terms, err := featurize.SelectVocabulary(cmd.Context(), file, featurize.VocabularyOptions{Docs: opts, Size: size, MinDocs: minDocs, Lowercase: lowercase})
			if err != nil {
				return fmt.Errorf("documents %s: %w", args[0], err)
			}
			var b bytes.Buffer
			for _, t := range terms {
				fmt.Fprintln(&b, t.Term)
			}
			if err := atomicfile.WriteFile(f.out, b.Bytes(), 0o644); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "chose %d terms → %s\n", len(terms), f.out)
			for i, t := range terms[:min(len(terms), 10)] {
				fmt.Fprintf(out, "%3d  %-20s in %d positive and %d other documents (chi² %.1f)\n", i+1, t.Term, t.Positive, t.Negative, t.Chi2)
			}
			return nil
		},
	}
	addDocumentFlags(cmd, &f, "label column the terms are chosen by (required)", "column that holds out rows from the choice (with --test)")
	fl := cmd.Flags()
	fl.IntVar(&size, "size", 0, fmt.Sprintf("terms to choose, 1 to %d (required)", featurize.MaxVocabulary))
	fl.IntVar(&minDocs, "min-docs", 5, "leave out terms in fewer documents")
	fl.BoolVar(&lowercase, "lowercase", true, "lower-case tokens, as comet dataset featurize does by default")
	fl.StringVar(&f.out, "out", "", "vocabulary file to write (required)")
	_ = cmd.MarkFlagRequired("size")
	return cmd
}

// readVocabulary reads a vocabulary file: one term per line, blank lines ignored.
func readVocabulary(path string) ([]string, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, usageErrorf("--vocabulary: %v", err)
	}
	defer file.Close()
	var terms []string
	sc := bufio.NewScanner(io.LimitReader(file, 1<<20))
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			terms = append(terms, t)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, usageErrorf("--vocabulary %s: %v", path, err)
	}
	return terms, nil
}
