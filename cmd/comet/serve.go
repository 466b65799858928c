package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"

	"github.com/comet-attest/comet/internal/config"
	"github.com/comet-attest/comet/registry/server"
	"github.com/comet-attest/comet/web"
	gnarklog "github.com/consensys/gnark/logger"
	"github.com/spf13/cobra"
)

// configFlag adds --config to a command that reads the registry configuration.
func configFlag(cmd *cobra.Command) *string {
	return cmd.Flags().String("config", "config.yaml", "registry configuration file; COMET_<SECTION>_<KEY> variables override it (skipped when absent)")
}

// loadConfig reads the configuration; the default file may be missing (built-in defaults and
// the environment apply), a file named explicitly may not.
func loadConfig(cmd *cobra.Command, path string) (config.Config, error) {
	if !cmd.Flags().Changed("config") {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			path = ""
		}
	}
	c, err := config.Load(path, os.Getenv)
	if err != nil {
		return config.Config{}, usageErrorf("%v", err)
	}
	return c, nil
}

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the registry (embedded default: SQLite, log on local disk, jobs in the same database)",
		Long: `Binds the address first, then opens the database, the transparency log and the job workers,
generating the registry's and the log's signing keys on first start, and answers the REST API
under /v1 until SIGINT or SIGTERM, when it finishes the requests in flight and stops. It logs at
start what is not configured (anchoring, witnesses) and every submission's state.

On PostgreSQL (database.dsn) any number of comet serve replicas with the same configuration and a
shared data directory serve at once; the one holding the log-owner lease appends to the log, the
others sign and hand appends over through the database. A replica that loses the lease while it
appends stops appending and exits with an error, to be restarted (see docs/api.md, Replicas).`,
		Example: "  comet serve                                   # ./config.yaml when present, else the defaults\n  comet serve --config registry.yaml --addr 127.0.0.1:9090",
		Args:    cobra.NoArgs,
	}
	cfgPath := configFlag(cmd)
	addr := cmd.Flags().String("addr", "", "listen address (overrides server.addr)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := loadConfig(cmd, *cfgPath)
		if err != nil {
			return err
		}
		if *addr != "" {
			cfg.Server.Addr = *addr
		}
		// The address first: a busy port must fail before keys, the log or jobs are made.
		ln, err := net.Listen("tcp", cfg.Server.Addr)
		if err != nil {
			var op *net.OpError
			if errors.As(err, &op) {
				err = op.Err // net's own text repeats the address
			}
			return fmt.Errorf("listen on %s (server.addr or --addr): %w", cfg.Server.Addr, err)
		}
		gnarklog.Disable() // gnark logs every proof the jobs check; the registry logs outcomes
		ctx := cmd.Context()
		s, err := server.Open(ctx, cfg, server.Options{Logger: slog.Default(), Site: web.ForServer})
		if err != nil {
			return errors.Join(err, ln.Close())
		}
		if err := s.Start(ctx); err != nil {
			return errors.Join(err, s.Close(ctx), ln.Close())
		}
		return s.Serve(ctx, ln)
	}
	return cmd
}
