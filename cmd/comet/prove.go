package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	gnarklog "github.com/consensys/gnark/logger"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/comet-attest/comet/internal/atomicfile"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/setup"
)

type proveFlags struct {
	manifest, model, saltFile, keys, out, workDir, provider string
	workers, memoryMiB                                      int
}

func newProveCmd() *cobra.Command {
	var f proveFlags
	cmd := &cobra.Command{
		Use:     "prove data.csv --manifest data.manifest.json --model model.json --salt-file data.salt --keys keys/ --out model.proof.json",
		Short:   "Prove that the model's weights are the optimum of exactly the committed rows",
		Example: "  comet prove data.csv --manifest data.manifest.json --model model.json --salt-file data.salt --keys keys/ --provider acme-legal --out model.proof.json",
		Long: `Reads the CSV twice: once to check every chunk against the manifest (and the salt) and the
model's optimality residual and training metrics against the rows, then to prove the chunks in
parallel. The proof is bound to the model file and to the provider id it is made for
(--provider, as registered with the registry): it verifies for no other file and no other
provider. Each chunk's proof is kept in --work-dir, so an interrupted run resumes where it
stopped (docs/proof.md).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProve(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.manifest, "manifest", "", "dataset manifest (required)")
	fl.StringVar(&f.model, "model", "", "model file (comet train) (required)")
	fl.StringVar(&f.saltFile, "salt-file", "", "the dataset's private salt file (required)")
	fl.StringVar(&f.keys, "keys", "", "keys directory, from comet keys fetch (required)")
	fl.StringVar(&f.out, "out", "", "proof bundle to write (default: <model>.proof.json)")
	fl.StringVar(&f.provider, "provider", "", "the provider id the proof is for, as registered (required)")
	fl.IntVar(&f.workers, "workers", 0, "chunks proven at once (default: all cores, fewer if --memory-mib requires)")
	fl.IntVar(&f.memoryMiB, "memory-mib", proof.DefaultMemoryLimit>>20, "memory proving may use, in MiB")
	fl.StringVar(&f.workDir, "work-dir", "", "where chunk proofs are kept for resuming (default: <out>.work)")
	for _, name := range []string{"manifest", "model", "salt-file", "keys", "provider"} {
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
	if errors.Is(err, setup.ErrNotFound) {
		return usageErrorf("%v: fetch the registry's keys first: comet keys fetch --registry URL --manifest %s --out %s", err, f.manifest, f.keys)
	}
	if err != nil {
		return err
	}
	limit := int64(f.memoryMiB) << 20
	debug.SetMemoryLimit(limit)
	bar := progressBar(int64(man.Header.Chunks()+1), "proving", progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true))
	start := time.Now()
	var reused int
	b, err := proof.Prove(ctx, keys, proof.Request{Manifest: man, Model: m, Salt: salt, Rows: proof.CSVSource(path, man), Provider: f.provider},
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
	if err := atomicfile.WriteFile(f.out, data, 0o644); err != nil {
		return fmt.Errorf("write proof bundle: %w", err)
	}
	if err := os.RemoveAll(f.workDir); err != nil {
		return fmt.Errorf("remove work directory: %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "proof of %s on %s (%s, %d reused) for provider %s written to %s in %v; tau = %s\n",
		shape, count(man.N, "row"), count(len(b.Chunks), "chunk"), reused, f.provider, f.out, time.Since(start).Round(time.Millisecond), b.Tau)
	return nil
}
