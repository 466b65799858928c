package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/comet-attest/comet/internal/atomicfile"
	"github.com/comet-attest/comet/prover/featurize"
	"github.com/comet-attest/comet/prover/pipeline"
)

type featurizeFlags struct {
	text, label, out  string
	labelMap, splitBy string
	keep, test        []string
	cfg               featurize.Config
	weighting         string
	vocabulary        string
}

func newDatasetFeaturizeCmd() *cobra.Command {
	f := featurizeFlags{cfg: featurize.DefaultConfig()}
	cmd := &cobra.Command{
		Use:   "featurize docs.csv --text text --label unfair [--label-map 0=-1,1=1] [--keep document,line] [--split-by fold --test 0] --out features.csv",
		Short: "Turn a CSV of legal texts into a CSV of integer features ready to commit",
		Example: `  comet dataset featurize clauses.csv --text sentence --label unfair --keep document,line --out features.csv
  comet dataset commit features.csv --label unfair --exclude document,line --salt-file data.salt

  # labels 0/1 to -1/+1 for a classifier, fold 0 held out: features.train.csv, features.test.csv
  comet dataset featurize clauses.csv --text text --label unfair --label-map 0=-1,1=1 \
      --split-by test_fold --test 0 --keep document,line --out features.csv
  comet dataset commit features.train.csv --label unfair --exclude document,line --salt-file train.salt
  comet dataset commit features.test.csv --label unfair --exclude document,line --salt-file test.salt`,
		Long: `Reads the CSV once, streaming, and writes one row per document: the kept identifier
columns, the features of the text column (docs/featurize.md: the terms of a --vocabulary,
signed hashed token n-grams, legal lexicon counts, lengths; all integers) and the label. Beside the output it writes the
featurization record, named like the output with the extension .featurizer.json
(features.featurizer.json for features.csv): the featurizer's spec and id, the SHA-256 of the
input and of the output, and the row count. comet dataset commit finds it there and puts the
featurizer and a digest of the corpus keyed from the salt into the manifest; the record itself
holds plain digests of private files, so keep it private.

--label-map FROM=TO,... rewrites the labels (0=-1,1=1 gives a classifier its ±1 labels); a
label the map does not name is an error, and the record states the map.

--split-by COLUMN --test VALUES writes two outputs in the same pass: the rows whose COLUMN is
one of VALUES to features.test.csv, the others to features.train.csv (for --out
features.csv), with one record, features.featurizer.json, describing both. The split column
is not a feature and is copied only if --keep names it. comet dataset commit of either part
finds that record and says in the manifest which part it committed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDatasetFeaturize(cmd.Context(), cmd, args[0], f)
		},
	}
	addDocumentFlags(cmd, &f, "label column, copied after the features (omit for unlabelled documents)",
		"column that splits the rows into a training and a test output (with --test)")
	fl := cmd.Flags()
	fl.StringSliceVar(&f.keep, "keep", nil, "identifier columns copied before the features, such as document,line")
	fl.StringVar(&f.vocabulary, "vocabulary", "", "a file of terms, one per line (comet dataset vocabulary): one column each, before the hashed ones")
	fl.IntVar(&f.cfg.Buckets, "buckets", f.cfg.Buckets, fmt.Sprintf("hashed feature columns, 0 to %d", featurize.MaxBuckets))
	fl.IntVar(&f.cfg.NGramMin, "ngram-min", f.cfg.NGramMin, "shortest token n-gram hashed")
	fl.IntVar(&f.cfg.NGramMax, "ngram-max", f.cfg.NGramMax, fmt.Sprintf("longest token n-gram hashed, at most %d", featurize.MaxNGram))
	fl.StringVar(&f.weighting, "weighting", string(f.cfg.Weighting), "hash column values: count (every occurrence) or binary (each distinct n-gram once)")
	fl.BoolVar(&f.cfg.Lowercase, "lowercase", f.cfg.Lowercase, "lower-case tokens before hashing (the lexicon always matches lower-cased)")
	fl.StringVar(&f.cfg.Lexicon, "lexicon", f.cfg.Lexicon, "lexicon: "+featurize.LexiconClaudetteEN1+" or "+featurize.LexiconNone)
	fl.StringVar(&f.out, "out", "", "features CSV to write (default: <docs>.features.csv); with --split-by, its .train and .test variants")
	return cmd
}

// addDocumentFlags adds the flags that say how to read a CSV of documents: its text and
// label columns, a label map and a split.
func addDocumentFlags(cmd *cobra.Command, f *featurizeFlags, label, splitBy string) {
	fl := cmd.Flags()
	fl.StringVar(&f.text, "text", "", "text column (required)")
	fl.StringVar(&f.label, "label", "", label)
	fl.StringVar(&f.labelMap, "label-map", "", "rewrite labels, FROM=TO pairs such as 0=-1,1=1; a label not named is an error")
	fl.StringVar(&f.splitBy, "split-by", "", splitBy)
	fl.StringSliceVar(&f.test, "test", nil, "values of the --split-by column that make a row a test row, such as 0 or 0,1")
	_ = cmd.MarkFlagRequired("text")
}

// csvOptions checks the flags that only make sense together and turns them into options.
func (f featurizeFlags) csvOptions() (featurize.CSVOptions, error) {
	opts := featurize.CSVOptions{Text: f.text, Label: f.label, Keep: f.keep, SplitBy: f.splitBy}
	for _, v := range f.test {
		opts.Test = append(opts.Test, strings.Trim(v, " \t")) // --test "0, 1" means 0 and 1
	}
	switch {
	case f.labelMap != "" && f.label == "":
		return opts, usageErrorf("--label-map needs --label")
	case f.splitBy != "" && len(f.test) == 0:
		return opts, usageErrorf("--split-by needs --test, the values that make a row a test row")
	case f.splitBy == "" && len(f.test) > 0:
		return opts, usageErrorf("--test needs --split-by, the column it refers to")
	}
	if f.labelMap != "" {
		m, err := featurize.ParseLabelMap(f.labelMap)
		if err != nil {
			return opts, usageErrorf("--label-map: %v", err)
		}
		opts.LabelMap = m
	}
	return opts, nil
}

// featuresOut is one features file being written, with the digest of what went into it.
type featuresOut struct {
	path   string
	digest hash.Hash
}

func (o featuresOut) ref() featurize.FileRef {
	return featurize.FileRef{File: filepath.Base(o.path), SHA256: hex.EncodeToString(o.digest.Sum(nil))}
}

// writeFeatures writes every output atomically, calling write with their writers once all
// are open; a failure leaves none of the new files.
func writeFeatures(outs []featuresOut, write func(ws []io.Writer) error) error {
	ws := make([]io.Writer, 0, len(outs))
	var placed []string // inner outputs already renamed into place
	var open func(i int) error
	open = func(i int) error {
		if i == len(outs) {
			return write(ws)
		}
		err := atomicfile.Write(outs[i].path, 0o644, func(w io.Writer) error {
			ws = append(ws, io.MultiWriter(w, outs[i].digest))
			return open(i + 1)
		})
		if err == nil && i > 0 {
			placed = append(placed, outs[i].path)
		}
		return err
	}
	err := open(0)
	if err != nil {
		for _, p := range placed {
			// The outer output failed after this one was in place: a part alone is no split.
			err = errors.Join(err, os.Remove(p))
		}
	}
	return err
}

func runDatasetFeaturize(ctx context.Context, cmd *cobra.Command, path string, f featurizeFlags) error {
	f.cfg.Weighting = featurize.Weighting(f.weighting)
	if f.vocabulary != "" {
		terms, err := readVocabulary(f.vocabulary)
		if err != nil {
			return err
		}
		f.cfg.Vocabulary = terms
	}
	fz, err := featurize.New(f.cfg)
	if err != nil {
		return usageErrorf("%v", err)
	}
	opts, err := f.csvOptions()
	if err != nil {
		return err
	}
	if f.out == "" {
		f.out = strings.TrimSuffix(path, filepath.Ext(path)) + ".features.csv"
	}
	outs := []featuresOut{{path: f.out, digest: sha256.New()}}
	if f.splitBy != "" {
		train, test := pipeline.SplitPaths(f.out)
		outs = []featuresOut{{path: train, digest: sha256.New()}, {path: test, digest: sha256.New()}}
	}
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open documents: %w", err)
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return fmt.Errorf("open documents: %w", err)
	}
	for _, o := range outs {
		if outInfo, err := os.Stat(o.path); err == nil && os.SameFile(info, outInfo) {
			return usageErrorf("--out %s would overwrite the input", o.path)
		}
	}
	bar := newProgress(info.Size(), "featurizing")
	inDigest := sha256.New()
	src := io.TeeReader(progressReader(file, bar), inDigest)
	var res featurize.CSVResult
	err = writeFeatures(outs, func(ws []io.Writer) error {
		var err error
		if len(ws) == 2 {
			res, err = fz.SplitCSV(ctx, ws[0], ws[1], src, opts)
		} else {
			res, err = fz.TransformCSV(ctx, ws[0], src, opts)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("documents %s: %w", path, err)
	}
	_ = bar.Finish()
	input := featurize.FileRef{File: filepath.Base(path), SHA256: hex.EncodeToString(inDigest.Sum(nil))}
	var rec *featurize.Record
	if len(outs) == 2 {
		rec, err = fz.NewSplitRecord(input, outs[0].ref(), outs[1].ref(), opts, res)
	} else {
		rec, err = fz.NewRecord(input, outs[0].ref(), opts, res)
	}
	if err != nil {
		return err
	}
	b, err := rec.Marshal()
	if err != nil {
		return err
	}
	recPath := pipeline.RecordPath(f.out)
	if err := atomicfile.WriteFile(recPath, b, 0o644); err != nil {
		return err
	}
	printFeaturize(cmd.OutOrStdout(), f, fz, rec, outs, recPath)
	return nil
}

func printFeaturize(out io.Writer, f featurizeFlags, fz *featurize.Featurizer, rec *featurize.Record, outs []featuresOut, recPath string) {
	fmt.Fprintf(out, "featurized %d rows → %d features (%s version %s, id %s)\n", rec.Rows, fz.D(), rec.Featurizer.Name, rec.Featurizer.Version, rec.FeaturizerID)
	if rec.LabelMap != nil {
		fmt.Fprintf(out, "labels     %s mapped %s\n", rec.LabelColumn, rec.LabelMap)
	}
	if s := rec.Split; s != nil {
		values := strings.Join(s.TestValues, ", ")
		fmt.Fprintf(out, "train      %s (%s, %s not in {%s})\n", outs[0].path, count(s.Train.Rows, "row"), s.Column, values)
		fmt.Fprintf(out, "test       %s (%s, %s in {%s})\n", outs[1].path, count(s.Test.Rows, "row"), s.Column, values)
	} else {
		fmt.Fprintf(out, "features   %s\n", f.out)
	}
	fmt.Fprintf(out, "record     %s (plain digests of the corpus and features: keep it private)\n", recPath)
	if f.label == "" {
		return
	}
	for _, o := range outs {
		next := "comet dataset commit " + o.path + " --label " + f.label
		if len(f.keep) > 0 {
			next += " --exclude " + strings.Join(f.keep, ",")
		}
		fmt.Fprintf(out, "next       %s --salt-file <private salt>\n", next)
	}
}
