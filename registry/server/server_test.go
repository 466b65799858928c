package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/comet-attest/comet/internal/config"
)

func testConfig(t *testing.T) config.Config {
	t.Helper()
	c := config.Default()
	c.DataDir = t.TempDir()
	c.Log.CheckpointInterval = 100 * time.Millisecond
	return c
}

var quiet = Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}

// Keys are generated once and kept; the trust root keeps the key's not_before across
// restarts; a second registry on the same SQLite data directory is refused.
func TestRestartKeepsIdentity(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	s, err := Open(ctx, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	first := s.TrustRoot.Registry[0]
	if _, err := Open(ctx, cfg, quiet); !errors.Is(err, ErrLocked) {
		t.Errorf("second registry on the same data directory: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, cfg, Options{Logger: quiet.Logger, Now: func() time.Time { return time.Now().Add(48 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	again := s.TrustRoot.Registry
	if len(again) != 1 || again[0].Key.KeyID() != first.Key.KeyID() || !again[0].NotBefore.Equal(first.NotBefore) {
		t.Errorf("trust root changed across a restart: %+v then %+v", first, again)
	}
	if s.TrustRoot.LogOrigin != cfg.Log.Origin {
		t.Errorf("log origin %q", s.TrustRoot.LogOrigin)
	}
}

// Serve answers until its context ends, then shuts down cleanly.
func TestServeGracefully(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Open(ctx, testConfig(t), quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not return after its context ended")
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("still answering after shutdown")
	}
}
