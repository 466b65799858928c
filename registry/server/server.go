package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/tlog"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/internal/config"
	"github.com/comet-attest/comet/registry/api"
	"github.com/comet-attest/comet/registry/jobs"
	"github.com/comet-attest/comet/registry/keyset"
	"github.com/comet-attest/comet/registry/pglock"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// ErrLocked reports a data directory another registry process is using.
var ErrLocked = errors.New("data directory is in use by another registry process")

// Server is an assembled registry.
type Server struct {
	Config config.Config
	Store  *store.Store
	// Log is the transparency log; on a PostgreSQL replica, its read-only view (the appender
	// it opens on taking the log-owner lease serves the service), and nil in a worker.
	Log       *tlog.Log
	Keys      *keyset.Set
	Queue     *jobs.Queue
	Service   *service.Service
	TrustRoot *trustroot.Root
	Handler   http.Handler

	logger   *slog.Logger
	trust    *trustChain
	started  atomic.Bool
	closers  []func(context.Context) error
	stopJobs func(context.Context) error
	replica  *replica // nil but on PostgreSQL in `comet serve`
}

// Options are what the configuration does not say.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// Anchorer, when set, is used for anchoring instead of a client built from the anchor
	// configuration (tests pass one talking to a loopback node).
	Anchorer jobs.Anchorer
	// Worker opens the registry as `comet worker`: it verifies and signs submissions but
	// never opens the log, whose one writer is the `comet serve` replica holding the
	// log-owner lease (a tessera POSIX log takes one appending process), and it serves no
	// HTTP.
	Worker bool
	// Site builds the HTML pages served beside the API on its address (web.ForServer); nil
	// serves the API alone. It is a function the caller passes because the pages are a layer
	// above the registry (DESIGN.md): the registry does not import them.
	Site func(s *Server, logger *slog.Logger, now func() time.Time) (http.Handler, error)
}

