package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// contract checks responses against docs/openapi.yaml: the route and method must be
// documented, the status must be one the operation declares, and a JSON body must validate
// against the declared schema.
type contract struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	routes   []route

	mu      sync.Mutex
	schemas map[string]*jsonschema.Schema
}

type route struct {
	tmpl string
	re   *regexp.Regexp
}

var paramRE = regexp.MustCompile(`^\{[a-z0-9_]+\}$`)

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
	for tmpl := range k.doc["paths"].(map[string]any) {
		segs := strings.Split(tmpl, "/")
		for i, seg := range segs {
			switch {
			case seg == "{path}":
				segs[i] = ".+" // a tile path spans several segments
			case paramRE.MatchString(seg):
				segs[i] = "[^/]+"
			default:
				segs[i] = regexp.QuoteMeta(seg)
			}
		}
		pat := strings.Join(segs, "/")
		k.routes = append(k.routes, route{tmpl: tmpl, re: regexp.MustCompile("^" + pat + "$")})
	}
	// Literal routes before templated ones: /v1/log/checkpoint before /v1/log/tile/{path}.
	sort.Slice(k.routes, func(i, j int) bool {
		a, b := strings.Count(k.routes[i].tmpl, "{"), strings.Count(k.routes[j].tmpl, "{")
		if a != b {
			return a < b
		}
		return k.routes[i].tmpl < k.routes[j].tmpl
	})
	return k
}

func escape(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }

// check validates one response and returns what is wrong, or "".
func (k *contract) check(method, path string, status int, contentType string, body []byte) string {
	var tmpl string
	for _, r := range k.routes {
		if r.re.MatchString(path) {
			tmpl = r.tmpl
			break
		}
	}
	if tmpl == "" {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return k.validate(method, path, "#/components/schemas/Error", body)
		}
		return "undocumented path"
	}
	op, ok := k.doc["paths"].(map[string]any)[tmpl].(map[string]any)[strings.ToLower(method)].(map[string]any)
	if !ok {
		if status == http.StatusMethodNotAllowed {
			return k.validate(method, path, "#/components/schemas/Error", body)
		}
		return "undocumented method for " + tmpl
	}
	st := fmt.Sprint(status)
	resp, ok := op["responses"].(map[string]any)[st].(map[string]any)
	if !ok {
		return fmt.Sprintf("status %d is not documented for %s %s (body %s)", status, method, tmpl, body)
	}
	ptr := "#/paths/" + escape(tmpl) + "/" + strings.ToLower(method) + "/responses/" + st
	if ref, ok := resp["$ref"].(string); ok {
		ptr = ref
		resp = k.resolve(ref)
	}
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if len(body) != 0 {
			return "a body where the document declares none"
		}
		return ""
	}
	if _, ok := content["application/json"]; ok {
		if !strings.HasPrefix(contentType, "application/json") {
			return "content type " + contentType + ", documented application/json"
		}
		if _, ok := content["application/json"].(map[string]any)["schema"]; !ok {
			return ""
		}
		return k.validate(method, path, ptr+"/content/application~1json/schema", body)
	}
	for ct := range content {
		if strings.HasPrefix(contentType, ct) || ct == "application/octet-stream" {
			return ""
		}
	}
	return "content type " + contentType + " is not documented"
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
	if msg := tr.k.check(req.Method, req.URL.Path, resp.StatusCode, resp.Header.Get("Content-Type"), body); msg != "" {
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
	for _, tc := range []struct {
		method, path string
		status       int
		body         string
		ok           bool
	}{
		{"GET", "/healthz", 200, `{"status":"ok"}`, true},
		{"GET", "/healthz", 200, `{"status":"ok","extra":1}`, false},
		{"GET", "/healthz", 201, `{"status":"ok"}`, false},
		{"GET", "/v1/models/" + strings.Repeat("a", 64), 404, `{"error":{"code":"not_found","message":"x"}}`, true},
		{"GET", "/v1/models/" + strings.Repeat("a", 64), 404, `{"error":{"code":"nope","message":"x"}}`, false},
		{"GET", "/v1/nowhere", 200, `{}`, false},
		{"POST", "/v1/log/checkpoint", 200, `{}`, false},
	} {
		msg := k.check(tc.method, tc.path, tc.status, "application/json; charset=utf-8", []byte(tc.body))
		if (msg == "") != tc.ok {
			t.Errorf("%s %s %d %s: got %q", tc.method, tc.path, tc.status, tc.body, msg)
		}
	}
}
