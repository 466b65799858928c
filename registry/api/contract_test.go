package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// contract checks responses against docs/openapi.yaml: the route and method must be
// documented, the status must be one the operation declares, the content type one it
// declares for that status, the headers it marks required present, and a JSON body must
// validate against the declared schema. A method that a documented path does not list must
// answer the shared MethodNotAllowed response, its Allow header naming the path's methods.
type contract struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	routes   []route

	mu      sync.Mutex
	schemas map[string]*jsonschema.Schema
}

// route is a path template as two patterns. strict holds each path parameter to its
// schema's pattern or enum, which tells the tlog-tiles templates apart ("001.p" is no
// x-group); loose lets a parameter be any text within a segment, so that a request with a
// bad parameter still finds the route whose 400 or 404 it should get.
type route struct {
	tmpl          string
	strict, loose *regexp.Regexp
}

var paramRE = regexp.MustCompile(`\{([a-z0-9_]+)\}`)

func loadContract(t testing.TB) *contract {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var y map[string]any
	if err := yaml.Unmarshal(raw, &y); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	js, err := json.Marshal(y)
	if err != nil {
		t.Fatalf("openapi.yaml to JSON: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("openapi.json", doc); err != nil {
		t.Fatal(err)
	}
	k := &contract{doc: doc.(map[string]any), compiler: c, schemas: map[string]*jsonschema.Schema{}}
	for tmpl, item := range k.doc["paths"].(map[string]any) {
		params := k.pathParams(item.(map[string]any))
		var strict, loose strings.Builder
		last := 0
		for _, m := range paramRE.FindAllStringSubmatchIndex(tmpl, -1) {
			lit := regexp.QuoteMeta(tmpl[last:m[0]])
			strict.WriteString(lit)
			loose.WriteString(lit)
			name := tmpl[m[2]:m[3]]
			p, ok := params[name]
			if !ok {
				t.Fatalf("openapi.yaml: %s: path parameter %s is not declared", tmpl, name)
			}
			strict.WriteString("(?:" + p + ")")
			loose.WriteString("[^/]+")
			last = m[1]
		}
		lit := regexp.QuoteMeta(tmpl[last:])
		strict.WriteString(lit)
		loose.WriteString(lit)
		k.routes = append(k.routes, route{tmpl: tmpl,
			strict: regexp.MustCompile("^" + strict.String() + "$"), loose: regexp.MustCompile("^" + loose.String() + "$")})
	}
	// Literal routes before templated ones: /v1/log/checkpoint before the tile templates.
	sort.Slice(k.routes, func(i, j int) bool {
		a, b := strings.Count(k.routes[i].tmpl, "{"), strings.Count(k.routes[j].tmpl, "{")
		if a != b {
			return a < b
		}
		return k.routes[i].tmpl < k.routes[j].tmpl
	})
	return k
}

// pathParams maps each path parameter of a path item's operations to the pattern that its
// schema allows.
func (k *contract) pathParams(item map[string]any) map[string]string {
	out := map[string]string{}
	add := func(list any) {
		ps, _ := list.([]any)
		for _, p := range ps {
			pm := p.(map[string]any)
			if ref, ok := pm["$ref"].(string); ok {
				pm = k.resolve(ref)
			}
			if pm["in"] != "path" {
				continue
			}
			s, _ := pm["schema"].(map[string]any)
			if ref, ok := s["$ref"].(string); ok {
				s = k.resolve(ref)
			}
			pat := "[^/]+"
			if p, ok := s["pattern"].(string); ok {
				pat = strings.TrimSuffix(strings.TrimPrefix(p, "^"), "$")
			} else if enum, ok := s["enum"].([]any); ok {
				alts := make([]string, len(enum))
				for i, e := range enum {
					alts[i] = regexp.QuoteMeta(fmt.Sprint(e))
				}
				pat = strings.Join(alts, "|")
			}
			out[pm["name"].(string)] = pat
		}
	}
	add(item["parameters"])
	for _, op := range item {
		if om, ok := op.(map[string]any); ok {
			add(om["parameters"])
		}
	}
	return out
}

// match returns the template that documents path, or "".
func (k *contract) match(path string) string {
	for _, r := range k.routes {
		if r.strict.MatchString(path) {
			return r.tmpl
		}
	}
	for _, r := range k.routes {
		if r.loose.MatchString(path) {
			return r.tmpl
		}
	}
	return ""
}

func escape(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }

// operationMethods are the methods an OpenAPI path item may list.
var operationMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// check validates one response, of which only the content type is known, and returns what
// is wrong, or "".
func (k *contract) check(method, path string, status int, contentType string, body []byte) string {
	return k.checkResponse(method, path, status, http.Header{"Content-Type": {contentType}}, body)
}

// checkResponse validates one response and returns what is wrong, or "".
func (k *contract) checkResponse(method, path string, status int, h http.Header, body []byte) string {
	tmpl := k.match(path)
	if tmpl == "" {
		if status == http.StatusNotFound {
			return k.checkBody(method, path, "#/components/responses/Error", h, body)
		}
		return "undocumented path"
	}
	item := k.doc["paths"].(map[string]any)[tmpl].(map[string]any)
	op, ok := item[strings.ToLower(method)].(map[string]any)
	if !ok {
		if status != http.StatusMethodNotAllowed {
			return "undocumented method for " + tmpl
		}
		var listed []string
		for _, m := range operationMethods {
			if _, ok := item[m]; ok {
				listed = append(listed, strings.ToUpper(m))
			}
		}
		var allow []string
		for _, v := range h.Values("Allow") {
			for _, m := range strings.Split(v, ",") {
				allow = append(allow, strings.TrimSpace(m))
			}
		}
		sort.Strings(listed)
		sort.Strings(allow)
		if !slices.Equal(allow, listed) {
			return fmt.Sprintf("Allow %q, but %s lists %q", allow, tmpl, listed)
		}
		return k.checkBody(method, path, "#/components/responses/MethodNotAllowed", h, body)
	}
	st := fmt.Sprint(status)
	if _, ok := op["responses"].(map[string]any)[st]; !ok {
		return fmt.Sprintf("status %d is not documented for %s %s (body %s)", status, method, tmpl, body)
	}
	return k.checkBody(method, path, "#/paths/"+escape(tmpl)+"/"+strings.ToLower(method)+"/responses/"+st, h, body)
}

// checkBody checks the headers and body of a response against the response object at ptr.
func (k *contract) checkBody(method, path, ptr string, h http.Header, body []byte) string {
	resp := k.resolve(ptr)
	if ref, ok := resp["$ref"].(string); ok {
		ptr = ref
		resp = k.resolve(ref)
	}
	headers, _ := resp["headers"].(map[string]any)
	for name, hd := range headers {
		if req, _ := hd.(map[string]any)["required"].(bool); req && h.Get(name) == "" {
			return "no " + name + " header, which " + ptr + " requires"
		}
	}
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if len(body) != 0 {
			return "a body where the document declares none"
		}
		return ""
	}
	if method == http.MethodHead {
		return "" // a HEAD answer has no body to check (RFC 9110 section 9.3.2)
	}
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return fmt.Sprintf("content type %q: %v", h.Get("Content-Type"), err)
	}
	media, ok := content[mt].(map[string]any)
	if !ok {
		documented := slices.Sorted(maps.Keys(content))
		return fmt.Sprintf("content type %s, documented %s", mt, strings.Join(documented, " or "))
	}
	if _, ok := media["schema"]; !ok || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return ""
	}
	return k.validate(method, path, ptr+"/content/"+escape(mt)+"/schema", body)
}

