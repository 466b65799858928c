package web

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/comet-attest/comet/registry/ratelimit"
	"github.com/comet-attest/comet/registry/server"
	"github.com/comet-attest/comet/registry/service"
)

// ForServer builds the site over an assembled registry, with the settings of its
// configuration: what `comet serve` passes as server.Options.Site.
func ForServer(s *server.Server, logger *slog.Logger, now func() time.Time) (http.Handler, error) {
	cfg := s.Config
	sessions, err := service.NewSessions(s.Service, cfg.Server.AdminSessionIdle, cfg.Server.AdminSessionMax)
	if err != nil {
		return nil, err
	}
	console, err := service.NewAdmin(s.Service, s.Queue, s.Keys)
	if err != nil {
		return nil, err
	}
	return New(Config{Logger: logger, Now: now,
		Public: PublicConfig{Records: s.Store, Registry: s.Service, LogOrigin: cfg.Log.Origin},
		Admin: AdminConfig{Admin: console, Sessions: sessions, Keys: s.Keys, SecureCookie: cfg.Server.AdminSecureCookie,
			LoginFailures: ratelimit.NewFailures(cfg.Server.FailedAuthPerSecond, cfg.Server.FailedAuthGlobalPerSecond, now)}})
}
