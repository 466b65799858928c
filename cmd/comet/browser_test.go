package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/comet-attest/comet/registry/registrytest"
)

// The browser tests drive Debian's Chromium, headless, against a real `comet serve` on
// loopback. CI installs it (.ci/run); a machine without it fails them rather than skipping,
// so that a missing browser never passes for a passing test. COMET_CHROMIUM names another
// binary.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("COMET_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is not installed (apt-get install -y chromium, or set COMET_CHROMIUM): the browser tests need it")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and returns a tab's context,
// of the given window width; it closes with the test.
func newBrowser(t *testing.T, width int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(width, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	ctx, cancelTime := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// screenshotDir is where the browser tests write screenshots of the pages they visit: the
// folder the README names, or COMET_ARTIFACTS.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("COMET_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "test-artifacts")
	}
	dir = filepath.Join(dir, "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot saves the whole page now shown in ctx as NAME.png under screenshotDir.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir(t), name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The site is served beside the API on comet serve's one address: a page in the browser,
// the headers that keep script out, and a 404 page for an unknown address.
func TestWebServedBesideAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts comet serve and Chromium")
	}
	bin := buildComet(t)
	dir := t.TempDir()
	reg := startRegistry(t, bin, writeConfig(t, dir, registrytest.Get(t).KeysDir))
	ctx := newBrowser(t, 1280)
	if err := chromedp.Do(ctx, chromedp.Navigate(reg.url+"/")); err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	h1, err := chromedp.Run(ctx, chromedp.Text("h1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(title, "Comet") || h1 == "" {
		t.Errorf("home page: title %q, h1 %q", title, h1)
	}
	resp, err := http.Get(reg.url + "/no/such/page")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("unknown page: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	if got := fetch(t, reg.url+"/healthz"); len(got) == 0 {
		t.Error("the API's /healthz is not served beside the pages")
	}
	reg.stop(t)
}
