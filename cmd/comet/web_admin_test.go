package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/registry/registrytest"
)

// The admin console in Chromium against comet serve: an operator logs in with the key of
// `comet admin init`, approves a provider, issues it a key (shown once), publishes the
// circuit shape its proof needs while the registry runs, watches the submission appear with
// its verification steps, and revokes the model, which the public API and page then show.
// A POST carrying a session cookie without the CSRF token is refused, and after logout the
// console is out of reach. Screenshots of the main pages at desktop and phone widths.
func TestWebAdminConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("starts comet serve and Chromium")
	}
	fix := registrytest.Get(t)
	bin := buildComet(t)
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	writeFixture(t, dir, fix, nil)
	// The registry starts with no circuit keys: the console publishes them.
	config := writeConfig(t, dir, p("published-keys"))
	adminKey := strings.TrimSpace(mustRun(t, bin, nil, "admin", "init", "--create", "--config", config))
	reg := startRegistry(t, bin, config)
	anon := []string{"COMET_REGISTRY=" + reg.url}
	mustRun(t, bin, anon, "provider", "register", "acme-legal", "--contact", "ops@acme.example", "--key-out", p("registration.key"))

	ctx := newBrowser(t, 1280)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, reg.log())
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	// Any admin page sends a visitor without a session to the login, then back.
	step("open the providers page", chromedp.Navigate(reg.url+"/admin/providers"), chromedp.WaitVisible("#key"))
	screenshot(t, ctx, "admin-login-desktop")
	step("log in with a wrong key", chromedp.SendKeys("#key", "comet_0123456789abcdef_"+strings.Repeat("0", 64)), chromedp.Click("#login"),
		chromedp.WaitVisible("#login-error"))
	if got := text("#login-error"); !strings.Contains(got, "not a valid admin API key") {
		t.Errorf("login error %q", got)
	}
	step("log in", chromedp.SendKeys("#key", adminKey), chromedp.Click("#login"), chromedp.WaitVisible("#approve-acme-legal"))

	step("approve acme-legal", chromedp.Click("#approve-acme-legal"), chromedp.WaitVisible("#result"))
	if got := text("#result"); !strings.Contains(got, "acme-legal is now approved") {
		t.Errorf("approve: %q", got)
	}
	step("issue a key", chromedp.Navigate(reg.url+"/admin/providers"), chromedp.SendKeys("#label-acme-legal", "console test"),
		chromedp.Click("#issue-acme-legal"), chromedp.WaitVisible("#secret"))
	issued, err := chromedp.Run(ctx, chromedp.Value("#secret"))
	if err != nil || !regexp.MustCompile(`^comet_[0-9a-f]{16}_[0-9a-f]{64}$`).MatchString(issued) {
		t.Fatalf("issued key %q, %v", issued, err)
	}
	screenshot(t, ctx, "admin-key-issued-desktop")
	step("providers again", chromedp.Navigate(reg.url+"/admin/providers"), chromedp.WaitVisible("#provider-acme-legal"))
	page, _ := chromedp.Run(ctx, chromedp.OuterHTML("html"))
	if strings.Contains(page, issued[23:]) || !strings.Contains(page, "console test") {
		t.Error("the providers page shows the issued key's secret again, or not the key")
	}
	screenshot(t, ctx, "admin-providers-desktop")

	// Publish the shape the fixture's proof needs; GET /v1/keys serves it without a restart.
	shapeDir := setup.Dir(fix.KeysDir, fix.Shape)
	step("publish a shape", chromedp.Navigate(reg.url+"/admin/circuits"), chromedp.SendKeys("#dir", shapeDir), chromedp.Click("#publish"),
		chromedp.WaitVisible("#result"))
	if got := text("#result"); !strings.Contains(got, fix.Shape.String()+" are published") {
		t.Fatalf("publish: %q\n%s", got, reg.log())
	}
	if keys := string(fetch(t, reg.url+"/v1/keys")); !strings.Contains(keys, fix.Shape.ID("chunk")) || !strings.Contains(keys, fix.Shape.ID("final")) {
		t.Fatalf("GET /v1/keys after publishing: %s", keys)
	}
	step("circuits", chromedp.Navigate(reg.url+"/admin/circuits"), chromedp.WaitVisible("#circuits"))
	screenshot(t, ctx, "admin-circuits-desktop")

	// The provider submits with the issued key; the console shows the model and its steps.
	if err := os.WriteFile(p("issued.key"), []byte(issued+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, bin, anon, "submit", "--api-key-file", p("issued.key"), "--model", p("model.json"), "--manifest", p("data.manifest.json"),
		"--proof", p("model.proof.json"), "--wait"); !strings.Contains(out, "logged: attestation") {
		t.Fatalf("submit:\n%s\n%s", out, reg.log())
	}
	// The trust root pins the shape published while serving: a client verifies the proof.
	if out := mustRun(t, bin, anon, "verify", p("model.json"), "--state-dir", p("state"), "--allow-single-party-setup"); !strings.Contains(out, "every check passed") {
		t.Errorf("verify of a model proven with a shape published from the console:\n%s", out)
	}
	sha := fix.ModelSHA256
	step("search models", chromedp.Navigate(reg.url+"/admin/models"), chromedp.SendKeys("#sha256", sha[:10]), chromedp.Click("#search"),
		// The results page echoes the search in the field's value attribute, which typing does not set.
		chromedp.WaitVisible(`#sha256[value="`+sha[:10]+`"]`), chromedp.WaitVisible("#models"), chromedp.Click(`#models a[href="/admin/models/`+sha+`"]`), chromedp.WaitVisible("#model-status"))
	if got := text("#model-status"); got != "logged" {
		t.Errorf("model status %q", got)
	}
	steps := text(".steps")
	for _, want := range []string{"submission.create", "attestation.sign", "attestation.log"} {
		if !strings.Contains(steps, want) {
			t.Errorf("the model's steps lack %s:\n%s", want, steps)
		}
	}
	if got := text("#log-index"); got != "0" {
		t.Errorf("log index %q", got)
	}
	screenshot(t, ctx, "admin-model-desktop")
	step("dashboard", chromedp.Navigate(reg.url+"/admin/"), chromedp.WaitVisible("#submission-counts"), chromedp.WaitVisible("svg.chart rect"))
	if got := text("#submission-counts"); !regexp.MustCompile(`logged\s*1`).MatchString(got) {
		t.Errorf("dashboard submission counts %q", got)
	}
	screenshot(t, ctx, "admin-dashboard-desktop")
	for _, pg := range []struct{ path, sel, name string }{
		{"/admin/jobs", "#jobs", "admin-jobs-desktop"}, {"/admin/log", "#log-size", "admin-log-desktop"},
		{"/admin/audit", "#audit", "admin-audit-desktop"},
	} {
		step(pg.path, chromedp.Navigate(reg.url+pg.path), chromedp.WaitVisible(pg.sel))
		screenshot(t, ctx, pg.name)
	}

	// Revoke, and see it in the API and on the public page.
	step("revoke", chromedp.Navigate(reg.url+"/admin/models/"+sha), chromedp.SendKeys("#reason", "training data withdrawn"),
		chromedp.Click("#revoke"), chromedp.WaitVisible("#result"))
	if got := text("#result"); !strings.Contains(got, "is revoked") {
		t.Fatalf("revoke: %q", got)
	}
	var lookup struct {
		Revocation *struct {
			Reason string `json:"reason"`
		} `json:"revocation"`
	}
	if err := json.Unmarshal(fetch(t, reg.url+"/v1/models/"+sha), &lookup); err != nil || lookup.Revocation == nil || lookup.Revocation.Reason != "training data withdrawn" {
		t.Errorf("GET /v1/models/%s after revoking: %+v, %v", sha, lookup.Revocation, err)
	}
	step("model after revoking", chromedp.Navigate(reg.url+"/admin/models/"+sha), chromedp.WaitVisible("#revoked"))
	// The public model page is another engineer's: once it exists it must show the revocation.
	if resp, err := http.Get(reg.url + "/models/" + sha); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			step("public model page", chromedp.Navigate(reg.url+"/models/"+sha), chromedp.WaitVisible("#revocation"))
		} else {
			t.Logf("no public model page yet (%d): checked the revocation through the API", resp.StatusCode)
		}
	}

	// A POST with a session cookie but without the CSRF token is refused.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := hc.PostForm(reg.url+"/admin/login", url.Values{"key": {adminKey}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/admin/" {
		t.Fatalf("login with Go's client: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	resp, err = hc.PostForm(reg.url+"/admin/providers/acme-legal/status", url.Values{"action": {"suspend"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "security token") {
		t.Errorf("POST without a CSRF token: %d\n%s", resp.StatusCode, body)
	}
	if out := mustRun(t, bin, anon, "lookup", p("model.json")); !strings.Contains(out, "acme-legal") {
		t.Errorf("lookup:\n%s", out)
	}

	// Phone width: the same pages laid out for 390 px.
	phone := newBrowser(t, 390)
	// Headless Chromium keeps its window at least 500 px wide: the viewport is emulated.
	if err := chromedp.Do(phone, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Navigate(reg.url+"/admin/login"), chromedp.WaitVisible("#key")); err != nil {
		t.Fatal(err)
	}
	screenshot(t, phone, "admin-login-phone")
	if err := chromedp.Do(phone, chromedp.SendKeys("#key", adminKey), chromedp.Click("#login"), chromedp.WaitVisible("#submission-counts")); err != nil {
		t.Fatal(err)
	}
	screenshot(t, phone, "admin-dashboard-phone")
	for _, pg := range []struct{ path, sel, name string }{
		{"/admin/providers", "#provider-acme-legal", "admin-providers-phone"}, {"/admin/models/" + sha, "#revoked", "admin-model-phone"},
		{"/admin/jobs", "#jobs", "admin-jobs-phone"}, {"/admin/circuits", "#circuits", "admin-circuits-phone"}, {"/admin/log", "#log-size", "admin-log-phone"},
	} {
		if err := chromedp.Do(phone, chromedp.Navigate(reg.url+pg.path), chromedp.WaitVisible(pg.sel)); err != nil {
			t.Fatalf("%s on a phone: %v", pg.path, err)
		}
		screenshot(t, phone, pg.name)
	}
	// The page fits the phone's width: nothing scrolls sideways but tables in their wrappers.
	if w, err := chromedp.Run(phone, chromedp.Evaluate[int]("document.documentElement.scrollWidth")); err != nil || w > 390 {
		t.Errorf("the log page is %d px wide on a 390 px phone (%v)", w, err)
	}

	// Logout: the console is out of reach for that browser again.
	step("log out", chromedp.Navigate(reg.url+"/admin/"), chromedp.WaitVisible(".logout button"), chromedp.Click(".logout button"), chromedp.WaitVisible("#key"))
	step("providers after logout", chromedp.Navigate(reg.url+"/admin/providers"), chromedp.WaitVisible("#key"))
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.Contains(loc, "/admin/login") {
		t.Errorf("after logout the providers page is at %q (%v)", loc, err)
	}
	reg.stop(t)
}