func (k *contract) resolve(ref string) map[string]any {
	var cur any = k.doc
	for _, p := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		cur = cur.(map[string]any)[strings.NewReplacer("~1", "/", "~0", "~").Replace(p)]
	}
	return cur.(map[string]any)
}

func (k *contract) validate(method, path, ptr string, body []byte) string {
	k.mu.Lock()
	s, ok := k.schemas[ptr]
	if !ok {
		var err error
		if s, err = k.compiler.Compile("openapi.json" + ptr); err != nil {
			k.mu.Unlock()
			return "compile " + ptr + ": " + err.Error()
		}
		k.schemas[ptr] = s
	}
	k.mu.Unlock()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return "body is not JSON: " + err.Error()
	}
	if err := s.Validate(v); err != nil {
		return fmt.Sprintf("%s %s: body %s does not match %s: %v", method, path, body, ptr, err)
	}
	return ""
}

// transport checks every response that passes through it.
type transport struct {
	t    testing.TB
	k    *contract
	base http.RoundTripper
}

func (tr transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := tr.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if msg := tr.k.checkResponse(req.Method, req.URL.Path, resp.StatusCode, resp.Header, body); msg != "" {
		tr.t.Errorf("openapi: %s %s → %d: %s", req.Method, req.URL.Path, resp.StatusCode, msg)
	}
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
		tr.t.Errorf("%s %s → %d: %s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	return resp, nil
}

// The checker itself: a response that breaks the document is caught.
func TestContractCatchesDrift(t *testing.T) {
	k := loadContract(t)
	const jsonType = "application/json; charset=utf-8"
	sha := strings.Repeat("a", 64)
	notFound := `{"error":{"code":"not_found","message":"x"}}`
	notAllowed := `{"error":{"code":"bad_request","message":"method not allowed"}}`
	for _, tc := range []struct {
		method, path string
		status       int
		header       http.Header
		body         string
		ok           bool
	}{
		{"GET", "/healthz", 200, nil, `{"status":"ok"}`, true},
		{"GET", "/healthz", 200, nil, `{"status":"ok","extra":1}`, false},
		{"GET", "/healthz", 201, nil, `{"status":"ok"}`, false},
		{"GET", "/healthz", 200, http.Header{"Content-Type": {"text/plain"}}, `{"status":"ok"}`, false},
		{"GET", "/v1/models/" + sha, 404, nil, notFound, true},
		{"GET", "/v1/models/" + sha, 404, nil, `{"error":{"code":"nope","message":"x"}}`, false},
		{"GET", "/v1/models/zzz", 400, nil, `{"error":{"code":"bad_request","message":"x"}}`, true},
		{"GET", "/v1/nowhere", 200, nil, `{}`, false},
		{"GET", "/v1/nowhere", 404, nil, notFound, true},
		{"POST", "/v1/log/checkpoint", 200, nil, `{}`, false},
		{"POST", "/v1/log/checkpoint", 405, http.Header{"Allow": {"GET"}}, notAllowed, true},
		{"POST", "/v1/log/checkpoint", 405, nil, notAllowed, false},
		{"POST", "/v1/log/checkpoint", 405, http.Header{"Allow": {"GET, POST"}}, notAllowed, false},
		{"DELETE", "/v1/providers/acme/keys", 405, http.Header{"Allow": {"GET, POST"}}, notAllowed, true},
		{"POST", "/v1/log/checkpoint", 405, http.Header{"Allow": {"GET"}}, `{}`, false},
		{"GET", "/v1/log/checkpoint", 200, http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, "origin\n", true},
		{"GET", "/v1/log/tile/0/001.p/164", 200, http.Header{"Content-Type": {"application/octet-stream"}}, "\x00", true},
		{"GET", "/v1/log/tile/entries/x001/x234/567", 200, http.Header{"Content-Type": {"application/octet-stream"}}, "\x00", true},
		{"GET", "/v1/log/tile/0/001.p/164", 200, http.Header{"Content-Type": {"application/x-tex-pk"}}, "\x00", false},
		{"GET", "/v1/log/tile/0/001.p/164", 304, nil, "", false}, // a partial tile has no ETag
		{"GET", "/v1/keys/c/pk", 200, http.Header{"Content-Type": {"application/x-tex-pk"}}, "\x00", false},
		{"GET", "/v1/keys/c/pk", 200, http.Header{"Content-Type": {"application/octet-stream"}}, "\x00", true},
		{"GET", "/v1/keys/c/keys.json", 200, nil, `{"shape":"x"}`, true},
		{"GET", "/v1/keys/c/keys.json", 200, nil, `[1]`, false},
	} {
		h := http.Header{"Content-Type": {jsonType}}
		for name, v := range tc.header {
			h[name] = v
		}
		msg := k.checkResponse(tc.method, tc.path, tc.status, h, []byte(tc.body))
		if (msg == "") != tc.ok {
			t.Errorf("%s %s %d %v %s: got %q", tc.method, tc.path, tc.status, tc.header, tc.body, msg)
		}
	}
}

// Every tlog-tiles path finds its own template, whatever the number of groups in its index;
// a path that is no tile finds none of theirs.
func TestContractTileRoutes(t *testing.T) {
	k := loadContract(t)
	for path, want := range map[string]string{
		"/v1/log/checkpoint":                                      "/v1/log/checkpoint",
		"/v1/log/tile/0/000":                                      "/v1/log/tile/{level}/{n}",
		"/v1/log/tile/entries/000.p/1":                            "/v1/log/tile/{level}/{n}.p/{width}",
		"/v1/log/tile/0/001.p/164":                                "/v1/log/tile/{level}/{n}.p/{width}",
		"/v1/log/tile/1/x001/234":                                 "/v1/log/tile/{level}/{x1}/{n}",
		"/v1/log/tile/63/x001/234.p/7":                            "/v1/log/tile/{level}/{x1}/{n}.p/{width}",
		"/v1/log/tile/0/x072/x057/x594/x037/x927/935":             "/v1/log/tile/{level}/{x1}/{x2}/{x3}/{x4}/{x5}/{n}",
		"/v1/log/tile/entries/x072/x057/x594/x037/x927/935.p/255": "/v1/log/tile/{level}/{x1}/{x2}/{x3}/{x4}/{x5}/{n}.p/{width}",
		"/v1/keys/c/keys.json":                                    "/v1/keys/{circuit}/{file}",
	} {
		if got := k.match(path); got != want {
			t.Errorf("%s: template %q, want %q", path, got, want)
		}
	}
	if got := k.match("/v1/log/tile/0/x001/x002/x003/x004/x005/x006/007"); got != "" {
		t.Errorf("a tile index of 21 digits, more than a 64-bit log has: template %q", got)
	}
}
