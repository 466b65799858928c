package main

import (
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	gnarklog "github.com/consensys/gnark/logger"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/setup"
)

type proveFlags struct {
	manifest, model, saltFile, keys, out, workDir, tau string
	workers, memoryMiB                                 int
}

func newProveCmd() *cobra.Command {
	var f proveFlags
	cmd := &cobra.Command{
		Use:   "prove data.csv --manifest data.manifest.json --model model.json --salt-file data.salt --keys keys/ --out model.proof.json",
		Short: "Prove that the model's weights are the optimum of exactly the committed rows",
		Long: `Reads the CSV twice: once to check every chunk against the manifest (and the salt) and to
refuse a tau the weights do not meet, then to prove the chunks in parallel. Each chunk's
proof is kept in --work-dir, so an interrupted run resumes where it stopped (docs/proof.md).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProve(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.manifest, "manifest", "", "dataset manifest (required)")
	fl.StringVar(&f.model, "model", "", "model file from `comet train` (required)")
	fl.StringVar(&f.saltFile, "salt-file", "", "the dataset's private salt file (required)")
	fl.StringVar(&f.keys, "keys", "", "keys directory from `comet setup` (required)")
	fl.StringVar(&f.out, "out", "", "proof bundle to write (default: <model>.proof.json)")
	fl.StringVar(&f.tau, "tau", "", "bound on max_j |G_j| in units of 2^-(3f) (default: the model's optimality_residual)")
	fl.IntVar(&f.workers, "workers", 0, "chunks proven at once (default: all cores, fewer if --memory-mib requires)")
	fl.IntVar(&f.memoryMiB, "memory-mib", proof.DefaultMemoryLimit>>20, "memory proving may use, in MiB")
	fl.StringVar(&f.workDir, "work-dir", "", "where chunk proofs are kept for resuming (default: <out>.work)")
	for _, name := range []string{"manifest", "model", "salt-file", "keys"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func runProve(cmd *cobra.Command, path string, f proveFlags) error {
	ctx := cmd.Context()
	gnarklog.Disable() // gnark logs every compile and proof; comet reports progress itself
	if f.memoryMiB < 256 {
		return usageErrorf("--memory-mib %d: at least 256", f.memoryMiB)
	}
	var tau *big.Int
	if f.tau != "" {
		var ok bool
		if tau, ok = new(big.Int).SetString(f.tau, 10); !ok || tau.Sign() < 0 {
			return usageErrorf("--tau %q: want a non-negative integer", f.tau)
		}
	}
	if f.out == "" {
		f.out = strings.TrimSuffix(f.model, filepath.Ext(f.model)) + ".proof.json"
	}
	if f.workDir == "" {
		f.workDir = f.out + ".work"
	}
	man, err := commitment.LoadManifest(f.manifest)
	if err != nil {
		return err
	}
	m, err := model.Load(ctx, f.model)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(f.saltFile)
	if err != nil {
		return fmt.Errorf("read salt file: %w", err)
	}
	var salt commitment.Salt
	if err := salt.UnmarshalText(raw); err != nil {
		return fmt.Errorf("salt file %s: %w", f.saltFile, err)
	}
	shape := circuit.ShapeOf(man.Header, m.FitIntercept)
	keys, err := setup.Load(ctx, f.keys, shape, setup.Proving)
	if err != nil {
		return err
	}
	limit := int64(f.memoryMiB) << 20
	debug.SetMemoryLimit(limit)
	bar := progressbar.NewOptions(man.Header.Chunks()+1,
		progressbar.OptionSetDescription("proving"),
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetVisibility(term.IsTerminal(int(os.Stderr.Fd()))),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
	)
	start := time.Now()
	var reused int
	b, err := proof.Prove(ctx, keys, proof.Request{Manifest: man, Model: m, Salt: salt, Rows: proof.CSVSource(path, man), Tau: tau},
		proof.Options{Workers: f.workers, MemoryLimit: limit, WorkDir: f.workDir, Logger: slog.Default(),
			Progress: func(p proof.Progress) {
				reused = p.Reused
				_ = bar.Set(p.Done)
			}})
	_ = bar.Finish()
	if err != nil {
		return err
	}
	data, err := b.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(f.out, data, 0o644); err != nil {
		return fmt.Errorf("write proof bundle: %w", err)
	}
	if err := os.RemoveAll(f.workDir); err != nil {
		return fmt.Errorf("remove work directory: %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "proof of %s on %d rows (%d chunks, %d reused) written to %s in %v; tau = %s\n",
		shape, man.N, len(b.Chunks), reused, f.out, time.Since(start).Round(time.Millisecond), b.Tau)
	return nil
}
