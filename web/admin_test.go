package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/comet-attest/comet/internal/config"
	"github.com/comet-attest/comet/registry/registrytest"
	"github.com/comet-attest/comet/registry/server"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
	"github.com/comet-attest/comet/web"
)

// console is comet serve's admin console: a registry opened as comet serve opens it, on
// SQLite, with its jobs running, served on loopback; it publishes no circuit keys.
type console struct {
	url      string
	adminKey string
	svc      *service.Service
	st       *store.Store
}

func newConsole(t *testing.T, edit func(*config.Config)) *console {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Registry.CircuitKeysDir = filepath.Join(cfg.DataDir, "keys")
	if edit != nil {
		edit(&cfg)
	}
	s := registrytest.ServeWith(t, cfg, nil, server.Options{Site: web.ForServer})
	return &console{url: s.URL, adminKey: s.AdminKey, svc: s.Service, st: s.Store}
}

// browserish is an HTTP client that keeps cookies and does not follow redirects, so that
// a test sees each answer.
func browserish(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, method, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`)

func login(t *testing.T, c *http.Client, con *console) string {
	t.Helper()
	resp, _ := do(t, c, "POST", con.url+"/admin/login", url.Values{"key": {con.adminKey}, "next": {"/admin/providers"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/providers" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page := do(t, c, "GET", con.url+"/admin/", nil)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the dashboard:\n%s", page)
	}
	return m[1]
}

func TestAdminAccess(t *testing.T) {
	con := newConsole(t, nil)
	ctx := context.Background()
	if _, _, err := con.svc.Register(ctx, service.Registration{ID: "acme-legal", Contact: "ops@acme.example"}); err != nil {
		t.Fatal(err)
	}
	anon := browserish(t)
	// Without a session: pages send the visitor to the login, actions are refused.
	for _, p := range []string{"/admin/", "/admin/providers", "/admin/models", "/admin/models/" + strings.Repeat("a", 64), "/admin/jobs",
		"/admin/circuits", "/admin/log", "/admin/audit", "/admin/sessions"} {
		resp, _ := do(t, anon, "GET", con.url+p, nil)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/login?next=") {
			t.Errorf("GET %s without a session: %d to %q", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	for _, p := range []string{"/admin/providers/acme-legal/status", "/admin/logout", "/admin/jobs/1/retry", "/admin/circuits/publish", "/admin/nothing"} {
		if resp, _ := do(t, anon, "POST", con.url+p, url.Values{"action": {"approve"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without a session: %d", p, resp.StatusCode)
		}
	}
	// The login form is labelled, and a bad key is shown as an error on it.
	resp, page := do(t, anon, "GET", con.url+"/admin/login", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `<label for="key">`) || !strings.Contains(page, `id="key"`) {
		t.Errorf("login page %d:\n%s", resp.StatusCode, page)
	}
	for _, tc := range []struct {
		key    string
		status int
		says   string
	}{
		{"", http.StatusUnauthorized, "not a valid admin API key"},
		{"comet_0123456789abcdef_" + strings.Repeat("0", 64), http.StatusUnauthorized, "not a valid admin API key"},
	} {
		resp, page := do(t, anon, "POST", con.url+"/admin/login", url.Values{"key": {tc.key}})
		if resp.StatusCode != tc.status || !strings.Contains(page, tc.says) || !strings.Contains(page, `role="alert"`) {
			t.Errorf("login with %q: %d\n%s", tc.key, resp.StatusCode, page)
		}
	}

	c := browserish(t)
	resp, _ = do(t, c, "POST", con.url+"/admin/login", url.Values{"key": {con.adminKey}, "next": {"https://evil.example/"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/" {
		t.Fatalf("login with a foreign next: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "comet_admin" {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure || cookie.Path != "/" || len(cookie.Value) != 64 {
		t.Fatalf("session cookie %+v", cookie)
	}
	_, page = do(t, c, "GET", con.url+"/admin/", nil)
	csrf := csrfRE.FindStringSubmatch(page)[1]
	// Every page renders for the session.
	for _, p := range []string{"/admin/", "/admin/providers", "/admin/providers?status=pending", "/admin/models", "/admin/models?sha256=ab&name=x",
		"/admin/jobs", "/admin/jobs?state=available", "/admin/circuits", "/admin/log", "/admin/audit", "/admin/audit?action=admin.", "/admin/sessions"} {
		resp, page := do(t, c, "GET", con.url+p, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `action="/admin/logout"`) ||
			!strings.Contains(page, `href="`+strings.SplitN(p, "?", 2)[0]+`" aria-current="page"`) {
			t.Errorf("GET %s: %d, or its section is not marked current\n%s", p, resp.StatusCode, page)
		}
	}
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/admin/models/" + strings.Repeat("a", 64), http.StatusNotFound},
		{"/admin/models?sha256=XYZ", http.StatusBadRequest},
		{"/admin/jobs?state=bogus", http.StatusBadRequest},
		{"/admin/providers?status=bogus", http.StatusBadRequest},
		{"/admin/audit?cursor=forged", http.StatusBadRequest},
		{"/admin/nothing", http.StatusNotFound},
	} {
		if resp, _ := do(t, c, "GET", con.url+tc.path, nil); resp.StatusCode != tc.status {
			t.Errorf("GET %s: %d, want %d", tc.path, resp.StatusCode, tc.status)
		}
	}
	// An action without the token, or with another, is refused and changes nothing.
	for _, token := range []string{"", strings.Repeat("0", 64), csrf[:63]} {
		resp, _ := do(t, c, "POST", con.url+"/admin/providers/acme-legal/status", url.Values{"action": {"approve"}, "csrf": {token}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("approve with CSRF token %q: %d", token, resp.StatusCode)
		}
	}
	if p, _ := con.st.Provider(ctx, "acme-legal"); p.Status != store.ProviderPending {
		t.Fatalf("a refused action changed the provider: %s", p.Status)
	}
	for _, tc := range []struct {
		path   string
		form   url.Values
		status int
		says   string
	}{
		{"/admin/providers/acme-legal/status", url.Values{"action": {"approve"}}, http.StatusOK, "provider acme-legal is now approved"},
		{"/admin/providers/acme-legal/status", url.Values{"action": {"approve"}}, http.StatusConflict, "is approved"},
		{"/admin/providers/nobody/status", url.Values{"action": {"suspend"}}, http.StatusNotFound, "not found"},
		{"/admin/providers/acme-legal/status", url.Values{"action": {"promote"}}, http.StatusBadRequest, "unknown action"},
		{"/admin/providers/acme-legal/keys", url.Values{"label": {"ci"}}, http.StatusOK, "shown only this once"},
		{"/admin/jobs/x/retry", nil, http.StatusBadRequest, "not a positive integer"},
		{"/admin/jobs/424242/cancel", nil, http.StatusNotFound, "job 424242"},
		{"/admin/circuits/publish", url.Values{"dir": {"relative/dir"}}, http.StatusBadRequest, "not an absolute path"},
		{"/admin/circuits/generate", url.Values{"d": {"x"}}, http.StatusBadRequest, "not a whole number"},
		{"/admin/models/" + strings.Repeat("a", 64) + "/revoke", url.Values{"reason": {"r"}}, http.StatusNotFound, "not found"},
	} {
		form := url.Values{"csrf": {csrf}}
		for k, v := range tc.form {
			form[k] = v
		}
		resp, page := do(t, c, "POST", con.url+tc.path, form)
		if resp.StatusCode != tc.status || !strings.Contains(page, tc.says) {
			t.Errorf("POST %s %v: %d, want %d saying %q\n%s", tc.path, tc.form, resp.StatusCode, tc.status, tc.says, page)
		}
	}
	// The issued key was shown once and works.
	keys, _ := con.st.APIKeys(ctx, "acme-legal")
	if len(keys) != 2 || keys[0].Label != "ci" {
		t.Fatalf("keys %+v", keys)
	}
	// Logout ends the session: its cookie opens nothing, even if kept.
	resp, _ = do(t, c, "POST", con.url+"/admin/logout", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/login" {
		t.Fatalf("logout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	kept := browserish(t)
	u, _ := url.Parse(con.url)
	kept.Jar.SetCookies(u, []*http.Cookie{cookie})
	if resp, _ := do(t, kept, "GET", con.url+"/admin/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the logged-out session's cookie still opens the dashboard: %d", resp.StatusCode)
	}
	if resp, _ := do(t, kept, "POST", con.url+"/admin/providers/acme-legal/status", url.Values{"action": {"suspend"}, "csrf": {csrf}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the logged-out session's cookie and token still act: %d", resp.StatusCode)
	}
	evs, _, _ := con.st.SearchAudit(ctx, store.AuditFilter{Action: "admin."}, store.Page{})
	var actions []string
	for _, e := range evs {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, " "); got != "admin.logout admin.login admin.login_failed admin.login_failed" {
		t.Errorf("audited admin actions, newest first: %s", got)
	}
}

func TestAdminLoginRateLimit(t *testing.T) {
	// A burst of one failure per address and one in all, refilled in a quarter of an hour.
	con := newConsole(t, func(c *config.Config) {
		c.Server.FailedAuthPerSecond, c.Server.FailedAuthGlobalPerSecond = 0.001, 0.001
	})
	c := browserish(t)
	for i, want := range []int{http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusTooManyRequests} {
		resp, page := do(t, c, "POST", con.url+"/admin/login", url.Values{"key": {"wrong"}})
		if resp.StatusCode != want {
			t.Fatalf("attempt %d: %d, want %d\n%s", i, resp.StatusCode, want, page)
		}
	}
	// Even the right key waits once the address has used its failures up.
	if resp, page := do(t, c, "POST", con.url+"/admin/login", url.Values{"key": {con.adminKey}}); resp.StatusCode != http.StatusTooManyRequests ||
		!strings.Contains(page, "Too many failed logins") {
		t.Errorf("the right key after too many failures: %d", resp.StatusCode)
	}
}

// Behind a proxy that terminates TLS the session cookie is Secure and host-only, named so
// that a browser refuses it over plain HTTP or from a sibling domain.
func TestAdminSecureCookie(t *testing.T) {
	con := newConsole(t, func(c *config.Config) { c.Server.AdminSecureCookie = true })
	resp, _ := do(t, browserish(t), "POST", con.url+"/admin/login", url.Values{"key": {con.adminKey}})
	cs := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(cs) != 1 || cs[0].Name != "__Host-comet_admin" || !cs[0].Secure || !cs[0].HttpOnly ||
		cs[0].SameSite != http.SameSiteStrictMode || cs[0].Path != "/" || cs[0].Domain != "" {
		t.Fatalf("login: %d, cookies %+v", resp.StatusCode, cs)
	}
	// The same session through the proxy: the cookie opens the console.
	req, _ := http.NewRequest("GET", con.url+"/admin/", nil)
	req.AddCookie(&http.Cookie{Name: cs[0].Name, Value: cs[0].Value})
	got, err := browserish(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got.Body.Close()
	if got.StatusCode != http.StatusOK {
		t.Errorf("dashboard with the secure cookie: %d", got.StatusCode)
	}
}