// Open assembles the registry; nothing runs in the background until Start except the log's
// own sequencing. Close releases everything.
func Open(ctx context.Context, cfg config.Config, o Options) (_ *Server, err error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{Config: cfg, logger: o.Logger}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close(context.WithoutCancel(ctx)))
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if !cfg.Postgres() {
		// The embedded set-up has one worker: this process. A second one on the same
		// files would break Reconcile's assumption that running jobs died with their process.
		if err := s.lock(filepath.Join(cfg.DataDir, "registry.lock")); err != nil {
			return nil, err
		}
	}
	s.Store, err = store.Open(ctx, store.Options{
		SQLitePath: cfg.Path(cfg.Database.SQLitePath), SQLiteSynchronous: cfg.Database.SQLiteSynchronous,
		DSN: cfg.Database.DSN, Schema: cfg.Database.Schema, Now: o.Now, Logger: o.Logger,
	})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func(context.Context) error { return s.Store.Close() })
	if cfg.Postgres() {
		// Processes started together on one data directory must not each generate the keys
		// or issue a trust root version.
		unlock, err := pglock.Lock(ctx, s.Store.PgxPool(), "start-up/"+s.Store.Schema())
		if err != nil {
			return nil, err
		}
		defer unlock()
	}

	regKey, err := loadOrCreateKey(cfg.Registry.KeyEnv, cfg.Registry.KeyFile, cfg.Path(filepath.Join("keys", "registry.key")), cfg.Registry.Name, cfg, o.Logger)
	if err != nil {
		return nil, fmt.Errorf("registry key: %w", err)
	}
	logKey, err := loadOrCreateKey(cfg.Log.KeyEnv, cfg.Log.KeyFile, cfg.Path(filepath.Join("keys", "log.key")), cfg.Log.Origin, cfg, o.Logger)
	if err != nil {
		return nil, fmt.Errorf("log key: %w", err)
	}
	if logKey.Name() != cfg.Log.Origin {
		return nil, fmt.Errorf("log key is named %q but log.origin is %q", logKey.Name(), cfg.Log.Origin)
	}
	witnessEntry, witnesses, err := witnessPolicy(cfg.Log)
	if err != nil {
		return nil, err
	}
	var svcLog service.Log // stays nil in a worker: see Options.Worker
	logOpts := tlog.Options{
		CheckpointInterval: cfg.Log.CheckpointInterval, Logger: o.Logger,
		Witnesses: witnesses, WitnessQuorum: cfg.Log.WitnessQuorum, WitnessTimeout: cfg.Log.WitnessTimeout,
	}
	switch {
	case o.Worker:
	case cfg.Postgres():
		// One of any number of replicas: it reads the shared log directory until it holds
		// the log-owner lease (see replica).
		viewCtx, cancelView := context.WithCancel(context.WithoutCancel(ctx))
		s.closers = append(s.closers, func(context.Context) error { cancelView(); return nil })
		s.Log = tlog.OpenView(viewCtx, cfg.Path(cfg.Log.Dir), logKey.Verifier(), o.Logger)
		rl := &replicaLog{}
		rl.cur.Store(s.Log)
		pool, name := s.Store.PgxPool(), s.Store.Schema()
		s.replica = &replica{
			log: rl, view: s.Log, logDir: cfg.Path(cfg.Log.Dir), every: cfg.Log.CheckpointInterval, logger: o.Logger,
			openLog: func(ctx context.Context) (*tlog.Log, func(context.Context) error, error) {
				return tlog.Open(ctx, cfg.Path(cfg.Log.Dir), logKey, logKey.Verifier(), logOpts)
			},
			acquire: func(ctx context.Context) (*pglock.Lease, error) {
				return pglock.Acquire(ctx, pool, "log-owner/"+name, leaseInterval, o.Logger)
			},
		}
		s.closers = append(s.closers, s.replica.close)
		svcLog = rl
	default:
		// The log's background work must outlive requests but not Close: it gets its own context.
		logCtx, cancelLog := context.WithCancel(context.WithoutCancel(ctx))
		l, shutdownLog, err := tlog.Open(logCtx, cfg.Path(cfg.Log.Dir), logKey, logKey.Verifier(), logOpts)
		if err != nil {
			cancelLog()
			return nil, err
		}
		s.Log = l
		s.closers = append(s.closers, func(ctx context.Context) error {
			err := shutdownLog(ctx)
			cancelLog()
			return err
		})
		svcLog = l
	}

	var kp keyset.Policy
	if cfg.Registry.RequireCeremony {
		kp.MinContributions = cfg.Registry.MinCeremonyContributions
	}
	if s.Keys, err = keyset.Open(cfg.Path(cfg.Registry.CircuitKeysDir), kp); err != nil {
		return nil, err
	}
	if !o.Worker { // the trust root is the log owner's to publish
		if s.trust, err = writeTrustRoot(ctx, regKey, logKey, witnessEntry, s.Keys, cfg, o.Logger, o.Now()); err != nil {
			return nil, err
		}
		s.TrustRoot = s.trust.Latest()
		// A shape published from the admin console is pinned in a new trust root version at
		// once, so that clients verify proofs made with it.
		s.Keys.OnPublish(func(ctx context.Context) error { return s.trust.reissue(ctx, o.Now()) })
	}

	jo := jobs.Options{
		Workers: cfg.Jobs.Workers, PollInterval: cfg.Jobs.PollInterval, MaxAttempts: cfg.Jobs.MaxAttempts,
		JobTimeout: cfg.Jobs.JobTimeout, RescueAfter: cfg.Jobs.RescueAfter, LogOwner: !o.Worker && s.replica == nil,
		LogCandidate: s.replica != nil, Logger: o.Logger,
	}
	var leases service.Leases
	if cfg.Postgres() {
		// Processes share the queue: a killed one's submissions are taken over by the
		// others once its leases go stale (see service.Leases).
		leases = service.Leases{Heartbeat: cfg.Jobs.Heartbeat, StaleAfter: cfg.Jobs.StaleAfter}
		jo.RequeueStaleEvery = cfg.Jobs.StaleAfter / 3
	}
	if !o.Worker { // anchoring reads the log's checkpoints
		anchorer := o.Anchorer
		if anchorer == nil && cfg.Anchor.RPCURL != "" {
			if anchorer, err = newStarknetAnchorer(ctx, cfg, o.Logger); err != nil {
				return nil, err
			}
		}
		if anchorer != nil {
			jo.Anchor = anchorOptions(cfg, anchorer, s.Log, o.Logger)
		} else {
			o.Logger.Info("anchoring off: checkpoints are not anchored on a chain (anchor.rpc_url is not set)")
		}
		if len(witnesses) == 0 {
			o.Logger.Info("no witnesses: checkpoints carry the log's signature only (log.witnesses is empty)")
		}
	}
	if s.Queue, err = jobs.New(s.Store, jo); err != nil {
		return nil, err
	}
	if s.replica != nil {
		s.replica.queue = s.Queue
	}
	checker := keyset.NewChecker(s.Keys)
	s.Service, err = service.New(service.Config{
		Store: s.Store, Log: svcLog, Signer: regKey, Proofs: checker, Evaluations: checker, Jobs: s.Queue, Now: o.Now, Logger: o.Logger,
		Chain: service.ChainInfo{Network: cfg.Anchor.ChainID, Contract: cfg.Anchor.Contract}, MaxRelativeGradient: cfg.Registry.MaxRelativeGradient,
		Leases: leases,
	})
	if err != nil {
		return nil, err
	}
	if o.Worker {
		return s, nil
	}
	reg := prometheus.NewRegistry()
	currentLog := func() *tlog.Log { return s.Log }
	if s.replica != nil {
		currentLog = s.replica.log.cur.Load
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), newLogCollector(currentLog))
	apiHandler, err := api.New(api.Config{
		Registry: s.Service, Records: s.Store, Jobs: s.Queue, Keys: s.Keys, TrustRoots: s.trust,
		LogDir: cfg.Path(cfg.Log.Dir), MaxBodyBytes: cfg.Server.MaxBodyBytes,
		RatePerSecond: cfg.Server.RatePerSecond, RateBurst: cfg.Server.RateBurst, TrustedProxies: cfg.Server.TrustedProxies,
		FailedAuthPerSecond: cfg.Server.FailedAuthPerSecond, FailedAuthGlobalPerSecond: cfg.Server.FailedAuthGlobalPerSecond,
		Ready: s.ready, Metrics: reg, Logger: o.Logger, Now: o.Now,
	})
	if err != nil {
		return nil, err
	}
	s.Handler = apiHandler
	if o.Site != nil {
		site, err := o.Site(s, o.Logger, o.Now)
		if err != nil {
			return nil, err
		}
		s.Handler = oneAddress(apiHandler, site)
	}
	return s, nil
}

