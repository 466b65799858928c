package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/comet-attest/comet/internal/atomicfile"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/featurize"
	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/pipeline"
)

func newDatasetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dataset",
		Short: "Featurize legal text, commit to a training dataset, verify and inspect manifests",
	}
	cmd.AddCommand(newDatasetFeaturizeCmd(), newDatasetVocabularyCmd(), newDatasetCommitCmd(), newDatasetVerifyCmd(), newDatasetInspectCmd())
	return cmd
}

// noRecord is the --featurizer-record value that commits without one even when a record
// lies beside the data.
const noRecord = "none"

type commitFlags struct {
	label, out, saltFile, record string
	features, exclude            []string
	format                       fixedpoint.Format
	chunkRows                    int
	public                       bool
}

func newDatasetCommitCmd() *cobra.Command {
	var f commitFlags
	cmd := &cobra.Command{
		Use:     "commit data.csv --label y --salt-file data.salt --out data.manifest.json",
		Short:   "Commit to a CSV dataset: writes the manifest and keeps the salt private",
		Example: "  comet dataset commit data.csv --label y --exclude id --salt-file data.salt --out data.manifest.json",
		Long: `Reads the CSV once, rounds every feature and label value to fixed point, and computes the
hiding dataset commitment (docs/commitment.md) and a digest of the file keyed from the salt.
The manifest (docs/manifest.md) is private by default: it holds no plain digest of the data and
no salt, so it can be published without letting anyone test guesses of the rows. The salt file
(created with mode 0600 when absent, reused when present) must stay with the data.

--public declares the dataset public: the manifest then also carries the file's SHA-256 and the
salt, so that anyone holding the public file can recompute everything.

When the CSV came from comet dataset featurize, the featurizer's name, version, parameters and a
keyed digest of the corpus go into the manifest; the record is found beside the CSV
(<data>.featurizer.json, or features.featurizer.json for the parts features.train.csv and
features.test.csv of a split) or named with --featurizer-record, and must be the record of
this file; for a split part the manifest says which part it is.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDatasetCommit(cmd.Context(), cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.label, "label", "", "label column (required)")
	fl.StringSliceVar(&f.features, "features", nil, "feature columns in order (default: every other column)")
	fl.StringSliceVar(&f.exclude, "exclude", nil, "columns to leave out when --features is not given, such as identifiers")
	fl.IntVar(&f.format.FractionBits, "fraction-bits", fixedpoint.Default.FractionBits, "fixed-point fraction bits f")
	fl.IntVar(&f.format.ValueBits, "value-bits", fixedpoint.Default.ValueBits, "fixed-point value bits b, sign included")
	fl.IntVar(&f.chunkRows, "chunk-rows", 0, fmt.Sprintf("rows per chunk, 1 to %d (default: 1024, or for fewer rows the next power of two ≥ n, at least 8)", commitment.MaxChunkRows))
	fl.StringVar(&f.saltFile, "salt-file", "", "private salt file, created when absent (required)")
	fl.StringVar(&f.out, "out", "", "manifest to write (default: <data>.manifest.json)")
	fl.BoolVar(&f.public, "public", false, "declare the dataset public: publish the file's SHA-256 and the salt in the manifest")
	fl.StringVar(&f.record, "featurizer-record", "", "featurization record of this CSV (default: <data>.featurizer.json when it exists; "+noRecord+" for no record)")
	_ = cmd.MarkFlagRequired("label")
	_ = cmd.MarkFlagRequired("salt-file")
	return cmd
}

func runDatasetCommit(ctx context.Context, cmd *cobra.Command, path string, f commitFlags) error {
	if err := f.format.Validate(); err != nil {
		return usageErrorf("--fraction-bits/--value-bits: %v", err)
	}
	if f.chunkRows < 0 || f.chunkRows > commitment.MaxChunkRows {
		return usageErrorf("--chunk-rows %d not in [1, %d]", f.chunkRows, commitment.MaxChunkRows)
	}
	if f.out == "" {
		f.out = strings.TrimSuffix(path, filepath.Ext(path)) + ".manifest.json"
	}
	rec, recPath, found, err := loadRecord(path, f.record)
	if err != nil {
		return err
	}
	salt, created, err := commitment.LoadOrNewSalt(f.saltFile)
	if err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("open dataset: %w", err)
	}
	bar := newProgress(info.Size(), "committing")
	m, err := pipeline.Commit(ctx, path, pipeline.CommitOptions{
		Label: f.label, Features: f.features, Exclude: f.exclude, Format: f.format, ChunkRows: f.chunkRows,
		Salt: salt, Public: f.public, Featurizer: rec,
		Progress: func(read int64) { _ = bar.Set64(read) },
	})
	if errors.Is(err, pipeline.ErrRecord) && found {
		return fmt.Errorf("%w (record %s, found beside the data; pass --featurizer-record %s to commit without it)", err, recPath, noRecord)
	}
	if err != nil {
		return err
	}
	_ = bar.Finish()
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	// The salt is kept only with a manifest made with it: a failed commit leaves neither.
	if created {
		if err := commitment.WriteSalt(f.saltFile, salt); err != nil {
			return err
		}
	}
	if err := atomicfile.WriteFile(f.out, b, 0o644); err != nil {
		if created {
			err = errors.Join(err, os.Remove(f.saltFile))
		}
		return err
	}
	printCommit(cmd.OutOrStdout(), m, f, recPath, found, created)
	return nil
}

// loadRecord finds the featurization record to commit with: the one --featurizer-record
// names, none for "none", or else the one `comet dataset featurize` wrote beside the CSV
// (for a split part, the split's one record), if any (found says so).
func loadRecord(csvPath, flag string) (rec *featurize.Record, path string, found bool, err error) {
	switch flag {
	case noRecord:
		return nil, "", false, nil
	case "":
		if path, found, err = pipeline.FindRecord(csvPath); err != nil || !found {
			return nil, "", false, err
		}
	default:
		path = flag
	}
	rec, err = featurize.LoadRecord(path)
	return rec, path, found, err
}

func printCommit(out io.Writer, m *commitment.Manifest, f commitFlags, recPath string, found, created bool) {
	fmt.Fprintf(out, "committed %s × %s (%s, %s of %d rows)\n", count(m.N, "row"), count(m.D, "feature"), m.Format(), count(len(m.ChunkCommitments), "chunk"), m.ChunkRows)
	fmt.Fprintf(out, "commitment %s\n", m.Commitment)
	if m.Public {
		fmt.Fprintf(out, "manifest   %s (public: it carries the file's SHA-256 and the salt)\n", f.out)
	} else {
		fmt.Fprintf(out, "manifest   %s (private: no plain digest of the data, no salt)\n", f.out)
	}
	if fz := m.Featurizer; fz != nil {
		how := "named by --featurizer-record"
		if found {
			how = "found beside the data"
		}
		if s := fz.Split; s != nil {
			how += ", its " + s.Part + " part"
		}
		fmt.Fprintf(out, "featurizer %s version %s, id %s (record %s, %s; keep the record private)\n", fz.Name, fz.Version, fz.SpecSHA256, recPath, how)
	}
	saltState := "reused"
	if created {
		saltState = "created"
	}
	if m.Public {
		fmt.Fprintf(out, "salt       %s (%s; published in the manifest: use it for this dataset only)\n", f.saltFile, saltState)
	} else {
		fmt.Fprintf(out, "salt       %s (%s; keep it private, beside the data)\n", f.saltFile, saltState)
	}
}

// manifestSalt loads the salt that checking data against m needs: the salt file, required
// for a private manifest; none for a public one, which carries its own.
func manifestSalt(m *commitment.Manifest, saltFile string) (*commitment.Salt, error) {
	if saltFile == "" {
		if m.Public {
			return nil, nil
		}
		return nil, usageErrorf("--salt-file is required: the manifest is private, so its digests are keyed from the dataset's salt")
	}
	s, err := commitment.LoadSalt(saltFile)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

type datasetVerifyFlags struct {
	manifest, saltFile, corpus string
}

func newDatasetVerifyCmd() *cobra.Command {
	var f datasetVerifyFlags
	cmd := &cobra.Command{
		Use:     "verify data.csv --manifest data.manifest.json [--salt-file data.salt]",
		Short:   "Check a CSV file against a manifest: header, every chunk, the file's digest",
		Example: "  comet dataset verify data.csv --manifest data.manifest.json --salt-file data.salt",
		Long: `Recomputes every chunk commitment of the file with the salt and compares it, the columns and
roles, the row count and the file's keyed digest with the manifest; a public manifest is checked
with its own salt and its plain SHA-256 as well. --corpus checks the raw corpus of a featurized
dataset against the manifest's featurizer too.

Exit status 0: the file is the committed dataset; 1: it is not (one line names the first chunk,
header field or digest that differs); 2: the input could not be checked (unreadable file, bad
manifest, no --salt-file for a private manifest).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDatasetVerify(cmd.Context(), cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.manifest, "manifest", "", "dataset manifest (required)")
	fl.StringVar(&f.saltFile, "salt-file", "", "the dataset's salt file (required unless the manifest is public)")
	fl.StringVar(&f.corpus, "corpus", "", "raw corpus file the features were made from, checked against the manifest's featurizer")
	_ = cmd.MarkFlagRequired("manifest")
	return cmd
}

func runDatasetVerify(ctx context.Context, cmd *cobra.Command, path string, f datasetVerifyFlags) error {
	m, err := commitment.LoadManifest(f.manifest)
	if err != nil {
		return err
	}
	salt, err := manifestSalt(m, f.saltFile)
	if err != nil {
		return err
	}
	res, err := pipeline.Verify(ctx, path, m, salt)
	if err != nil {
		return checkFailed(err)
	}
	out := cmd.OutOrStdout()
	for _, c := range res.Checks {
		fmt.Fprintf(out, "passed  %s\n", c)
	}
	if f.corpus != "" {
		if err := pipeline.CheckCorpus(f.corpus, m, salt); err != nil {
			return checkFailed(err)
		}
		fmt.Fprintf(out, "passed  featurizer: corpus %s has the manifest's corpus_digest\n", f.corpus)
	}
	fmt.Fprintf(out, "%s is the dataset %s commits to (%s, %s)\n", path, f.manifest, count(res.Rows, "row"), count(res.Chunks, "chunk"))
	return nil
}

// checkFailed marks a file that differs from its manifest as a failed check (exit 1), and
// leaves every other error as unusable input (exit 2).
func checkFailed(err error) error {
	if errors.Is(err, pipeline.ErrMismatch) {
		return fmt.Errorf("%w: %w", errCheckFailed, err)
	}
	return err
}

func newDatasetInspectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect data.manifest.json",
		Short: "Check a manifest and print its public header",
		Long: `Reads a manifest, checks that its commitment is the hash of its header and chunk commitments,
and prints what it states: rows, features, fixed-point format, chunks, the commitment, and
whether the dataset is declared public. Needs neither the data nor the salt.`,
		Example: "  comet dataset inspect data.manifest.json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := commitment.LoadManifest(args[0])
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintf(w, "format\t%s\n", m.Version)
			fmt.Fprintf(w, "file\t%s\n", m.File)
			if m.Public {
				fmt.Fprintf(w, "public\tyes: the file's SHA-256 and the salt are published\n")
				fmt.Fprintf(w, "sha256\t%s\n", m.SHA256)
				salt, _ := m.Salt.MarshalText()
				fmt.Fprintf(w, "salt\t%s\n", salt)
			} else {
				fmt.Fprintf(w, "public\tno: no plain digest of the data, no salt\n")
			}
			fmt.Fprintf(w, "file_digest\t%s (keyed from the salt)\n", m.FileDigest)
			fmt.Fprintf(w, "commitment\t%s (recomputed from the header and chunks)\n", m.Commitment)
			fmt.Fprintf(w, "hash\t%s\n", m.Hash)
			fmt.Fprintf(w, "rows (n)\t%d\n", m.N)
			fmt.Fprintf(w, "features (d)\t%d: %s\n", m.D, strings.Join(m.Features, ", "))
			fmt.Fprintf(w, "label\t%s\n", m.Label)
			fmt.Fprintf(w, "fixed point\t%s: %d fraction bits, %d value bits\n", m.Format(), m.FractionBits, m.ValueBits)
			fmt.Fprintf(w, "chunks\t%d of %d rows\n", len(m.ChunkCommitments), m.ChunkRows)
			if fz := m.Featurizer; fz != nil {
				printFeaturizer(w, fz)
			}
			return w.Flush()
		},
	}
}

