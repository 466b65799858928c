package web_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/comet-attest/comet/registry/registrytest"
	"github.com/comet-attest/comet/registry/server"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
	"github.com/comet-attest/comet/web"
	"github.com/gin-gonic/gin"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode) // as main does: no route listing per test server
	code := m.Run()
	registrytest.Cleanup()
	os.Exit(code)
}

// hostile is what a provider puts in every string it controls: markup that would run if it
// were not escaped, and bidirectional controls that would reorder the page around it.
const (
	xss     = "<script>alert(1)</script>"
	bidiMix = "\u202Egnp.exe\u2066x\u2069\u202A\u202B\u202C\u202D\u2067\u2068"
	// A model name is a file name: no '/', so no closing tag.
	xssName = "<script>alert(1)" + bidiMix
)

var bidiRE = regexp.MustCompile("[\u202A-\u202E\u2066-\u2069]")

// publicRegistry is a real registry (server.Open on SQLite, serving on loopback) holding one
// attested, evaluated and revoked model whose provider-supplied strings are all hostile,
// submitted through the service: the API itself refuses bidirectional controls in requests,
// so the service is the way in that lets the pages' own defences be tested.
type publicRegistry struct {
	*registrytest.Server
	sha, attestation string
	sub2             string // an attested model that is not revoked
	rejected         string // a model whose submission was rejected
}

