package main

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/comet-attest/comet/internal/atomicfile"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/dataset"
	"github.com/comet-attest/comet/prover/fixedpoint"
)

func newDatasetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dataset",
		Short: "Featurize legal text, commit to a training dataset, inspect manifests",
	}
	cmd.AddCommand(newDatasetFeaturizeCmd(), newDatasetCommitCmd(), newDatasetInspectCmd())
	return cmd
}

type commitFlags struct {
	label, out, saltFile string
	features, exclude    []string
	format               fixedpoint.Format
	chunkRows            int
}

func newDatasetCommitCmd() *cobra.Command {
	var f commitFlags
	cmd := &cobra.Command{
		Use:   "commit data.csv --label y --salt-file data.salt --out data.manifest.json",
		Short: "Commit to a CSV dataset: writes the public manifest and keeps the salt private",
		Long: `Reads the CSV once, rounds every feature and label value to fixed point, and computes the
hiding dataset commitment (docs/commitment.md). The manifest holds only public values; the
salt file (created with mode 0600 when absent, reused when present) must stay with the data.`,
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
	fl.IntVar(&f.chunkRows, "chunk-rows", 0, "rows per chunk (default: 1024, or the next power of two ≥ n for smaller data)")
	fl.StringVar(&f.saltFile, "salt-file", "", "private salt file, created when absent (required)")
	fl.StringVar(&f.out, "out", "", "manifest to write (default: <data>.manifest.json)")
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
	if f.chunkRows == 0 {
		n, err := countRecordsUpTo(path, 1024)
		if err != nil {
			return err
		}
		f.chunkRows = commitment.DefaultChunkRows(n)
	}
	salt, created, err := commitment.LoadOrCreateSalt(f.saltFile)
	if err != nil {
		return err
	}
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open dataset: %w", err)
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return fmt.Errorf("open dataset: %w", err)
	}
	bar := newProgress(info.Size(), "committing")
	digest := sha256.New()
	rd, err := dataset.NewReader(io.TeeReader(progressReader(file, bar), digest), dataset.Options{
		Label: f.label, Features: f.features, Exclude: f.exclude, Format: f.format,
	})
	if err != nil {
		return fmt.Errorf("dataset %s: %w", path, err)
	}
	header := commitment.Header{D: rd.D(), FractionBits: f.format.FractionBits, ValueBits: f.format.ValueBits, ChunkRows: f.chunkRows}
	res, err := commitRows(ctx, rd, header, salt)
	if err != nil {
		return fmt.Errorf("dataset %s: %w", path, err)
	}
	_ = bar.Finish()
	m := commitment.NewManifest(res, filepath.Base(path), hex.EncodeToString(digest.Sum(nil)), rd.Columns(), rd.Features(), rd.Label())
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(f.out, b, 0o644); err != nil {
		return err
	}
	saltState := "reused"
	if created {
		saltState = "created"
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "committed %d rows × %d features (%s, %d chunks of %d rows)\n", res.Header.N, res.Header.D, f.format, res.Header.Chunks(), f.chunkRows)
	fmt.Fprintf(out, "commitment %s\n", res.Commitment)
	fmt.Fprintf(out, "manifest   %s\n", f.out)
	fmt.Fprintf(out, "salt       %s (%s; keep it private, beside the data)\n", f.saltFile, saltState)
	return nil
}

// commitRows streams every row of rd into a commitment builder.
func commitRows(ctx context.Context, rd *dataset.Reader, header commitment.Header, salt commitment.Salt) (commitment.Result, error) {
	b, err := commitment.NewBuilder(ctx, header, salt, 0)
	if err != nil {
		return commitment.Result{}, err
	}
	row := make([]int64, rd.D()+1)
	for {
		err := rd.Read(row)
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			err = b.Add(row)
		}
		if err != nil {
			_, _ = b.Finish()
			return commitment.Result{}, err
		}
	}
	return b.Finish()
}

// countRecordsUpTo counts data records (the header excluded) but stops at limit: the default
// chunk size only needs to know whether a dataset is small.
func countRecordsUpTo(path string, limit int) (int, error) {
	file, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open dataset: %w", err)
	}
	defer file.Close()
	r := csv.NewReader(file)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	n := -1
	for n < limit {
		if _, err := r.Read(); err != nil {
			break // the dataset reader reports malformed input with its position
		}
		n++
	}
	return max(n, 0), nil
}

// errDatasetMismatch means a CSV is not the file that a manifest committed to.
var errDatasetMismatch = errors.New("dataset does not match the manifest")

// checkSHA256 compares the digest of a fully read dataset with the manifest's.
func checkSHA256(path string, digest hash.Hash, m *commitment.Manifest) error {
	if got := hex.EncodeToString(digest.Sum(nil)); got != m.SHA256 {
		return fmt.Errorf("%w: %s has SHA-256 %s, the manifest records %s", errDatasetMismatch, path, got, m.SHA256)
	}
	return nil
}

func newDatasetInspectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect data.manifest.json",
		Short: "Check a manifest and print its public header",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := commitment.LoadManifest(args[0])
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintf(w, "format\t%s\n", m.Version)
			fmt.Fprintf(w, "file\t%s\n", m.File)
			fmt.Fprintf(w, "sha256\t%s\n", m.SHA256)
			fmt.Fprintf(w, "commitment\t%s (recomputed from the header and chunks)\n", m.Commitment)
			fmt.Fprintf(w, "hash\t%s\n", m.Hash)
			fmt.Fprintf(w, "rows (n)\t%d\n", m.N)
			fmt.Fprintf(w, "features (d)\t%d: %s\n", m.D, strings.Join(m.Features, ", "))
			fmt.Fprintf(w, "label\t%s\n", m.Label)
			fmt.Fprintf(w, "fixed point\t%s: %d fraction bits, %d value bits\n", m.Format(), m.FractionBits, m.ValueBits)
			fmt.Fprintf(w, "chunks\t%d of %d rows\n", len(m.ChunkCommitments), m.ChunkRows)
			return w.Flush()
		},
	}
}
