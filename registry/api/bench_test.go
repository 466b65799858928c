package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/attesttest"
	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/internal/config"
	"github.com/comet-attest/comet/internal/pgtest"
	"github.com/comet-attest/comet/registry/registrytest"
	"github.com/comet-attest/comet/registry/server"
	"github.com/comet-attest/comet/registry/store"
	"github.com/comet-attest/comet/registry/wire"
)

// benchRegistry opens a registry on SQLite without starting its jobs, served on loopback,
// closed by b's cleanup.
func benchRegistry(b *testing.B) (*server.Server, string) {
	b.Helper()
	srv, url, closeFn := openBenchRegistry(b, b.TempDir())
	b.Cleanup(closeFn)
	return srv, url
}

func openBenchRegistry(b *testing.B, dir string) (*server.Server, string, func()) {
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Registry.CircuitKeysDir = registrytest.Get(b).KeysDir
	cfg.Server.RatePerSecond, cfg.Server.RateBurst = 1e9, 1<<30
	if s := os.Getenv("COMET_BENCH_SQLITE_SYNCHRONOUS"); s != "" {
		cfg.Database.SQLiteSynchronous = s
	}
	srv, err := server.Open(context.Background(), cfg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler)
	return srv, ts.URL, func() { ts.Close(); srv.Close(context.Background()) }
}

// seedModels writes n attested, logged models straight into the store. Each attestation is
// a real signed envelope whose statement names its model, so that a lookup pays for reading
// the featurizer out of it as it does in service.
func seedModels(b *testing.B, st *store.Store, n int) []string {
	b.Helper()
	ctx := context.Background()
	now := st.Now()
	signer, err := keys.Generate("bench-registry")
	if err != nil {
		b.Fatal(err)
	}
	shas := make([]string, n)
	err = st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.Create(ctx, &store.Provider{ID: "bench-co", DisplayName: "Bench", Contact: "b@example.org", Status: store.ProviderApproved}); err != nil {
			return err
		}
		return tx.Create(ctx, &store.Dataset{Commitment: hex64(0), FileDigest: hex64(1), N: 1, D: 1, FractionBits: 8, ValueBits: 24, ChunkRows: 1, Manifest: []byte("{}")})
	})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 200
	for start := 0; start < n; start += batch {
		end := min(n, start+batch)
		models := make([]store.Model, 0, batch)
		subs := make([]store.Submission, 0, batch)
		atts := make([]store.Attestation, 0, batch)
		for i := start; i < end; i++ {
			sha := hex64(uint64(i) + 100)
			shas[i] = sha
			idx := int64(i)
			id := fmt.Sprintf("sub_%028x", i)
			subj, tr := attesttest.Sample(i)
			subj.SHA256, tr.Provider = sha, "bench-co"
			env, lf, err := attesttest.SignWith(ctx, signer, subj, tr)
			if err != nil {
				b.Fatal(err)
			}
			envJSON, err := envelope.Marshal(env)
			if err != nil {
				b.Fatal(err)
			}
			models = append(models, store.Model{SHA256: sha, Name: "model.json", ProviderID: "bench-co", DatasetCommitment: hex64(0), Body: []byte("{}"), CreatedAt: now})
			subs = append(subs, store.Submission{ID: id, ProviderID: "bench-co", ModelSHA256: sha, DatasetCommitment: hex64(0), Manifest: []byte("{}"),
				ProofSHA256: sha, Proof: []byte("{}"), Status: store.StatusLogged, CreatedAt: now, UpdatedAt: now})
			atts = append(atts, store.Attestation{ID: hex64(uint64(i) + 1<<40), SubmissionID: id, ModelSHA256: sha, ProviderID: "bench-co",
				Envelope: envJSON, Leaf: lf, KeyID: signer.KeyID(), LogIndex: &idx, IssuedAt: now, CreatedAt: now, LoggedAt: &now})
		}
		if err := st.InTx(ctx, func(tx *store.Tx) error {
			for _, v := range []any{&models, &subs, &atts} {
				if err := tx.Create(ctx, v); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	return shas
}

func hex64(i uint64) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%d", i))
	return hex.EncodeToString(h[:])
}

// seeded is the lookup benchmark's registry, kept across its runs and closed by TestMain.
var seeded struct {
	sync.Once
	srv   *server.Server
	url   string
	shas  []string
	close func()
}

// BenchmarkLookup: GET /v1/models/{sha256} on SQLite with 100,000 attested models, 16
// concurrent clients on loopback (the load generator shares the machine's cores).
func BenchmarkLookup(b *testing.B) {
	seeded.Do(func() {
		dir, err := os.MkdirTemp("", "comet-bench-lookup-")
		if err != nil {
			b.Fatal(err)
		}
		var closeFn func()
		seeded.srv, seeded.url, closeFn = openBenchRegistry(b, dir)
		seeded.close = func() { closeFn(); os.RemoveAll(dir) }
		seeded.shas = seedModels(b, seeded.srv.Store, 100_000)
	})
	if b.N == 1 {
		return // the sizing run: seeding was the work
	}
	lookups(b, []string{seeded.url}, seeded.shas)
}

// lookups sends b.N lookups of random models from 16 clients, turn by turn to each of urls.
func lookups(b *testing.B, urls, shas []string) {
	rng := rand.New(rand.NewPCG(1, 2))
	order := make([]int, b.N)
	for i := range order {
		order[i] = rng.IntN(len(shas))
	}
	registrytest.Load(b, 16, func(hc *http.Client, i int) error {
		resp, err := hc.Get(urls[i%len(urls)] + "/v1/models/" + shas[order[i]])
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case err != nil:
			return err
		case resp.StatusCode != http.StatusOK:
			return fmt.Errorf("status %d", resp.StatusCode)
		case !bytes.Contains(body, []byte(`"featurizer":{`)):
			return fmt.Errorf("lookup without the attested featurizer: %s", body)
		}
		return nil
	})
}

// BenchmarkSubmit: POST /v1/submissions up to the 202 (checks, transaction with the job
// insert), without the jobs that verify proofs, 16 concurrent clients on loopback.
func BenchmarkSubmit(b *testing.B) {
	srv, url := benchRegistry(b)
	key := registrytest.ApprovedProvider(b, srv.Service, registrytest.Admin(b, srv.Store, srv.Service), "bench-co")
	fix := registrytest.Get(b)
	bodies := make([][]byte, b.N)
	for i := range bodies {
		m, pr, _, err := fix.VariantFor("bench-co", i+1)
		if err != nil {
			b.Fatal(err)
		}
		bodies[i], _ = json.Marshal(wire.SubmitRequest{ModelName: "model.json", Model: m, Manifest: fix.Manifest, Proof: pr})
	}
	registrytest.Load(b, 16, func(hc *http.Client, i int) error {
		req, _ := http.NewRequest("POST", url+"/v1/submissions", bytes.NewReader(bodies[i]))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("status %d: %s", resp.StatusCode, body)
		}
		return nil
	})
}