func newPublicRegistry(t *testing.T) *publicRegistry {
	t.Helper()
	if testing.Short() {
		t.Skip("proves and verifies a model and an evaluation (seconds)")
	}
	fix := registrytest.Get(t)
	testManifest, bundle, keysDir, err := fix.Evaluation("court-of-appeal", fix.Model)
	if err != nil {
		t.Fatal(err)
	}
	cfg := registrytest.Config(t)
	cfg.Registry.CircuitKeysDir = keysDir
	reg := registrytest.ServeWith(t, cfg, nil, server.Options{Site: web.ForServer})
	ctx := context.Background()
	svc := reg.Service
	admin, err := svc.Authenticate(ctx, reg.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	account := func(id string, role store.Role) *service.Principal {
		_, key, err := svc.Register(ctx, service.Registration{ID: id, DisplayName: xss + bidiMix + " " + id, Contact: "secret-contact@" + id + ".example", Role: string(role)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SetProvider(ctx, admin, id, service.Approve, xss); err != nil {
			t.Fatal(err)
		}
		p, err := svc.Authenticate(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	prov := account(registrytest.Provider, store.RoleProvider)
	court := account("court-of-appeal", store.RoleEvaluator)
	sub, err := svc.Submit(ctx, prov, service.Submission{ModelName: xssName, Model: fix.Model, Manifest: fix.Manifest, Proof: fix.Proof})
	if err != nil {
		t.Fatal(err)
	}
	m2, p2, sha2, err := fix.Variant(1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Submit(ctx, prov, service.Submission{ModelName: "plain.json", Model: m2, Manifest: fix.Manifest, Proof: p2}); err != nil {
		t.Fatal(err)
	}
	// An untrained model whose proof verifies but bounds nothing useful: the registry's
	// tolerance policy rejects it.
	m3, p3, err := fix.Untrained(registrytest.Provider, 200)
	if err != nil {
		t.Fatal(err)
	}
	sub3, err := svc.Submit(ctx, prov, service.Submission{ModelName: "untrained.json", Model: m3, Manifest: fix.Manifest, Proof: p3})
	if err != nil {
		t.Fatal(err)
	}
	for _, sha := range []string{fix.ModelSHA256, sha2} {
		waitFor(t, "model "+sha+" logged", func() bool {
			v, err := reg.Store.ModelView(ctx, sha)
			return err == nil && v.Status != nil && *v.Status == store.StatusLogged && v.LogIndex != nil
		})
	}
	waitFor(t, "untrained model rejected", func() bool {
		v, err := reg.Store.ModelView(ctx, sub3.ModelSHA256)
		return err == nil && v.Status != nil && *v.Status == store.StatusRejected
	})
	ev, err := svc.SubmitEvaluation(ctx, court, service.EvaluationSubmission{ModelSHA256: fix.ModelSHA256, Manifest: testManifest, Bundle: bundle})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "evaluation logged", func() bool {
		e, err := reg.Store.Evaluation(ctx, ev.ID)
		return err == nil && e.Status == store.StatusLogged
	})
	att, err := reg.Store.AttestationBySubmission(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Revoke(ctx, admin, att.ID, xss+bidiMix); err != nil {
		t.Fatal(err)
	}
	// A checkpoint that covers both models.
	waitFor(t, "checkpoint", func() bool {
		raw, err := svc.Checkpoint(ctx)
		return err == nil && !strings.Contains(string(raw), "\n0\n")
	})
	return &publicRegistry{Server: reg, sha: fix.ModelSHA256, attestation: att.ID, sub2: sha2, rejected: sub3.ModelSHA256}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// get fetches a page without following redirects.
func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 30 * time.Second}
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// The public pages of a real registry, good addresses and bad: each answers its status,
// shows what it must and never a provider's contact, and every provider string on it is
// escaped and its bidirectional controls neutralised.
func TestPublicPages(t *testing.T) {
	r := newPublicRegistry(t)
	sha := r.sha
	for _, tc := range []struct {
		name, path string
		status     int
		want       []string
		location   string
	}{
		{name: "home", path: "/", status: 200, want: []string{`id="q"`, "Recent attestations", "/models/" + sha, "/models/" + r.sub2, "Revoked", "plain.json"}},
		{name: "full hash", path: "/?q=" + strings.ToUpper(sha), status: 303, location: "/models/" + sha},
		{name: "prefix", path: "/?q=" + sha[:8], status: 200, want: []string{"starts with", "/models/" + sha}},
		{name: "prefix without match", path: "/?q=00000000000", status: 200, want: []string{"No registered model"}},
		{name: "not hex", path: "/?q=not-a-hash", status: 400, want: []string{"other characters", `aria-invalid="true"`}},
		{name: "short prefix", path: "/?q=abc", status: 400, want: []string{"at least 8"}},
		{name: "too long", path: "/?q=" + sha + "00", status: 400, want: []string{"64 hexadecimal digits"}},
		{name: "forged cursor", path: "/?cursor=forged", status: 400, want: []string{"cursor"}},
		{name: "model", path: "/models/" + sha, status: 200, want: []string{
			`<section id="revocation" class="banner-revoked"`, `class="tag proven"`, `class="tag claimed"`, "What is proven", "What is only claimed",
			`<svg class="weights"`, "<title", "/verify?model=" + sha, "/v1/models/" + sha + "/file", "/v1/attestations/" + r.attestation + "/bundle",
			"/v1/models/" + sha + "/proof", "/v1/models/" + sha + "/manifest", "/v1/trustroot", "court-of-appeal", "regression",
			"Included in the latest checkpoint", "/providers/" + registrytest.Provider, "&lt;script&gt;alert(1)", "[U&#43;202E]"}},
		{name: "attested model", path: "/models/" + r.sub2, status: 200, want: []string{"plain.json", `class="tag proven"`, "Logged"}},
		{name: "rejected model", path: "/models/" + r.rejected, status: 200, want: []string{"untrained.json", "Rejected", "<code>tolerance</code>",
			"No attestation of this model is signed", "/v1/models/" + r.rejected + "/proof"}},
		{name: "unknown model", path: "/models/" + strings.Repeat("0", 64), status: 404, want: []string{"Not found"}},
		{name: "malformed hash", path: "/models/" + sha[:40], status: 404},
		{name: "upper-case hash", path: "/models/" + strings.ToUpper(sha), status: 404},
		{name: "provider", path: "/providers/" + registrytest.Provider, status: 200, want: []string{"Approved", "/models/" + sha, "/models/" + r.sub2, "&lt;script&gt;"}},
		{name: "evaluator", path: "/providers/court-of-appeal", status: 200, want: []string{"Evaluator"}},
		{name: "provider bad cursor", path: "/providers/" + registrytest.Provider + "?cursor=Zm9v", status: 400},
		{name: "unknown provider", path: "/providers/nobody-here", status: 404},
		{name: "malformed provider", path: "/providers/NOT_AN_ID", status: 404},
		{name: "log", path: "/log", status: 200, want: []string{"Latest checkpoint", "<pre class=\"note\">", "Witness cosignatures", "Latest anchors"}},
		{name: "no such page", path: "/models", status: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, r.URL+tc.path)
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s: %d, want %d\n%s", tc.path, resp.StatusCode, tc.status, body)
			}
			if tc.location != "" && resp.Header.Get("Location") != tc.location {
				t.Errorf("Location %q, want %q", resp.Header.Get("Location"), tc.location)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s lacks %q", tc.path, w)
				}
			}
			checkSafe(t, tc.path, body)
		})
	}
}

// checkSafe fails if a page holds a provider's markup unescaped, a raw bidirectional
// control, or anything the public may not see.
func checkSafe(t *testing.T, path, body string) {
	t.Helper()
	if strings.Contains(body, "<script>alert(1)") || strings.Contains(strings.ToLower(body), "<script") {
		t.Errorf("GET %s: unescaped <script>", path)
	}
	if loc := bidiRE.FindStringIndex(body); loc != nil {
		t.Errorf("GET %s: raw bidirectional control %q at byte %d", path, body[loc[0]:loc[1]], loc[0])
	}
	if strings.Contains(body, "secret-contact@") || strings.Contains(body, "comet_") {
		t.Errorf("GET %s shows a contact or a key", path)
	}
}

// The chart has one bar per weight of the model file, and the table beside it one row.
func TestModelChart(t *testing.T) {
	r := newPublicRegistry(t)
	_, body := get(t, r.URL+"/models/"+r.sub2)
	svg := body[strings.Index(body, `<svg class="weights"`):strings.Index(body, "</svg>")]
	bars := strings.Count(svg, `<rect class="bar"`)
	rows := strings.Count(body[strings.Index(body, `<table class="weights-table"`):], `<th scope="row">`)
	// The fixture's model: features a and b, and an intercept.
	if bars != 3 || rows < 3 || strings.Count(svg, "<title>") != bars {
		t.Errorf("chart: %d bars, %d table rows, %d bar titles", bars, rows, strings.Count(svg, "<title>"))
	}
	for _, f := range []string{">a<", ">b<", "(intercept)"} {
		if !strings.Contains(svg, f) {
			t.Errorf("chart lacks the label %s", f)
		}
	}
}
