package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/registrytest"
	"github.com/comet-attest/comet/registry/wire"
)

// The public pages in Chromium, against a real `comet serve` holding an attested model: the
// home page (keyboard focus reaches the search), a model page (proven and claimed labelled,
// a bar per weight), the provider page and the log, at a desktop and a phone width, each
// without sideways scrolling, with screenshots.
func TestWebPublicPages(t *testing.T) {
	if testing.Short() {
		t.Skip("starts comet serve and Chromium, proves a model")
	}
	bin := buildComet(t)
	fix := registrytest.Get(t)
	dir := t.TempDir()
	config := writeConfig(t, dir, fix.KeysDir)
	adminKey := strings.TrimSpace(mustRun(t, bin, nil, "admin", "init", "--create", "--config", config))
	reg := startRegistry(t, bin, config)
	ctx := context.Background()
	admin, _ := client.New(reg.url, adminKey, nil)
	anon, _ := client.New(reg.url, "", nil)
	r, err := anon.Register(ctx, wire.RegisterRequest{ID: registrytest.Provider, DisplayName: "Acme Legal Analytics", Contact: "ops@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ProviderAction(ctx, registrytest.Provider, "approve", ""); err != nil {
		t.Fatal(err)
	}
	prov, _ := client.New(reg.url, r.Key, nil)
	sub, err := prov.Submit(ctx, wire.SubmitRequest{ModelName: "rollcall-margin.json", Model: fix.Model, Manifest: fix.Manifest, Proof: fix.Proof})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if s, err := prov.Wait(wctx, sub.ID, 20*time.Millisecond, nil); err != nil || s.Status != wire.StatusLogged {
		t.Fatalf("submission: %+v %v", s, err)
	}
	// The log page shows a checkpoint that holds the model.
	for deadline := time.Now().Add(30 * time.Second); ; {
		if cp, err := anon.Checkpoint(ctx); err == nil && !strings.Contains(string(cp), "\n0\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint covers the model")
		}
		time.Sleep(50 * time.Millisecond)
	}

	for _, view := range []struct {
		name  string
		width int
	}{{"desktop", 1280}, {"mobile", 390}} {
		t.Run(view.name, func(t *testing.T) {
			b := newBrowser(t, view.width)
			// Headless Chromium keeps a window at least 500 px wide: the viewport is set
			// exactly, as a phone's would be.
			if err := chromedp.Do(b, chromedp.EmulateViewport(int64(view.width), 900)); err != nil {
				t.Fatal(err)
			}
			visit := func(path string) {
				t.Helper()
				if err := chromedp.Do(b, chromedp.Navigate(reg.url+path), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
					t.Fatalf("%s: %v", path, err)
				}
			}
			noSideways := func(page string) {
				t.Helper()
				if evalJS[bool](t, b, `document.documentElement.scrollWidth > window.innerWidth + 1`) {
					t.Errorf("%s at %d px scrolls sideways", page, view.width)
				}
			}

			// Home: the recent attestation, and Tab from the top of the page reaches the search.
			visit("/")
			text := evalJS[string](t, b, `document.querySelector("main").innerText`)
			if !strings.Contains(text, "rollcall-margin.json") || !strings.Contains(text, "Acme Legal Analytics") {
				t.Errorf("home page lacks the attestation:\n%s", text)
			}
			focused := ""
			for range 12 {
				if err := chromedp.Do(b, chromedp.KeyEvent(kb.Tab)); err != nil {
					t.Fatal(err)
				}
				focused = evalJS[string](t, b, `document.activeElement ? document.activeElement.id : ""`)
				if focused == "q" {
					break
				}
			}
			if focused != "q" {
				t.Errorf("Tab never reached the search input (last focus %q)", focused)
			}
			if w := evalJS[int](t, b, `window.innerWidth`); w != view.width {
				t.Errorf("viewport %d px wide, want %d", w, view.width)
			}
			noSideways("home")
			screenshot(t, b, "public-home-"+view.name)

			// Searching by a prefix lists the model; the link opens its page.
			if err := chromedp.Do(b, chromedp.SendKeys(chromedp.ID("q"), fix.ModelSHA256[:10]), chromedp.Submit(chromedp.ID("q")),
				chromedp.WaitVisible(chromedp.ID("matches-h"))); err != nil {
				t.Fatal(err)
			}
			if n := evalJS[int](t, b, `document.querySelectorAll('section[aria-labelledby="matches-h"] a[href="/models/`+fix.ModelSHA256+`"]').length`); n != 1 {
				t.Errorf("search by prefix: %d links to the model", n)
			}

			// The model page.
			visit("/models/" + fix.ModelSHA256)
			counts := evalJS[struct{ Proven, Claimed, Bars, Titles, Rows int }](t, b, `({Proven: document.querySelectorAll(".tag.proven").length, Claimed: document.querySelectorAll(".tag.claimed").length,
				Bars: document.querySelectorAll("svg.weights rect.bar").length, Titles: document.querySelectorAll("svg.weights g > title").length,
				Rows: document.querySelectorAll("table.weights-table tbody tr").length})`)
			// The fixture's model has two features and an intercept.
			if counts.Proven == 0 || counts.Claimed == 0 || counts.Bars != 3 || counts.Titles != 3 || counts.Rows != 3 {
				t.Errorf("model page: %+v", counts)
			}
			verify := evalJS[string](t, b, `(document.querySelector('a[href^="/verify?model="]') || {}).textContent || ""`)
			if verify != "Verify in your browser" {
				t.Errorf("verify link %q", verify)
			}
			barW := evalJS[float64](t, b, `document.querySelector("svg.weights rect.bar").getBoundingClientRect().width`)
			if barW <= 0 {
				t.Errorf("the chart's first bar is %g px wide", barW)
			}
			noSideways("model")
			screenshot(t, b, "public-model-"+view.name)

			visit("/providers/" + registrytest.Provider)
			text = evalJS[string](t, b, `document.querySelector("main").innerText`)
			if !strings.Contains(text, "Acme Legal Analytics") || !strings.Contains(text, "Approved") || strings.Contains(text, "ops@acme.example") {
				t.Errorf("provider page:\n%s", text)
			}
			noSideways("provider")
			screenshot(t, b, "public-provider-"+view.name)

			visit("/log")
			text = evalJS[string](t, b, `document.querySelector("pre.note").innerText`)
			if !strings.HasPrefix(text, "comet.localhost/log\n") {
				t.Errorf("log page's note: %q", text)
			}
			noSideways("log")
			screenshot(t, b, "public-log-"+view.name)

			visit("/models/" + strings.Repeat("0", 64))
			text = evalJS[string](t, b, `document.querySelector("main h1").innerText`)
			if text != "Not found" {
				t.Errorf("unknown model: %q", text)
			}
		})
	}
	reg.stop(t)
}

// evalJS evaluates a JavaScript expression in the page and returns its value.
func evalJS[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}
