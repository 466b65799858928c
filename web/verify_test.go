package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestVerifyPage(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, wasm := committedVerifier(t)
	sum := sha256.Sum256(wasm)
	wasmSHA := hex.EncodeToString(sum[:])
	sha := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name, url string
		status    int
		want      []string
	}{
		{"empty", "/verify", http.StatusOK, []string{`<noscript>`, `src="/static/verify.js"`, `src="/static/wasm_exec.js"`, `id="model-file"`, `verifier.wasm
<code title="SHA-256 of verifier.wasm">sha256:` + wasmSHA}},
		{"from a model page", "/verify?model=" + sha + "&single_party=1&provider=acme", http.StatusOK,
			[]string{`value="` + sha + `"`, `name="single_party" value="1" type="checkbox" checked`, `value="acme"`, `comet verify ` + sha}},
		{"not a hash", "/verify?model=%3Cscript%3E", http.StatusBadRequest, []string{`role="alert"`, `value="&lt;script&gt;"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.url, nil))
			body := w.Body.String()
			if w.Code != tc.status {
				t.Errorf("status %d, want %d", w.Code, tc.status)
			}
			for _, want := range tc.want {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q:\n%s", want, body)
				}
			}
			if strings.Contains(body, "<script>") {
				t.Errorf("inline script on the page:\n%s", body)
			}
		})
	}
}

func TestVerifierServed(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	gz, _ := committedVerifier(t)
	for _, tc := range []struct {
		name, accept string
		gzipped      bool
	}{
		{"gzip", "gzip, deflate, br", true},
		{"gzip with q", "br;q=1.0, gzip;q=0.8", true},
		{"refused", "gzip;q=0, br", false},
		{"none", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/static/verifier.wasm", nil)
			r.Header.Set("Accept-Encoding", tc.accept)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/wasm" {
				t.Fatalf("status %d, Content-Type %q", w.Code, w.Header().Get("Content-Type"))
			}
			body := w.Body.Bytes()
			if got := w.Header().Get("Content-Encoding") == "gzip"; got != tc.gzipped {
				t.Fatalf("Content-Encoding %q", w.Header().Get("Content-Encoding"))
			}
			if tc.gzipped {
				if !bytes.Equal(body, gz) {
					t.Fatal("the gzipped body is not the embedded artifact")
				}
				return
			}
			if !bytes.HasPrefix(body, []byte("\x00asm")) {
				t.Fatalf("the body is not WebAssembly: % x", body[:min(8, len(body))])
			}
		})
	}
	r := httptest.NewRequest(http.MethodGet, "/static/verifier.wasm", nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	r.Header.Set("If-None-Match", w.Header().Get("ETag"))
	w = httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: status %d", w.Code)
	}
}

// The committed verifier is what go generate builds from this tree: Go builds with -trimpath
// are reproducible with the same toolchain, so a difference means someone changed the
// verifier's code (or the toolchain) and did not run go generate ./web.
func TestVerifierArtifactCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the verifier for js/wasm (a minute)")
	}
	out := filepath.Join(t.TempDir(), "verifier.wasm")
	// The same command as the //go:generate line in verify.go.
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", out, "./wasm")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the verifier: %v\n%s", err, b)
	}
	built, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	gz, committed := committedVerifier(t)
	if !bytes.Equal(built, committed) {
		t.Fatalf("web/%s (%d bytes inflated) is not what this tree builds (%d bytes): run go generate ./web and commit it", verifierGz, len(committed), len(built))
	}
	t.Logf("verifier.wasm: %d bytes, %d gzipped", len(built), len(gz))
}

// committedVerifier is the embedded artifact, gzipped and inflated.
func committedVerifier(t *testing.T) (gz, wasm []byte) {
	t.Helper()
	gz, err := files.ReadFile(verifierGz)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if wasm, err = io.ReadAll(zr); err != nil {
		t.Fatal(err)
	}
	return gz, wasm
}