func printFeaturizer(w io.Writer, fz *commitment.Featurizer) {
	fmt.Fprintf(w, "featurizer\t%s version %s, id %s\n", fz.Name, fz.Version, fz.SpecSHA256)
	params := make([]string, 0, len(fz.Params))
	for _, k := range slices.Sorted(maps.Keys(fz.Params)) {
		params = append(params, k+"="+fz.Params[k])
	}
	fmt.Fprintf(w, "  params\t%s\n", strings.Join(params, " "))
	label := fz.LabelColumn
	if label == "" {
		label = "none"
	}
	fmt.Fprintf(w, "  text, label\t%s, %s (%d rows)\n", fz.TextColumn, label, fz.Rows)
	if s := fz.Split; s != nil {
		in := "is in"
		if s.Part != "test" {
			in = "is not in"
		}
		fmt.Fprintf(w, "  split\t%s part: the rows whose %s %s {%s}\n", s.Part, s.Column, in, strings.Join(s.TestValues, ", "))
	}
	fmt.Fprintf(w, "  corpus_digest\t%s (keyed from the salt)\n", fz.CorpusDigest)
	if fz.CorpusSHA256 != "" {
		fmt.Fprintf(w, "  corpus_sha256\t%s\n", fz.CorpusSHA256)
	}
}
