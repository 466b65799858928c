package main

import (
	"context"
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
	"github.com/comet-attest/comet/registry/provequeue"
)

type proveFlags struct {
	manifest, model, saltFile, provider string
	queue, queueKeyFile                 string
	proving
}

// proving holds the flags comet prove and comet evaluate share: the keys, the bundle to
// write, where chunk proofs are kept, and the resources proving may use.
type proving struct {
	keys, out, workDir string
	workers, memoryMiB int
}

// addProvingFlags adds the shared proving flags; ext names the default bundle, <model>ext.
func addProvingFlags(cmd *cobra.Command, p *proving, ext string) {
	fl := cmd.Flags()
	fl.StringVar(&p.keys, "keys", "", "keys directory, from comet keys fetch (required)")
	fl.StringVar(&p.out, "out", "", "bundle to write (default: <model>"+ext+")")
	fl.IntVar(&p.workers, "workers", 0, "chunks proven at once (default: all cores, fewer if --memory-mib requires)")
	fl.IntVar(&p.memoryMiB, "memory-mib", proof.DefaultMemoryLimit>>20, "memory proving may use, in MiB")
	fl.StringVar(&p.workDir, "work-dir", "", "where chunk proofs are kept for resuming (default: <out>.work)")
	_ = cmd.MarkFlagRequired("keys")
}

// resolve checks the flags and fills the defaults from the model file's name.
func (p *proving) resolve(model, ext string) error {
	if p.memoryMiB < 256 {
		return usageErrorf("--memory-mib %d: at least 256", p.memoryMiB)
	}
	if p.out == "" {
		p.out = strings.TrimSuffix(model, filepath.Ext(model)) + ext
	}
	if p.workDir == "" {
		p.workDir = p.out + ".work"
	}
	return nil
}

// loadKeys loads the proving keys of s, with the way to get them when they are missing.
func (p *proving) loadKeys(cmd *cobra.Command, s circuit.Keyed, manifest string) (*setup.Keys, error) {
	keys, err := setup.Load(cmd.Context(), p.keys, s, setup.Proving)
	if errors.Is(err, setup.ErrNotFound) {
		return nil, usageErrorf("%v: fetch the registry's keys first: comet keys fetch --registry URL --manifest %s --out %s", err, manifest, p.keys)
	}
	return keys, err
}

// options sets the memory limit and returns the proof options with a progress bar over
// chunks+1 proofs; reused reports how many came from the work directory.
func (p *proving) options(chunks int, what string) (opts proof.Options, finish func(), reused *int) {
	limit := int64(p.memoryMiB) << 20
	debug.SetMemoryLimit(limit)
	bar := progressBar(int64(chunks+1), what, progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true))
	reused = new(int)
	return proof.Options{Workers: p.workers, MemoryLimit: limit, WorkDir: p.workDir, Logger: slog.Default(),
		Progress: func(pr proof.Progress) {
			*reused = pr.Reused
			_ = bar.Set(pr.Done)
		}}, func() { _ = bar.Finish() }, reused
}