// BenchmarkFailedAuth: 16 clients on loopback send requests with random, well-formed but
// unknown API keys as fast as they can, while one more client probes /healthz every 10 ms.
// The failed-authentication limits (server.failed_auth_per_second per address,
// failed_auth_global_per_second overall) answer most with 429 before any database lookup;
// the benchmark reports the attack's answered requests per second, how many reached the
// database as 401s, and the probe's latency, beside the probe's latency with no attack
// (200 probes first, the reference of the same run).
func BenchmarkFailedAuth(b *testing.B) {
	_, url := benchRegistry(b)
	idle, err := probeHealthz(url, 200, nil)
	if err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	var probes []time.Duration
	var probeErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		probes, probeErr = probeHealthz(url, 0, stop)
	}()
	var unauthorized atomic.Int64
	start := time.Now()
	registrytest.Load(b, 16, func(c *http.Client, i int) error {
		req, _ := http.NewRequest(http.MethodGet, url+"/v1/submissions", nil)
		req.Header.Set("Authorization", fmt.Sprintf("Bearer comet_%016x_%064x", rand.Uint64(), i))
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			unauthorized.Add(1)
		case http.StatusTooManyRequests:
		default:
			return fmt.Errorf("an unknown key got %d", resp.StatusCode)
		}
		return nil
	})
	elapsed := time.Since(start)
	close(stop)
	<-done
	if probeErr != nil {
		b.Fatal(probeErr)
	}
	b.ReportMetric(float64(unauthorized.Load())/elapsed.Seconds(), "db-401/s")
	b.ReportMetric(percentileMS(idle, 99), "idle-healthz-p99-ms")
	if len(probes) < 2 {
		return // a run too short to probe, such as the framework's first run of one request
	}
	b.ReportMetric(percentileMS(probes, 99), "healthz-p99-ms")
	b.ReportMetric(percentileMS(probes, 50), "healthz-p50-ms")
}

// probeHealthz gets /healthz every 10 ms, n times or (n = 0) until stop closes, and returns
// the latencies; any answer but 200 is an error.
func probeHealthz(url string, n int, stop <-chan struct{}) ([]time.Duration, error) {
	hc := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var out []time.Duration
	for n == 0 || len(out) < n {
		select {
		case <-stop:
			return out, nil
		case <-tick.C:
		}
		t0 := time.Now()
		resp, err := hc.Get(url + "/healthz")
		if err != nil {
			return out, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return out, fmt.Errorf("/healthz answered %d", resp.StatusCode)
		}
		out = append(out, time.Since(t0))
	}
	return out, nil
}

// percentileMS is the p-th percentile of d in milliseconds.
func percentileMS(d []time.Duration, p int) float64 {
	d = slices.Clone(d)
	slices.Sort(d)
	return float64(d[len(d)*p/100].Microseconds()) / 1000
}

// BenchmarkLookupReplicas: GET /v1/models/{sha256} from 16 concurrent clients spread over
// two `comet serve` replicas on one PostgreSQL schema and one data directory, with 100,000
// attested models; both replicas and the load generator share the machine's cores, as two
// processes would. BenchmarkLookup (SQLite, one process) is its reference.
func BenchmarkLookupReplicas(b *testing.B) {
	if b.N == 1 {
		return // the sizing run: run with -benchtime Nx, so that the seeding is done once
	}
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.Registry.CircuitKeysDir = registrytest.Get(b).KeysDir
	cfg.Server.RatePerSecond, cfg.Server.RateBurst = 1e9, 1<<30
	cfg.Database.DSN, cfg.Database.Schema = pgtest.DSN(), pgtest.Schema(b)
	var urls []string
	var first *server.Server
	for range 2 {
		srv, err := server.Open(context.Background(), cfg, server.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler)
		b.Cleanup(func() { ts.Close(); srv.Close(context.Background()) })
		urls = append(urls, ts.URL)
		if first == nil {
			first = srv
		}
	}
	lookups(b, urls, seedModels(b, first.Store, 100_000))
}
