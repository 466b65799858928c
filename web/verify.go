package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/comet-attest/comet/internal/hexdigest"
)

// The verifier is built by go generate (web/wasm, GOOS=js GOARCH=wasm) and committed
// gzipped, so that `go build ./cmd/comet` embeds it with no extra step;
// TestVerifierArtifactCurrent rebuilds it and fails when the committed one differs.
//go:generate env GOOS=js GOARCH=wasm go build -trimpath -buildvcs=false -ldflags "-s -w" -o static/verifier.wasm ./wasm
//go:generate gzip -9 -n -f static/verifier.wasm
//go:generate chmod 644 static/verifier.wasm.gz

// verifierGz is the embedded artifact's path in files.
const verifierGz = "static/verifier.wasm.gz"

// VerifyConfig is what the in-browser verifier's page needs: nothing from the server, whose
// word it does not take; it reads the public /v1 API like any client.
type VerifyConfig struct{}

func (s *Site) verifyRoutes() {
	s.mux.HandleFunc("GET /verify", s.verifyPage)
	s.mux.HandleFunc("GET /static/verifier.wasm", s.verifierWasm)
}

// verifyView is what verify.html shows before the script takes over.
type verifyView struct {
	Model, Provider string
	SingleParty     bool
	Error           string
	// VerifierSHA256 is the SHA-256 of verifier.wasm, which a visitor who builds it from the
	// source (go generate ./web) can compare: the registry serves the verifier, so this is
	// how its code is held to the source.
	VerifierSHA256 string
}

// artifact is the embedded verifier: gzipped as served, its ETag, and the SHA-256 of the
// inflated verifier.wasm.
type artifact struct {
	gz           []byte
	etag, sha256 string
}

// verifier reads the artifact once.
var verifier = sync.OnceValues(func() (artifact, error) {
	gz, err := files.ReadFile(verifierGz)
	if err != nil {
		return artifact{}, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return artifact{}, fmt.Errorf("%s: %w", verifierGz, err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, zr); err != nil {
		return artifact{}, fmt.Errorf("%s: %w", verifierGz, err)
	}
	gzSum := sha256.Sum256(gz)
	return artifact{gz: gz, etag: `"` + hex.EncodeToString(gzSum[:16]) + `"`, sha256: hex.EncodeToString(h.Sum(nil))}, nil
})

func (s *Site) verifyPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := verifyView{Model: strings.TrimSpace(q.Get("model")), Provider: strings.TrimSpace(q.Get("provider")), SingleParty: q.Get("single_party") != ""}
	status := http.StatusOK
	if v.Model != "" && !hexdigest.Valid(v.Model) {
		status, v.Error = http.StatusBadRequest, "model must be the SHA-256 of a model file: 64 lowercase hex digits."
	}
	a, err := verifier()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.VerifierSHA256 = a.sha256
	s.render(w, r, status, "verify", Page{Title: "Verify a model", Nav: "verify", Data: v})
}

// verifierWasm serves the verifier as application/wasm (instantiateStreaming requires it),
// gzipped to a client that accepts it and inflated for one that does not.
func (s *Site) verifierWasm(w http.ResponseWriter, r *http.Request) {
	a, err := verifier()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	gz, etag := a.gz, a.etag
	h := w.Header()
	h.Set("Content-Type", "application/wasm")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Vary", "Accept-Encoding")
	h.Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		_, _ = w.Write(gz)
		return
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := io.Copy(w, zr); err != nil {
		s.cfg.Logger.WarnContext(r.Context(), "serve verifier", slog.Any("error", err))
	}
}

// acceptsGzip reads Accept-Encoding: gzip listed and not refused with q=0.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") || strings.TrimSpace(name) == "*" {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
