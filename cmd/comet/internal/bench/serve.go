package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/tlog"
	"github.com/comet-attest/comet/internal/config"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/server"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/wire"
)

var quiet = slog.New(slog.DiscardHandler)

// runLog appends from 64 concurrent writers, each waiting for its entry to be sequenced
// before the next, as BenchmarkAppend (attest/tlog) does.
func runLog(ctx context.Context, o Options, r *Report) error {
	total := 5000
	if o.Quick {
		total = 500
	}
	k, err := keys.Generate("bench.localhost/log")
	if err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l, shutdown, err := tlog.Open(lctx, filepath.Join(o.Dir, "log"), k, k.Verifier(), tlog.Options{CheckpointInterval: tlog.MinCheckpointInterval, Logger: quiet})
	if err != nil {
		return err
	}
	lat, elapsed, err := concurrently(64, total, func(i int) error {
		_, err := l.Append(lctx, fmt.Appendf(nil, "bench-%d", i))
		return err
	})
	if err := errors.Join(err, shutdown(context.WithoutCancel(ctx))); err != nil {
		return err
	}
	r.add("log append", float64(total)/elapsed.Seconds(), "entries/s", true, "64 writers, fsync, tessera POSIX")
	r.add("log append p99", ms(percentile(lat, 99)), "ms", false, "to sequenced")
	return nil
}

// runAPI serves a registry on loopback (SQLite, the embedded default), submits the proven
// model and waits for it to be logged, then looks it up from 16 clients at once.
func runAPI(ctx context.Context, o Options, say func(string), p *provenModel, r *Report) error {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(o.Dir, "registry")
	cfg.Registry.CircuitKeysDir = p.keysDir
	cfg.Log.CheckpointInterval = 100 * time.Millisecond
	cfg.Jobs.PollInterval = 20 * time.Millisecond
	srv, err := server.Open(ctx, cfg, server.Options{Logger: quiet})
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return errors.Join(err, srv.Close(ctx))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return errors.Join(err, srv.Close(ctx))
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	err = exerciseAPI(ctx, o, say, srv, "http://"+ln.Addr().String(), p, r)
	stop()
	return errors.Join(err, <-served)
}

func exerciseAPI(ctx context.Context, o Options, say func(string), srv *server.Server, url string, p *provenModel, r *Report) error {
	adminKey, _, err := service.InitAdmin(ctx, srv.Store, "bench", false)
	if err != nil {
		return err
	}
	admin, err := srv.Service.Authenticate(ctx, adminKey)
	if err != nil {
		return err
	}
	_, provKey, err := srv.Service.Register(ctx, service.Registration{ID: p.provider, Contact: "bench@localhost"})
	if err != nil {
		return err
	}
	if _, err := srv.Service.SetProvider(ctx, admin, p.provider, service.Approve, "comet bench"); err != nil {
		return err
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: time.Minute}
	prov, err := client.New(url, provKey, hc)
	if err != nil {
		return err
	}
	say("API: submit the proven model and wait until it is logged")
	start := time.Now()
	s, err := prov.Submit(ctx, wire.SubmitRequest{ModelName: "model.json", Model: p.model, Manifest: p.manifest, Proof: p.proof})
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	accepted := time.Since(start)
	final, err := prov.Wait(ctx, s.ID, 20*time.Millisecond, nil)
	if err != nil {
		return fmt.Errorf("submission %s: %w", s.ID, err)
	}
	if final.Status != wire.StatusLogged {
		return fmt.Errorf("submission %s ended %s: %s: %s", s.ID, final.Status, final.FailedCheck, final.Message)
	}
	r.add("submit", ms(accepted), "ms", false, "POST /v1/submissions to 202")
	r.add("submit to logged", time.Since(start).Seconds(), "s", false, "verified, signed, logged, checkpointed")

	n := 20_000
	if o.Quick {
		n = 2_000
	}
	say(fmt.Sprintf("API: %d lookups from 16 clients", n))
	anon, err := client.New(url, "", hc)
	if err != nil {
		return err
	}
	lat, elapsed, err := concurrently(16, n, func(int) error {
		_, err := anon.Lookup(ctx, final.ModelSHA256)
		return err
	})
	if err != nil {
		return fmt.Errorf("lookup: %w", err)
	}
	r.add("lookup", float64(n)/elapsed.Seconds(), "req/s", true, "GET /v1/models/{sha256}, 16 clients, SQLite")
	r.add("lookup p99", ms(percentile(lat, 99)), "ms", false, "")
	return nil
}

// concurrently runs do(0 … total-1) on workers goroutines and returns every call's latency
// and the time it all took; it stops at the first error.
func concurrently(workers, total int, do func(i int) error) ([]time.Duration, time.Duration, error) {
	var (
		mu    sync.Mutex
		next  int
		lat   = make([]time.Duration, 0, total)
		first error
		wg    sync.WaitGroup
	)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := i >= total || first != nil
				mu.Unlock()
				if stop {
					return
				}
				t0 := time.Now()
				err := do(i)
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				if err != nil && first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return lat, time.Since(start), first
}

func percentile(lat []time.Duration, p int) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
