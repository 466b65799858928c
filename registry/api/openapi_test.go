package api_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
)

// The document is checked by a validator this project did not write, kin-openapi, besides
// the contract checker here (whose own reading of the document could share its bugs) and
// Redocly's lint in .ci/run.
func TestOpenAPIValidates(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(filepath.Join("..", "..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatalf("kin-openapi cannot load docs/openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("kin-openapi: docs/openapi.yaml is not a valid OpenAPI document: %v", err)
	}
}

// The answers that the other tests rarely see, each checked against the document by the
// contract transport: wrong methods (405 with Allow), the log's tiles at the paths a
// tlog-tiles client computes for the log's real size, and the circuit key files with
// their content types.
func TestContractEdges(t *testing.T) {
	r := newRegistry(t, sqliteDB, loadContract(t), nil)
	ctx := context.Background()
	prov := r.provider("acme-legal")
	req, sha := r.submission(0)
	sub, err := prov.Submit(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if s := r.wait(prov, sub.ID); s.Status != "logged" {
		t.Fatalf("submission %+v", s)
	}

	send := func(method, path string, header ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, r.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := r.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct{ method, path string }{
		{http.MethodPost, "/healthz"},
		{http.MethodDelete, "/v1/models/" + sha},
		{http.MethodPut, "/v1/providers"},
		{http.MethodDelete, "/v1/providers/acme-legal/keys"},
		{http.MethodGet, "/v1/providers/acme-legal/approve"},
		{http.MethodPatch, "/v1/submissions"},
		{http.MethodPost, "/v1/log/checkpoint"},
		{http.MethodPost, "/v1/log/tile/0/000.p/1"},
		{http.MethodHead, "/v1/keys"},
	} {
		if resp := send(tc.method, tc.path); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s = %d, want 405", tc.method, tc.path, resp.StatusCode)
		}
	}

	tr := newTesseraReader(t, r)
	cp := tr.checkpoint(t, 1)
	w := layout.PartialTileSize(0, 0, cp.Size)
	if tile := get(t, r, "/v1/log/"+layout.TilePath(0, 0, w), http.StatusOK); len(tile) != 32*int(w) {
		t.Errorf("level-0 tile of a log of %d: %d bytes", cp.Size, len(tile))
	}
	var eb api.EntryBundle
	if err := eb.UnmarshalText(get(t, r, "/v1/log/"+layout.EntriesPath(0, w), http.StatusOK)); err != nil || len(eb.Entries) != int(w) {
		t.Errorf("entry bundle of a log of %d: %d entries, %v", cp.Size, len(eb.Entries), err)
	}
	// Tiles that this log is too small to have, at templates of one and of two groups.
	get(t, r, "/v1/log/"+layout.TilePath(0, 0, 0), http.StatusNotFound)
	get(t, r, "/v1/log/"+layout.EntriesPath(1234, 0), http.StatusNotFound)
	get(t, r, "/v1/log/"+layout.TilePath(1, 1234567, 7), http.StatusNotFound)

	circuits, err := r.anon.Circuits(ctx)
	if err != nil || len(circuits) == 0 {
		t.Fatalf("circuits: %v %v", circuits, err)
	}
	for file, want := range map[string]string{
		"vk": "application/octet-stream", "pk": "application/octet-stream", "r1cs": "application/octet-stream",
		"keys.json": "application/json",
	} {
		if resp := send(http.MethodGet, "/v1/keys/"+circuits[0].ID+"/"+file); resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != want {
			t.Errorf("%s: %d, Content-Type %q, want %q", file, resp.StatusCode, resp.Header.Get("Content-Type"), want)
		}
	}
	// A proving key can be fetched in parts.
	for _, file := range []string{"pk", "keys.json"} {
		if resp := send(http.MethodGet, "/v1/keys/"+circuits[0].ID+"/"+file, "Range", "bytes=0-9"); resp.StatusCode != http.StatusPartialContent || resp.ContentLength != 10 {
			t.Errorf("%s, first 10 bytes: %d, %d bytes", file, resp.StatusCode, resp.ContentLength)
		}
	}
	// The fixture's keys come from a single-party setup: no transcript.
	if resp := send(http.MethodGet, "/v1/keys/"+circuits[0].ID+"/transcript"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("transcript of single-party keys: %d", resp.StatusCode)
	}
}
