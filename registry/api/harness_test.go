package api_test

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/comet-attest/comet/registry/wire"
	"github.com/gin-gonic/gin"

	"github.com/comet-attest/comet/internal/config"
	"github.com/comet-attest/comet/internal/pgtest"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/registrytest"
	"github.com/comet-attest/comet/registry/server"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode) // as main does: no route listing per test server
	code := m.Run()
	if seeded.close != nil {
		seeded.close()
	}
	registrytest.Cleanup()
	os.Exit(code)
}

// testRegistry is a real registry (server.Open, as comet serve runs it) on a loopback HTTP
// server, with an admin key and clients whose every response is checked against the
// OpenAPI document.
type testRegistry struct {
	t     *testing.T
	reg   *registrytest.Server
	srv   *server.Server
	url   string
	hc    *http.Client
	admin *client.Client
	anon  *client.Client
	fix   *registrytest.Material
}

type dbKind string

const (
	sqliteDB   dbKind = "sqlite"
	postgresDB dbKind = "postgres"
)

func newRegistry(t *testing.T, db dbKind, k *contract, tweak func(*config.Config)) *testRegistry {
	t.Helper()
	cfg := registrytest.Config(t)
	cfg.Server.RatePerSecond, cfg.Server.RateBurst = 10000, 10000
	if db == postgresDB {
		cfg.Database.DSN, cfg.Database.Schema = pgtest.DSN(), pgtest.Schema(t)
	}
	if tweak != nil {
		tweak(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: transport{t: t, k: k, base: http.DefaultTransport}, Timeout: 30 * time.Second}
	reg := registrytest.Serve(t, cfg, hc)
	return &testRegistry{t: t, reg: reg, srv: reg.Server, url: reg.URL, hc: hc, admin: reg.Admin, anon: reg.Anon, fix: registrytest.Get(t)}
}

func (r *testRegistry) client(key string) *client.Client { return r.reg.Client(r.t, key) }

// provider registers and approves a provider and returns its client.
func (r *testRegistry) provider(id string) *client.Client {
	r.t.Helper()
	return r.reg.Provider(r.t, id)
}

// submission is the fixture's i-th variant as a request of the fixture's provider.
func (r *testRegistry) submission(i int) (wire.SubmitRequest, string) {
	r.t.Helper()
	return r.submissionFor(registrytest.Provider, i)
}

// submissionFor is the fixture's i-th variant as a request of provider: its proof is bound
// to that provider.
func (r *testRegistry) submissionFor(provider string, i int) (wire.SubmitRequest, string) {
	r.t.Helper()
	m, p, sha, err := r.fix.VariantFor(provider, i)
	if err != nil {
		r.t.Fatal(err)
	}
	return wire.SubmitRequest{ModelName: "model.json", Model: m, Manifest: r.fix.Manifest, Proof: p}, sha
}

func (r *testRegistry) wait(c *client.Client, id string) *wire.Submission {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := c.Wait(ctx, id, 20*time.Millisecond, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}
