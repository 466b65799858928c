package main

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/comet-attest/comet/registry/registrytest"
)

// /verify runs comet verify's checks in the browser (web/wasm): against a real comet serve,
// its report in Chromium is the CLI's, line for line, for a model that verifies, for one
// whose attestation was revoked, and for a tampered model file dropped on the page.
func TestWebVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("starts comet serve and Chromium, and verifies a proof in WebAssembly")
	}
	fix := registrytest.Get(t)
	bin := buildComet(t)
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	writeFixture(t, dir, fix, nil)
	config := writeConfig(t, dir, fix.KeysDir)
	adminKey := strings.TrimSpace(mustRun(t, bin, nil, "admin", "init", "--create", "--config", config))
	reg := startRegistry(t, bin, config)
	admin := []string{"COMET_API_KEY=" + adminKey, "COMET_REGISTRY=" + reg.url}
	anon := []string{"COMET_REGISTRY=" + reg.url}
	registerProvider(t, bin, dir, admin, anon)
	if out := mustRun(t, bin, anon, "submit", "--api-key-file", p("provider.key"), "--model", p("model.json"),
		"--manifest", p("data.manifest.json"), "--proof", p("model.proof.json"), "--wait"); !strings.Contains(out, "logged: attestation") {
		t.Fatalf("submit:\n%s", out)
	}
	sha := fix.ModelSHA256
	// The fixture's keys come from a single-party setup: both sides accept it by name.
	cli := []string{"verify", sha, "--state-dir", p("state"), "--allow-single-party-setup"}
	page := reg.url + "/verify?single_party=1&model=" + sha
	ctx := newBrowser(t, 1280)

	// First use on both sides: the CLI pins the registry's root; the page asks and pins it.
	start := time.Now()
	code, cliOut, cliErr := run(t, bin, anon, cli...)
	cliFirst := time.Since(start)
	if code != 0 {
		t.Fatalf("comet verify: exit %d\n%s%s", code, cliOut, cliErr)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible("#trust-accept")); err != nil {
		t.Fatal(err)
	}
	fp, err := chromedp.Run(ctx, chromedp.Text("#trust-fingerprint"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cliOut, "("+fp+")") {
		t.Errorf("the page asks to pin %s; the CLI pinned:\n%s", fp, cliOut)
	}
	screenshot(t, ctx, "verify-trust-on-first-use")
	if err := chromedp.Do(ctx, chromedp.Click("#trust-accept")); err != nil {
		t.Fatal(err)
	}
	lines, verdict := pageReport(t, ctx)
	sameReport(t, "a model that verifies", cliOut, lines)
	if !strings.HasPrefix(verdict, "Verified") {
		t.Errorf("verdict %q", verdict)
	}
	screenshot(t, ctx, "verify-desktop")

	// Again, the root pinned on both sides: the time of a whole verification.
	start = time.Now()
	code, cliOut, cliErr = run(t, bin, anon, cli...)
	cliAgain := time.Since(start)
	if code != 0 {
		t.Fatalf("comet verify again: exit %d\n%s%s", code, cliOut, cliErr)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatal(err)
	}
	lines, _ = pageReport(t, ctx)
	sameReport(t, "a model that verifies, root pinned", cliOut, lines)
	ms, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("result").dataset.ms`))
	if err != nil {
		t.Fatal(err)
	}
	loadMs, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("result").dataset.loadMs`))
	if err != nil {
		t.Fatal(err)
	}
	browserMs, _ := strconv.Atoi(ms)
	t.Logf("FJC model %s: in Chromium %d ms (verifier loaded in %s ms); comet verify %d ms first use, %d ms pinned",
		sha[:12], browserMs, loadMs, cliFirst.Milliseconds(), cliAgain.Milliseconds())
	if browserMs > 2000 {
		t.Logf("goal missed: a whole verification in the browser took %d ms (goal < 2000)", browserMs)
	}

	// A visitor who refuses the registry's root on first use: nothing runs, nothing is pinned,
	// and the next visit asks again.
	narrow := newBrowser(t, 390)
	// Headless Chromium's windows are at least 500 px wide: the viewport is set as a phone's.
	if err := chromedp.Do(narrow, chromedp.EmulateViewport(390, 844), chromedp.Navigate(page), chromedp.WaitVisible("#trust-refuse"), chromedp.Click("#trust-refuse")); err != nil {
		t.Fatal(err)
	}
	lines, verdict = pageReport(t, narrow)
	pinned, err := chromedp.Run(narrow, chromedp.Evaluate[int](`Object.keys(localStorage).filter(k => k.startsWith("comet/trustroots/")).length`))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 0 || !strings.Contains(verdict, "the visitor did not pin trust root version 1 (sha256:"+strings.TrimPrefix(fp, "sha256:")+")") || pinned != 0 {
		t.Errorf("refused on first use: %d lines, %d roots pinned, verdict %q", len(lines), pinned, verdict)
	}
	if err := chromedp.Do(narrow, chromedp.Navigate(page), chromedp.WaitVisible("#trust-accept"), chromedp.Click("#trust-accept")); err != nil {
		t.Fatal(err)
	}
	lines, _ = pageReport(t, narrow)
	if len(lines) == 0 || !strings.Contains(lines[len(lines)-1], "every check passed") {
		t.Errorf("390 px wide:\n%s", strings.Join(lines, "\n"))
	}
	if w, err := chromedp.Run(narrow, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); err != nil || w > 390 {
		wide, _ := chromedp.Run(narrow, chromedp.Evaluate[[]string](`[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > 390).map(e => e.tagName + "#" + e.id + "." + e.className)`))
		t.Errorf("the page is %d px wide at 390 (%v): it scrolls sideways; wider: %v", w, err, wide)
	}
	screenshot(t, narrow, "verify-390")

	// A model file with one weight changed, dropped on the page: refused as the CLI refuses it.
	edited := regexp.MustCompile(`"weights":\[([-0-9.e+]+)`).ReplaceAllStringFunc(string(fix.Model), func(m string) string {
		w, err := strconv.ParseFloat(strings.TrimPrefix(m, `"weights":[`), 64)
		if err != nil {
			t.Fatal(err)
		}
		return `"weights":[` + strconv.FormatFloat(100*w+1, 'g', -1, 64)
	})
	if err := os.WriteFile(p("edited.json"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, cliErr = run(t, bin, anon, "verify", p("edited.json"), "--state-dir", p("state"), "--allow-single-party-setup")
	if code != 2 || !strings.Contains(cliErr, "weights[0]") {
		t.Fatalf("comet verify of the edited model: exit %d: %s", code, cliErr)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(reg.url+"/verify?single_party=1"), chromedp.WaitReady("#model-file"),
		chromedp.SetUploadFiles("#model-file", []string{p("edited.json")}), chromedp.Click("#verify-button")); err != nil {
		t.Fatal(err)
	}
	lines, verdict = pageReport(t, ctx)
	if want := strings.TrimPrefix(strings.ReplaceAll(strings.TrimSpace(cliErr), p("edited.json"), "edited.json"), "comet: "); len(lines) != 0 || verdict != want {
		t.Errorf("the edited model in the page: %d lines, verdict %q; the CLI: %q", len(lines), verdict, want)
	}

	// Revoked: one line fails, on both sides, with the same words.
	mustRun(t, bin, admin, "admin", "revoke", sha, "--reason", "training data withdrawn")
	code, cliOut, cliErr = run(t, bin, anon, cli...)
	if code != 1 || !regexp.MustCompile(`(?m)^attestation not revoked\s+failed\s`).MatchString(cliOut) {
		t.Fatalf("comet verify of the revoked model: exit %d\n%s%s", code, cliOut, cliErr)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatal(err)
	}
	lines, verdict = pageReport(t, ctx)
	sameReport(t, "a revoked model", cliOut, lines)
	if want := strings.TrimPrefix(strings.TrimSpace(cliErr), "comet: "); verdict != want {
		t.Errorf("verdict of the revoked model:\n page %q\n CLI  %q", verdict, want)
	}
	failed := 0
	for _, l := range lines {
		if regexp.MustCompile(`^\S.*?\s+failed\s`).MatchString(l) {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d failed lines, want 1:\n%s", failed, strings.Join(lines, "\n"))
	}
	screenshot(t, ctx, "verify-revoked")

	// A pinned root that does not chain to the registry's (another registry's root, pinned
	// in its place): both sides refuse what the registry serves, with the same words, naming
	// the fork (the registry's version 1 is not the pinned version 1).
	if err := os.MkdirAll(p("other"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := startRegistry(t, bin, writeConfig(t, p("other"), fix.KeysDir))
	foreign := fetch(t, other.url+"/v1/trustroot")
	if err := os.WriteFile(pinnedRoot(t, p("state")), foreign, 0o644); err != nil {
		t.Fatal(err)
	}
	code, cliOut, cliErr = run(t, bin, anon, cli...)
	if code != 1 || cliOut != "" || !strings.Contains(cliErr, "check failed: ") || !strings.Contains(cliErr, "trust root fork") {
		t.Fatalf("comet verify from a foreign pinned root: exit %d\n%s%s", code, cliOut, cliErr)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const k = Object.keys(localStorage).filter(k => k.startsWith("comet/trustroots/"));
		if (k.length !== 1) return false; localStorage.setItem(k[0], "`+base64.StdEncoding.EncodeToString(foreign)+`"); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatal(err)
	}
	lines, verdict = pageReport(t, ctx)
	if want := strings.TrimPrefix(strings.TrimSpace(cliErr), "comet: "); len(lines) != 0 || verdict != want {
		t.Errorf("a foreign pinned root: %d lines, verdict\n page %q\n CLI  %q", len(lines), verdict, want)
	}
	other.stop(t)
	reg.stop(t)
}

// pageReport waits for the page's verification to end and returns its report lines and
// its verdict.
func pageReport(t *testing.T, ctx context.Context) ([]string, string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("result").dataset.state === "done"`,
		chromedp.WithPollingTimeout(time.Minute), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("the page's verification did not end: %v", err)
	}
	lines, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#report li")].map(li => li.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	verdict, err := chromedp.Run(ctx, chromedp.Text("#verdict"))
	if err != nil {
		t.Fatal(err)
	}
	return lines, verdict
}

// trustRootIn is where a note says the trust root is kept: a file for the CLI, localStorage
// in the browser. The rest of every line must be the same.
var trustRootIn = regexp.MustCompile(`(pinned (on first use from \S+ into|in)) (.*?)( \(trust on first use|$)`)

// sameReport compares the CLI's output with the page's lines, line for line.
func sameReport(t *testing.T, what, cliOut string, page []string) {
	t.Helper()
	cli := strings.Split(strings.TrimSuffix(cliOut, "\n"), "\n")
	norm := func(l string) string { return trustRootIn.ReplaceAllString(l, "$1 STATE$4") }
	for i := range max(len(cli), len(page)) {
		var c, w string
		if i < len(cli) {
			c = norm(cli[i])
		}
		if i < len(page) {
			w = norm(page[i])
		}
		if c != w {
			t.Errorf("%s: line %d differs:\n CLI  %q\n page %q", what, i+1, c, w)
		}
	}
}
