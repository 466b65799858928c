package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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
	text, label, out string
	keep             []string
	cfg              featurize.Config
	weighting        string
}

func newDatasetFeaturizeCmd() *cobra.Command {
	f := featurizeFlags{cfg: featurize.DefaultConfig()}
	cmd := &cobra.Command{
		Use:     "featurize docs.csv --text text --label unfair [--keep document,line] --out features.csv",
		Short:   "Turn a CSV of legal texts into a CSV of integer features ready to commit",
		Example: "  comet dataset featurize clauses.csv --text sentence --label unfair --keep document,line --out features.csv\n  comet dataset commit features.csv --label unfair --exclude document,line --salt-file data.salt",
		Long: `Reads the CSV once, streaming, and writes one row per document: the kept identifier
columns, the features of the text column (docs/featurize.md: signed hashed token n-grams,
legal lexicon counts, lengths; all integers) and the label. Beside the output it writes the
featurization record, named like the output with the extension .featurizer.json
(features.featurizer.json for features.csv): the featurizer's spec and id, the SHA-256 of the
input and of the output, and the row count. comet dataset commit finds it there and puts the
featurizer and a digest of the corpus keyed from the salt into the manifest; the record itself
holds plain digests of private files, so keep it private.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDatasetFeaturize(cmd.Context(), cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.text, "text", "", "text column (required)")
	fl.StringVar(&f.label, "label", "", "label column, copied after the features (omit for unlabelled documents)")
	fl.StringSliceVar(&f.keep, "keep", nil, "identifier columns copied before the features, such as document,line")
	fl.IntVar(&f.cfg.Buckets, "buckets", f.cfg.Buckets, fmt.Sprintf("hashed feature columns, 0 to %d", featurize.MaxBuckets))
	fl.IntVar(&f.cfg.NGramMin, "ngram-min", f.cfg.NGramMin, "shortest token n-gram hashed")
	fl.IntVar(&f.cfg.NGramMax, "ngram-max", f.cfg.NGramMax, fmt.Sprintf("longest token n-gram hashed, at most %d", featurize.MaxNGram))
	fl.StringVar(&f.weighting, "weighting", string(f.cfg.Weighting), "hash column values: count (every occurrence) or binary (each distinct n-gram once)")
	fl.BoolVar(&f.cfg.Lowercase, "lowercase", f.cfg.Lowercase, "lower-case tokens before hashing (the lexicon always matches lower-cased)")
	fl.StringVar(&f.cfg.Lexicon, "lexicon", f.cfg.Lexicon, "lexicon: "+featurize.LexiconClaudetteEN1+" or "+featurize.LexiconNone)
	fl.StringVar(&f.out, "out", "", "features CSV to write (default: <docs>.features.csv)")
	_ = cmd.MarkFlagRequired("text")
	return cmd
}

func runDatasetFeaturize(ctx context.Context, cmd *cobra.Command, path string, f featurizeFlags) error {
	f.cfg.Weighting = featurize.Weighting(f.weighting)
	fz, err := featurize.New(f.cfg)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if f.out == "" {
		f.out = strings.TrimSuffix(path, filepath.Ext(path)) + ".features.csv"
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
	if outInfo, err := os.Stat(f.out); err == nil && os.SameFile(info, outInfo) {
		return usageErrorf("--out %s would overwrite the input", f.out)
	}
	bar := newProgress(info.Size(), "featurizing")
	inDigest, outDigest := sha256.New(), sha256.New()
	opts := featurize.CSVOptions{Text: f.text, Label: f.label, Keep: f.keep}
	var res featurize.CSVResult
	err = atomicfile.Write(f.out, 0o644, func(w io.Writer) error {
		var err error
		res, err = fz.TransformCSV(ctx, io.MultiWriter(w, outDigest), io.TeeReader(progressReader(file, bar), inDigest), opts)
		return err
	})
	if err != nil {
		return fmt.Errorf("documents %s: %w", path, err)
	}
	_ = bar.Finish()
	rec, err := fz.NewRecord(
		featurize.FileRef{File: filepath.Base(path), SHA256: hex.EncodeToString(inDigest.Sum(nil))},
		featurize.FileRef{File: filepath.Base(f.out), SHA256: hex.EncodeToString(outDigest.Sum(nil))},
		opts, res)
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
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "featurized %d rows → %d features (%s version %s, id %s)\n", res.Rows, fz.D(), rec.Featurizer.Name, rec.Featurizer.Version, rec.FeaturizerID)
	fmt.Fprintf(out, "features   %s\n", f.out)
	fmt.Fprintf(out, "record     %s (plain digests of the corpus and features: keep it private)\n", recPath)
	if f.label != "" {
		next := "comet dataset commit " + f.out + " --label " + f.label
		if len(f.keep) > 0 {
			next += " --exclude " + strings.Join(f.keep, ",")
		}
		fmt.Fprintf(out, "next       %s --salt-file <private salt>\n", next)
	}
	return nil
}
