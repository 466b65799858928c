package registrytest

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"

	"github.com/comet-attest/comet/internal/config"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/server"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
	"github.com/comet-attest/comet/registry/wire"
)

// Server is a registry opened as comet serve opens it (server.Open), its jobs started,
// serving on loopback until the test ends, with an admin key.
type Server struct {
	*server.Server
	URL      string
	AdminKey string
	Admin    *client.Client // with AdminKey
	Anon     *client.Client // with no key
	hc       *http.Client
}

// Serve opens a registry with cfg, makes its admin key, starts its jobs and serves it on
// loopback; its clients send their requests through hc (nil: http.DefaultClient). The
// test's cleanup stops it as a signal stops comet serve, and fails the test if that fails.
func Serve(tb testing.TB, cfg config.Config, hc *http.Client) *Server {
	tb.Helper()
	return ServeWith(tb, cfg, hc, server.Options{})
}

// ServeWith is Serve with options, such as the pages to serve beside the API (Site); their
// logger defaults to one that discards.
func ServeWith(tb testing.TB, cfg config.Config, hc *http.Client, o server.Options) *Server {
	tb.Helper()
	ctx := context.Background()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := server.Open(ctx, cfg, o)
	if err != nil {
		tb.Fatal(err)
	}
	adminKey, _, err := service.InitAdmin(ctx, s.Store, "admin", false)
	if err == nil {
		err = s.Start(ctx)
	}
	var ln net.Listener
	if err == nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		s.Close(ctx)
		tb.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Serve(sctx, ln) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("serve: %v", err)
		}
	})
	r := &Server{Server: s, URL: "http://" + ln.Addr().String(), AdminKey: adminKey, hc: hc}
	r.Admin, r.Anon = r.Client(tb, adminKey), r.Client(tb, "")
	return r
}

// Client is a client of the registry that authenticates with key ("" for none).
func (s *Server) Client(tb testing.TB, key string) *client.Client {
	tb.Helper()
	c, err := client.New(s.URL, key, s.hc)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Provider registers provider id through the API, approves it as the admin and returns the
// provider's client.
func (s *Server) Provider(tb testing.TB, id string) *client.Client {
	tb.Helper()
	return s.account(tb, id, store.RoleProvider)
}

// Evaluator registers evaluator id through the API, approves it as the admin and returns
// the evaluator's client.
func (s *Server) Evaluator(tb testing.TB, id string) *client.Client {
	tb.Helper()
	return s.account(tb, id, store.RoleEvaluator)
}

func (s *Server) account(tb testing.TB, id string, role store.Role) *client.Client {
	tb.Helper()
	ctx := context.Background()
	reg, err := s.Anon.Register(ctx, wire.RegisterRequest{ID: id, Contact: "ops@" + id + ".example", Role: string(role)})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := s.Admin.ProviderAction(ctx, id, "approve", ""); err != nil {
		tb.Fatal(err)
	}
	return s.Client(tb, reg.Key)
}

// Admin makes an admin key in st and returns its principal in svc, for tests that drive the
// service without its HTTP API.
func Admin(tb testing.TB, st *store.Store, svc *service.Service) *service.Principal {
	tb.Helper()
	ctx := context.Background()
	raw, _, err := service.InitAdmin(ctx, st, "admin", false)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, raw)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// ApprovedProvider registers provider id with svc, approves it as admin and returns the
// provider's key.
func ApprovedProvider(tb testing.TB, svc *service.Service, admin *service.Principal, id string) string {
	tb.Helper()
	return ApprovedAccount(tb, svc, admin, id, store.RoleProvider)
}

// ApprovedAccount registers an account of the role (provider or evaluator) with svc,
// approves it as admin and returns its key.
func ApprovedAccount(tb testing.TB, svc *service.Service, admin *service.Principal, id string, role store.Role) string {
	tb.Helper()
	ctx := context.Background()
	_, key, err := svc.Register(ctx, service.Registration{ID: id, Contact: "ops@" + id + ".example", Role: string(role)})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := svc.SetProvider(ctx, admin, id, service.Approve, ""); err != nil {
		tb.Fatal(err)
	}
	return key
}