// oneAddress serves the API under /v1/ and its probes, the pages everywhere else. It routes
// by prefix rather than through http.ServeMux, which would answer an API path holding ".."
// with a redirect to its cleaned form instead of letting the API refuse it.
func oneAddress(api, site http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, "/v1/"), p == "/healthz", p == "/readyz", p == "/metrics":
			api.ServeHTTP(w, r)
		default:
			site.ServeHTTP(w, r)
		}
	})
}

func (s *Server) lock(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("lock data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("%w: %s", ErrLocked, path)
	}
	s.closers = append(s.closers, func(context.Context) error { return f.Close() })
	return nil
}

func (s *Server) ready(ctx context.Context) error {
	if !s.started.Load() {
		return errors.New("jobs are not running")
	}
	if _, err := s.Service.Checkpoint(ctx); err != nil {
		return err
	}
	return nil
}

// Start reconciles the log with the database and starts the job workers, and a replica's
// wait for the log-owner lease.
func (s *Server) Start(ctx context.Context) error {
	if s.Log != nil && s.replica == nil {
		// On SQLite this process is the only worker, so open submissions whose jobs were
		// running in a previous process get fresh jobs. (A replica reconciles when it takes
		// the log-owner lease, and leaves open submissions to the stale-lease requeue.)
		if _, err := s.Service.Reconcile(ctx, true); err != nil {
			return err
		}
	}
	if err := s.Queue.Start(context.WithoutCancel(ctx), s.Service); err != nil {
		return err
	}
	s.stopJobs = s.Queue.Stop
	if s.replica != nil {
		s.replica.start(ctx, s.Service)
	}
	s.started.Store(true)
	return nil
}

// fenced is closed when a replica stopped appending on its own, which ends Serve; nil (never
// ready) for any other process.
func (s *Server) fenced() <-chan struct{} {
	if s.replica == nil {
		return nil
	}
	return s.replica.fenced
}

// Serve answers HTTP on ln until ctx ends, then shuts down gracefully: it stops accepting,
// lets requests in flight finish (within the configured shutdown timeout), stops the jobs
// and closes the log and the store.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.Config.Server.ReadTimeout,
		WriteTimeout:      s.Config.Server.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.logger.Info("listening", slog.String("addr", "http://"+ln.Addr().String()), slog.String("data_dir", s.Config.DataDir),
		slog.String("database", map[bool]string{true: "postgres", false: "sqlite"}[s.Config.Postgres()]),
		slog.String("log_origin", s.Config.Log.Origin), slog.Int("circuits", len(s.Keys.Circuits())))
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		s.logger.Info("shutting down")
	case <-s.fenced():
		serveErr = s.replica.err
		s.logger.Error("shutting down: this replica no longer owns the log and must be restarted", slog.Any("error", serveErr))
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.Config.Server.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return errors.Join(serveErr, err, s.Close(sctx))
}

// Close stops the jobs and releases the log and the store, in that order.
func (s *Server) Close(ctx context.Context) error {
	var errs []error
	if s.stopJobs != nil {
		errs = append(errs, s.stopJobs(ctx))
		s.stopJobs = nil
		s.started.Store(false)
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i](ctx))
	}
	s.closers = nil
	return errors.Join(errs...)
}

// loadOrCreateKey reads a signing key from the environment variable or file the
// configuration names; with neither, it uses defaultPath, generating a key named name there
// on first start.
func loadOrCreateKey(envVar, file, defaultPath, name string, cfg config.Config, logger *slog.Logger) (*keys.Signer, error) {
	switch {
	case envVar != "":
		return keys.LoadEnv(envVar)
	case file != "":
		return keys.LoadFile(cfg.Path(file))
	}
	k, err := keys.LoadFile(defaultPath)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(filepath.Dir(defaultPath), 0o700); err != nil {
		return nil, err
	}
	if k, err = keys.Generate(name); err != nil {
		return nil, err
	}
	if err := k.WriteFile(defaultPath); err != nil {
		return nil, err
	}
	logger.Info("generated signing key", slog.String("key_id", k.KeyID()), slog.String("file", defaultPath))
	return k, nil
}
