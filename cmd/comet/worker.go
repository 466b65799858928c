package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	gnarklog "github.com/consensys/gnark/logger"
	"github.com/spf13/cobra"

	"github.com/comet-attest/comet/registry/provequeue"
	"github.com/comet-attest/comet/registry/server"
)

// proveWorkerFlags are comet worker's flags for proving chunks (--prove) instead of working
// the registry's jobs.
type proveWorkerFlags struct {
	prove                  bool
	queue, keyFile, id     string
	chunks                 int
	rescueAfter, stopAfter time.Duration
}

func newWorkerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Work the registry's jobs (proof verification, logging, anchoring) without serving HTTP; PostgreSQL only; or, with --prove, prove comet prove --queue's chunks",
		Example: `  COMET_DATABASE_DSN=postgres://comet@db/comet comet worker --config registry.yaml
  comet worker --prove --queue postgres://prover@db/proving --queue-key-file queue.key`,
		Long: `Pulls proof-verification jobs from the registry's PostgreSQL database beside comet serve
and other workers, and signs the attestations; it never opens the log: comet serve is its one
writer (a tessera POSIX log takes one appending process) and logs what the workers signed. On the embedded
SQLite set-up comet serve works its own jobs and a second process is refused.

With --prove it instead proves the chunks that comet prove --queue enqueues on the --queue
database, reading the data, manifest, model and keys at the paths the jobs name, and opening
their sealed salt with --queue-key-file (docs/proof.md, "Distributed proving").`,
		Args: cobra.NoArgs,
	}
	cfgPath := configFlag(cmd)
	var pf proveWorkerFlags
	fl := cmd.Flags()
	fl.BoolVar(&pf.prove, "prove", false, "prove chunk jobs from --queue instead of working the registry's jobs")
	fl.StringVar(&pf.queue, "queue", "", "with --prove: PostgreSQL URL of the chunk queue (search_path names its schema; default comet_prove)")
	fl.StringVar(&pf.keyFile, "queue-key-file", "", "with --prove: the key comet prove --queue-key-file sealed the jobs with")
	fl.StringVar(&pf.id, "id", "", "with --prove: this worker's name in comet prove's progress, one per live worker on a queue (default host-pid)")
	fl.IntVar(&pf.chunks, "chunks", 1, "with --prove: chunks proven at once (one proof already uses every core)")
	fl.DurationVar(&pf.rescueAfter, "rescue-after", provequeue.DefaultRescueAfter, "with --prove: a chunk running this long is retried even if its worker seems alive (a dead worker's are taken back at once); more than a chunk's proving time")
	fl.DurationVar(&pf.stopAfter, "stop-timeout", time.Minute, "with --prove: how long the chunks in flight may finish after a signal")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if pf.prove {
			return runProveWorker(cmd, pf)
		}
		cfg, err := loadConfig(cmd, *cfgPath)
		if err != nil {
			return err
		}
		if !cfg.Postgres() {
			return usageErrorf("comet worker needs database.dsn (PostgreSQL); on SQLite, comet serve works the jobs")
		}
		gnarklog.Disable() // gnark logs every proof the jobs check; the registry logs outcomes
		ctx := cmd.Context()
		s, err := server.Open(ctx, cfg, server.Options{Logger: slog.Default(), Worker: true})
		if err != nil {
			return err
		}
		if err := s.Start(ctx); err != nil {
			return errors.Join(err, s.Close(ctx))
		}
		slog.Info("working jobs", slog.Int("workers", cfg.Jobs.Workers))
		<-ctx.Done()
		slog.Info("shutting down")
		// The signal cancelled ctx; jobs in flight still get the configured time to finish.
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Server.ShutdownTimeout)
		defer cancel()
		return s.Close(stopCtx)
	}
	return cmd
}

func runProveWorker(cmd *cobra.Command, pf proveWorkerFlags) error {
	if pf.queue == "" || pf.keyFile == "" {
		return usageErrorf("comet worker --prove needs --queue and --queue-key-file")
	}
	if pf.chunks < 1 {
		return usageErrorf("--chunks %d: at least 1", pf.chunks)
	}
	gnarklog.Disable() // gnark logs every compile and proof; the worker logs chunks
	ctx := cmd.Context()
	key, err := provequeue.LoadKey(pf.keyFile)
	if err != nil {
		return err
	}
	q, err := provequeue.Open(ctx, pf.queue)
	if err != nil {
		return err
	}
	defer q.Close()
	w, err := q.NewWorker(key, provequeue.WorkerOptions{ID: pf.id, Chunks: pf.chunks, RescueAfter: pf.rescueAfter, Logger: slog.Default()})
	if err != nil {
		return err
	}
	// River stops fetching when its start context ends; the signal ends ctx, and Stop then
	// lets the chunks in flight finish.
	if err := w.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	slog.Info("proving chunks", slog.Int("at_once", pf.chunks))
	var lost error
	select {
	case <-ctx.Done():
	case <-w.Lost():
		lost = errors.New("lost the worker's database session: its chunks may go to other workers")
	}
	slog.Info("shutting down")
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pf.stopAfter)
	defer cancel()
	return errors.Join(w.Stop(stopCtx), lost)
}