// write saves the bundle's canonical encoding and removes the work directory it no longer
// needs.
func (p *proving) write(b interface{ Marshal() ([]byte, error) }) error {
	data, err := b.Marshal()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(p.out, data, 0o644); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	if err := os.RemoveAll(p.workDir); err != nil {
		return fmt.Errorf("remove work directory: %w", err)
	}
	return nil
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
stopped (docs/proof.md).

With --queue, the chunks are proven by comet worker --prove processes on any machines that
read the same paths: one job per chunk, the salt and the chunk's accumulator sealed with the
--queue-key-file key; comet prove shows progress per worker and assembles the bundle.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProve(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.manifest, "manifest", "", "dataset manifest (required)")
	fl.StringVar(&f.model, "model", "", "model file (comet train) (required)")
	fl.StringVar(&f.saltFile, "salt-file", "", "the dataset's private salt file (required)")
	fl.StringVar(&f.provider, "provider", "", "the provider id the proof is for, as registered (required)")
	fl.StringVar(&f.queue, "queue", "", "PostgreSQL URL of a chunk queue: comet worker --prove processes prove the chunks (docs/proof.md)")
	fl.StringVar(&f.queueKeyFile, "queue-key-file", "", "with --queue: the key sealing the salt in the jobs, shared with the workers (created if missing)")
	addProvingFlags(cmd, &f.proving, ".proof.json")
	for _, name := range []string{"manifest", "model", "salt-file", "provider"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func runProve(cmd *cobra.Command, path string, f proveFlags) error {
	ctx := cmd.Context()
	gnarklog.Disable() // gnark logs every compile and proof; comet reports progress itself
	if err := f.resolve(f.model, ".proof.json"); err != nil {
		return err
	}
	man, err := commitment.LoadManifest(f.manifest)
	if err != nil {
		return err
	}
	m, err := model.Load(ctx, f.model)
	if err != nil {
		return err
	}
	salt, err := commitment.LoadSalt(f.saltFile)
	if err != nil {
		return err
	}
	shape := circuit.ShapeOf(man.Header, m.FitIntercept)
	keys, err := f.loadKeys(cmd, shape, f.manifest)
	if err != nil {
		return err
	}
	req := proof.Request{Manifest: man, Model: m, Salt: salt, Rows: proof.CSVSource(path, man), Provider: f.provider}
	start := time.Now()
	if f.queue != "" {
		if err := f.proveQueued(cmd, path, req, keys); err != nil {
			return err
		}
	}
	opts, finish, reused := f.options(man.Header.Chunks(), "proving")
	b, err := proof.Prove(ctx, keys, req, opts)
	finish()
	if err != nil {
		return err
	}
	if err := f.write(b); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "proof of %s on %s (%s, %d reused) for provider %s written to %s in %v; tau = %s\n",
		shape, count(man.N, "row"), count(len(b.Chunks), "chunk"), *reused, f.provider, f.out, time.Since(start).Round(time.Millisecond), b.Tau)
	return nil
}

// proveQueued has the chunks proven by the queue's workers and saves their proofs into the
// work directory, where Prove reuses them and proves only the final circuit; the queue then
// forgets them, since the work directory keeps them until the bundle is written.
func (f proveFlags) proveQueued(cmd *cobra.Command, data string, req proof.Request, keys *setup.Keys) error {
	ctx := cmd.Context()
	if f.queueKeyFile == "" {
		return usageErrorf("--queue needs --queue-key-file, the key the workers share")
	}
	key, created, err := provequeue.LoadOrCreateKey(f.queueKeyFile)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(cmd.ErrOrStderr(), "created queue key %s: give it to each comet worker --prove --queue-key-file\n", f.queueKeyFile)
	}
	var spec provequeue.Spec
	for dst, src := range map[*string]string{&spec.Data: data, &spec.Manifest: f.manifest, &spec.Model: f.model, &spec.Keys: f.keys} {
		if *dst, err = filepath.Abs(src); err != nil {
			return err
		}
	}
	spec.Provider = f.provider
	if spec.Offsets, err = proof.ChunkOffsets(ctx, spec.Data, req.Manifest.Header); err != nil {
		return err
	}
	q, err := provequeue.Open(ctx, f.queue)
	if err != nil {
		return err
	}
	defer q.Close()
	run, err := provequeue.Begin(req.Manifest.Header.Chunks())
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "run %s: queuing %s as they are read; start comet worker --prove\n", run.ID, count(run.Chunks, "chunk"))
	var shown provequeue.Progress
	proofs, err := q.Prove(ctx, key, spec, req.Salt, run, func(ctx context.Context, emit func(proof.ChunkTask) error) error {
		return proof.PlanEach(ctx, keys, req, f.workDir, emit)
	}, time.Second, func(p provequeue.Progress) {
		if p.Done != shown.Done || p.Running != shown.Running || p.Retried != shown.Retried || p.Rescued > 0 {
			fmt.Fprintln(cmd.ErrOrStderr(), p)
			shown = p
		}
	})
	if err != nil {
		return err
	}
	for _, cp := range proofs {
		if err := proof.SaveChunkProof(f.workDir, cp); err != nil {
			// The work directory may lack some: the run is withdrawn, and a rerun proves them.
			return errors.Join(err, q.Cancel(context.WithoutCancel(ctx), run))
		}
	}
	return q.Forget(ctx, run)
}
