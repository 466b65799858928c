package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/comet-attest/comet/registry/server"
	gnarklog "github.com/consensys/gnark/logger"
	"github.com/spf13/cobra"
)

func newWorkerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "worker",
		Short:   "Work the registry's jobs (proof verification, logging, anchoring) without serving HTTP; PostgreSQL only",
		Example: "  COMET_DATABASE_DSN=postgres://comet@db/comet comet worker --config registry.yaml",
		Long: `Pulls proof-verification jobs from the registry's PostgreSQL database beside comet serve
and other workers, and signs the attestations; it never opens the log: comet serve is its one
writer (a tessera POSIX log takes one appending process) and logs what the workers signed. On the embedded
SQLite set-up comet serve works its own jobs and a second process is refused.`,
		Args: cobra.NoArgs,
	}
	cfgPath := configFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
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
