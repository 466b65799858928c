package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/comet-attest/comet/registry/wire"

	"github.com/comet-attest/comet/internal/config"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/store"
)

// send posts a raw body with a key and returns status and decoded error.
func send(t *testing.T, r *testRegistry, method, path, key string, body []byte) (int, wire.ErrorDetail) {
	t.Helper()
	h := map[string]string{}
	if key != "" {
		h["Authorization"] = "Bearer " + key
	}
	return sendWith(t, r, method, path, body, h)
}

// sendWith sends a raw body with the given headers and returns status and decoded error.
func sendWith(t *testing.T, r *testRegistry, method, path string, body []byte, headers map[string]string) (int, wire.ErrorDetail) {
	t.Helper()
	req, err := http.NewRequest(method, r.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb wire.ErrorBody
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(b, &eb); err != nil {
			t.Errorf("%s %s → %d with a body that is not the error format: %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, eb.Error
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Bad bodies get a 4xx that names what is wrong, never a 500, and write nothing.
func TestBadSubmissions(t *testing.T) {
	k := loadContract(t)
	r := newRegistry(t, sqliteDB, k, func(c *config.Config) { c.Server.MaxBodyBytes = 256 << 10 })
	prov := r.provider("acme-legal")
	provKey := providerKey(t, r, "other-legal")
	good, _ := r.submission(1)
	other, _ := r.submission(2)
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(marshal(t, good), &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		return marshal(t, m)
	}
	editPart := func(part string, f func(m map[string]any)) []byte {
		return edit(func(m map[string]any) { f(m[part].(map[string]any)) })
	}
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
		code   string
		field  string
	}{
		{"empty", nil, 400, wire.CodeBadRequest, ""},
		{"malformed", []byte(`{"model_name": "m.json",`), 400, wire.CodeBadRequest, ""},
		{"not an object", []byte(`[1,2,3]`), 400, wire.CodeBadRequest, ""},
		{"trailing data", append(marshal(t, good), []byte(` {}`)...), 400, wire.CodeBadRequest, ""},
		{"unknown field", edit(func(m map[string]any) { m["salt"] = "secret" }), 400, wire.CodeBadRequest, "salt"},
		{"wrong type", edit(func(m map[string]any) { m["model_name"] = 7 }), 400, wire.CodeBadRequest, "model_name"},
		{"model not an object", edit(func(m map[string]any) { m["model"] = "x" }), 400, wire.CodeBadRequest, "model"},
		{"proof null", edit(func(m map[string]any) { m["proof"] = nil }), 400, wire.CodeBadRequest, "proof"},
		{"huge", bytes.Repeat([]byte(" "), 300<<10), 413, wire.CodeTooLarge, ""},
		{"model name with a directory", edit(func(m map[string]any) { m["model_name"] = "../etc/passwd" }), 422, wire.CodeInvalid, "model_name"},
		{"model edited", editPart("model", func(m map[string]any) { m["lambda"] = 0.75 }), 422, wire.CodeInvalid, "model"},
		{"float weight 100 times the proven one", editPart("model", func(m map[string]any) {
			w := m["weights"].([]any)
			w[0] = w[0].(float64) * 100
		}), 422, wire.CodeInvalid, "model"},
		{"metrics other than the proven sums", editPart("model", func(m map[string]any) {
			m["metrics"].(map[string]any)["r2"] = 0.999
		}), 422, wire.CodeInvalid, "model"},
		{"proof made for another provider", marshal(t, good), 422, wire.CodeInvalid, "proof"},
		{"manifest edited", editPart("manifest", func(m map[string]any) { m["n"] = 99 }), 422, wire.CodeInvalid, "manifest"},
		{"proof malformed", editPart("proof", func(m map[string]any) { m["chunks"] = "no" }), 422, wire.CodeInvalid, "proof"},
		{"proof for another model", edit(func(m map[string]any) {
			var p map[string]any
			json.Unmarshal(other.Proof, &p)
			m["proof"] = p
		}), 422, wire.CodeInvalid, "proof"},
		{"proof declaring a billion commitments", editPart("proof", func(m map[string]any) {
			final := m["final"].(map[string]any)
			raw, _ := base64.StdEncoding.DecodeString(final["proof"].(string))
			binary.BigEndian.PutUint32(raw[128:], 1<<30)
			final["proof"] = base64.StdEncoding.EncodeToString(raw)
		}), 422, wire.CodeInvalid, "proof"},
		{"proof for an unpublished circuit", editPart("proof", func(m map[string]any) {
			for _, c := range m["circuits"].(map[string]any) {
				c.(map[string]any)["vk_sha256"] = strings.Repeat("0", 64)
			}
		}), 422, wire.CodeInvalid, "proof"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, e := send(t, r, "POST", "/v1/submissions", provKey, tc.body)
			if status != tc.status || e.Code != tc.code || (tc.field != "" && e.Field != tc.field) {
				t.Errorf("got %d %+v, want %d %s field %q", status, e, tc.status, tc.code, tc.field)
			}
			if e.Message == "" {
				t.Error("no message")
			}
		})
	}
	// Nothing of those was written.
	subs, _, err := r.srv.Store.Submissions(context.Background(), store.SubmissionFilter{}, store.Page{})
	if err != nil || len(subs) != 0 {
		t.Fatalf("bad submissions left records: %+v %v", subs, err)
	}
	// A replayed submission is refused while the first is live.
	s, err := prov.Submit(context.Background(), good)
	if err != nil {
		t.Fatal(err)
	}
	_, err = prov.Submit(context.Background(), good)
	if !errors.Is(err, client.ErrConflict) || !strings.Contains(err.Error(), s.ID) {
		t.Errorf("replay: %v", err)
	}
	// Another provider's submission of the model is not blocked by the live one: a
	// submission owns nothing, the model's one attestation decides (docs/api.md).
	// (The registry's worker may have attested the first one meanwhile: then, and only then,
	// the model is taken; the service tests fix the order.)
	otherGood, _ := r.submissionFor("other-legal", 1)
	status, e := send(t, r, "POST", "/v1/submissions", provKey, marshal(t, otherGood))
	if status != http.StatusAccepted && (status != http.StatusConflict || !strings.Contains(e.Message, "already attested")) {
		t.Errorf("other provider's submission beside a live one: %d %+v", status, e)
	}
}

// The 4xx bodies of a registration say what is wrong in the caller's words: the JSON field
// and kind, the taken id, the contact field; never Go types or the database's wording.
func TestRegisterMessages(t *testing.T) {
	r := newRegistry(t, sqliteDB, loadContract(t), nil)
	providerKey(t, r, "acme-legal")
	for _, tc := range []struct {
		name, body string
		status     int
		field      string
		want       string
	}{
		{"array body", `[{"id": "x"}]`, 400, "", "the request body must be an object, not an array"},
		{"id a number", `{"id": 7, "contact": "ops@x.example"}`, 400, "id", "id must be a string, not a number"},
		{"taken id", `{"id": "acme-legal", "contact": "ops@x.example"}`, 409, "", "provider id acme-legal is taken"}, // the whole message: the code says conflict
		{"contact not an address", `{"id": "new-co", "contact": "call me"}`, 422, "contact", "neither an e-mail address"},
		{"contact with a display name", `{"id": "new-co", "contact": "Ops <ops@x.example>"}`, 422, "contact", "neither an e-mail address"},
		{"contact an http URL", `{"id": "new-co", "contact": "http://x.example/contact"}`, 422, "contact", "neither an e-mail address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, e := send(t, r, "POST", "/v1/providers", "", []byte(tc.body))
			if status != tc.status || e.Field != tc.field || !strings.Contains(e.Message, tc.want) || (status == 409 && e.Message != tc.want) {
				t.Errorf("got %d %+v, want %d field %q saying %q", status, e, tc.status, tc.field, tc.want)
			}
			for _, internal := range []string{"store.", "api.", "wire.", "gorm", "duplicated key", "create *"} {
				if strings.Contains(e.Message, internal) {
					t.Errorf("message %q shows an internal %q", e.Message, internal)
				}
			}
		})
	}
	for _, ok := range []string{"ops@new.example", "https://new.example/contact"} {
		if _, err := r.anon.Register(context.Background(), wire.RegisterRequest{ID: "new-" + strconv.Itoa(len(ok)), Contact: ok}); err != nil {
			t.Errorf("contact %q: %v", ok, err)
		}
	}
}

func providerKey(t *testing.T, r *testRegistry, id string) string {
	t.Helper()
	reg, err := r.anon.Register(context.Background(), wire.RegisterRequest{ID: id, Contact: "x@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.admin.ProviderAction(context.Background(), id, "approve", ""); err != nil {
		t.Fatal(err)
	}
	return reg.Key
}

// Keys: admin routes need the admin key, providers submit only when approved and only for
// themselves, revoked keys stop working, and checks name no secret.
func TestAuthorization(t *testing.T) {
	k := loadContract(t)
	r := newRegistry(t, sqliteDB, k, nil)
	ctx := context.Background()
	reg, err := r.anon.Register(ctx, wire.RegisterRequest{ID: "pending-co", Contact: "p@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if reg.Provider.Status != "pending" {
		t.Fatalf("registration %+v", reg)
	}
	pending := r.client(reg.Key)
	req, _ := r.submissionFor("pending-co", 3)
	if _, err := pending.Submit(ctx, req); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("pending provider submitted: %v", err)
	}
	if _, err := pending.Providers(ctx, "", client.Page{}); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("provider key on an admin route: %v", err)
	}
	if _, err := r.admin.Submit(ctx, req); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("admin key submitted: %v", err)
	}
	for _, key := range []string{"", "nonsense", "comet_0123456789abcdef_" + strings.Repeat("0", 64)} {
		if status, _ := send(t, r, "GET", "/v1/providers", key, nil); status != http.StatusUnauthorized {
			t.Errorf("key %q: %d", key, status)
		}
	}
	// Registration rules and duplicate ids.
	if _, err := r.anon.Register(ctx, wire.RegisterRequest{ID: "pending-co", Contact: "x@example.org"}); !errors.Is(err, client.ErrConflict) {
		t.Errorf("duplicate registration: %v", err)
	}
	if _, err := r.anon.Register(ctx, wire.RegisterRequest{ID: "Bad Id", Contact: "x@example.org"}); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("bad id: %v", err)
	}
	if _, err := r.anon.Register(ctx, wire.RegisterRequest{ID: "root-co", Contact: "x@example.org", Role: "admin"}); !errors.Is(err, client.ErrInvalid) || !strings.Contains(err.Error(), "role") {
		t.Errorf("registering as admin: %v", err)
	}
	// An approved evaluator may not submit training.
	ev, err := r.anon.Register(ctx, wire.RegisterRequest{ID: "court-co", Contact: "c@example.org", Role: "evaluator"})
	if err != nil || ev.Provider.Role != "evaluator" || reg.Provider.Role != "provider" {
		t.Fatalf("evaluator registration %+v, provider %+v: %v", ev, reg, err)
	}
	if _, err := r.admin.ProviderAction(ctx, "court-co", "approve", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.client(ev.Key).Submit(ctx, req); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("an evaluator submitted training: %v", err)
	}

	// Approve, submit, then suspend: submissions stop; reinstate: they resume.
	if _, err := r.admin.ProviderAction(ctx, "pending-co", "approve", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.admin.ProviderAction(ctx, "pending-co", "approve", ""); !errors.Is(err, client.ErrConflict) {
		t.Errorf("approving twice: %v", err)
	}
	sub, err := pending.Submit(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// Another provider does not see it.
	other := r.client(providerKey(t, r, "other-co"))
	if _, err := other.Submission(ctx, sub.ID); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("other provider read a submission: %v", err)
	}
	if _, err := r.admin.Submission(ctx, sub.ID); err != nil {
		t.Errorf("admin reads a submission: %v", err)
	}
	if _, err := r.admin.ProviderAction(ctx, "pending-co", "suspend", "audit"); err != nil {
		t.Fatal(err)
	}
	req2, _ := r.submissionFor("pending-co", 4)
	if _, err := pending.Submit(ctx, req2); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("suspended provider submitted: %v", err)
	}
	if _, err := r.admin.ProviderAction(ctx, "pending-co", "reinstate", ""); err != nil {
		t.Fatal(err)
	}
	// Keys: issue a second one, revoke the first.
	issued, err := r.admin.IssueKey(ctx, "pending-co", "ci")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.admin.RevokeKey(ctx, serviceKeyID(reg.Key)); err != nil {
		t.Fatal(err)
	}
	// A second revocation is a conflict, and is not audited twice.
	if err := r.admin.RevokeKey(ctx, serviceKeyID(reg.Key)); !errors.Is(err, client.ErrConflict) {
		t.Errorf("revoking a revoked key: %v, want 409", err)
	}
	if _, err := pending.Submit(ctx, req2); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("revoked key submitted: %v", err)
	}
	if _, err := r.client(issued.Key).Submit(ctx, req2); err != nil {
		t.Errorf("new key: %v", err)
	}
	if keys, err := r.admin.APIKeys(ctx, "pending-co"); err != nil || len(keys) != 2 {
		t.Errorf("keys %+v %v", keys, err)
	}
	// Lists paginate.
	page, err := r.admin.Submissions(ctx, "", "", client.Page{Limit: 1})
	if err != nil || len(page.Items) != 1 || page.NextCursor == "" {
		t.Fatalf("page 1: %+v %v", page, err)
	}
	first, cursor := page.Items[0].ID, page.NextCursor
	page, err = r.admin.Submissions(ctx, "", "", client.Page{Limit: 1, Cursor: cursor})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID == first || page.NextCursor != "" {
		t.Errorf("page 2: %+v %v", page, err)
	}
	for _, q := range []string{"limit=0", "limit=x", "status=odd"} {
		if status, _ := send(t, r, "GET", "/v1/submissions?"+q, issued.Key, nil); status != http.StatusBadRequest {
			t.Errorf("?%s: %d", q, status)
		}
	}
	// A cursor the registry did not make is a 400 naming the cursor on every list.
	for _, path := range []string{"/v1/submissions", "/v1/providers", "/v1/audit", "/v1/jobs"} {
		for _, forged := range []string{first, "x", "YzE6", "eyJpZCI6MX0"} {
			if status, e := send(t, r, "GET", path+"?cursor="+forged, r.reg.AdminKey, nil); status != http.StatusBadRequest || e.Field != "cursor" {
				t.Errorf("%s?cursor=%s: %d %+v, want 400 naming the cursor", path, forged, status, e)
			}
		}
	}
}

func serviceKeyID(raw string) string { return strings.Split(raw, "_")[1] }

// Each key has its own bucket: one caller over its limit gets 429, another does not.
func TestRateLimit(t *testing.T) {
	k := loadContract(t)
	r := newRegistry(t, sqliteDB, k, func(c *config.Config) { c.Server.RatePerSecond, c.Server.RateBurst = 0.01, 5 })
	ctx := context.Background()
	limited := 0
	for range 8 {
		if _, err := r.admin.Providers(ctx, "", client.Page{}); errors.Is(err, client.ErrRateLimited) {
			limited++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if limited != 3 {
		t.Errorf("%d of 8 requests limited, want 3 (burst 5)", limited)
	}
	// Unauthenticated lookups are not limited per key.
	for range 8 {
		if status, _ := send(t, r, "GET", "/healthz", "", nil); status != http.StatusOK {
			t.Fatalf("healthz %d", status)
		}
	}
}
