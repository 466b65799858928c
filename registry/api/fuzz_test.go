package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/comet-attest/comet/registry/registrytest"
	"github.com/comet-attest/comet/registry/server"
	"github.com/comet-attest/comet/registry/wire"
)

// FuzzSubmit drives the submit handler with arbitrary bodies: every answer is a 202 or a
// documented 4xx in the error format, never a 500 or a panic.
func FuzzSubmit(f *testing.F) {
	fix := registrytest.Get(f)
	k := loadContract(f)
	cfg := registrytest.Config(f)
	cfg.Server.RatePerSecond, cfg.Server.RateBurst = 1e9, 1<<30
	cfg.Server.MaxBodyBytes = 1 << 20
	ctx := context.Background()
	srv, err := server.Open(ctx, cfg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close(context.Background()) })
	// Jobs are not started: the handler's answer is what is fuzzed.
	key := registrytest.ApprovedProvider(f, srv.Service, registrytest.Admin(f, srv.Store, srv.Service), "fuzz-co")
	for i := range 3 {
		m, pr, _, err := fix.VariantFor("fuzz-co", i)
		if err != nil {
			f.Fatal(err)
		}
		b, _ := json.Marshal(wire.SubmitRequest{ModelName: "m.json", Model: m, Manifest: fix.Manifest, Proof: pr})
		f.Add(b)
	}
	f.Add([]byte(`{"model_name":"m.json","model":{},"manifest":{},"proof":{}}`))
	f.Add([]byte(`{"model_name":1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/submissions", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { defer close(done); srv.Handler.ServeHTTP(rec, req) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("submit handler did not answer within 30s")
		}
		if rec.Code != http.StatusAccepted && rec.Code != http.StatusConflict && (rec.Code < 400 || rec.Code >= 500) {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.Bytes())
		}
		if msg := k.check(http.MethodPost, "/v1/submissions", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes()); msg != "" {
			t.Fatalf("openapi: %s", msg)
		}
	})
}
