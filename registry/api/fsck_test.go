package api_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	tclient "github.com/transparency-dev/tessera/client"
	"github.com/transparency-dev/tessera/fsck"
	"golang.org/x/mod/sumdb/note"
)

// tesseraReader reads the registry's log over HTTP with tessera's own client, as a
// third party would: the fetcher that tessera's cmd/fsck uses for an http(s) storage URL,
// and the log's origin and key from the trust root that clients pin. Its requests go
// through r.hc, so every tile it fetches is checked against docs/openapi.yaml too.
type tesseraReader struct {
	fetcher  *tclient.HTTPFetcher
	origin   string
	verifier note.Verifier
}

func newTesseraReader(t *testing.T, r *testRegistry) *tesseraReader {
	t.Helper()
	root := trustRoot(t, r.anon)
	// cmd/fsck reads the key as a signed-note verifier key (its -public_key file).
	v, err := fnote.NewVerifier(root.LogKey.String())
	if err != nil {
		t.Fatalf("the trust root's log key %q: %v", root.LogKey, err)
	}
	u, err := url.Parse(r.url + "/v1/log/")
	if err != nil {
		t.Fatal(err)
	}
	f, err := tclient.NewHTTPFetcher(u, r.hc)
	if err != nil {
		t.Fatal(err)
	}
	return &tesseraReader{fetcher: f, origin: root.LogOrigin, verifier: v}
}

// checkpoint waits for a verified checkpoint of at least size entries.
func (tr *tesseraReader) checkpoint(t *testing.T, size uint64) *log.Checkpoint {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		cp, _, _, err := tclient.FetchCheckpoint(context.Background(), tr.fetcher.ReadCheckpoint, tr.verifier, tr.origin)
		if err != nil {
			t.Fatalf("tessera's client refuses the checkpoint: %v", err)
		}
		if cp.Size >= size {
			return cp
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint of %d entries after 30 s, want %d", cp.Size, size)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fsck runs tessera's fsck, wired as its cmd/fsck wires it for an HTTP log.
func (tr *tesseraReader) fsck() error {
	return fsck.New(tr.origin, tr.verifier, tr.fetcher, bundleLeafHashes, fsck.Opts{N: 1}).Check(context.Background())
}

// bundleLeafHashes is cmd/fsck's defaultMerkleLeafHasher, which lives in its main package
// and cannot be imported: a C2SP entry bundle's entries as RFC 6962 leaf hashes.
func bundleLeafHashes(bundle []byte) ([][]byte, error) {
	eb := &api.EntryBundle{}
	if err := eb.UnmarshalText(bundle); err != nil {
		return nil, fmt.Errorf("unmarshal: %v", err)
	}
	r := make([][]byte, 0, len(eb.Entries))
	for _, e := range eb.Entries {
		h := rfc6962.DefaultHasher.HashLeaf(e)
		r = append(r, h[:])
	}
	return r, nil
}

// Tessera's own fsck (the tessera version in go.mod) accepts the log the registry serves,
// attestations and a revocation in it, and reports a hash tile or an entry bundle changed
// on disk.
func TestTesseraFsck(t *testing.T) {
	r := newRegistry(t, sqliteDB, loadContract(t), nil)
	ctx := context.Background()
	prov := r.provider("acme-legal")
	var subs []string
	for i := range 3 {
		req, _ := r.submission(i)
		sub, err := prov.Submit(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if s := r.wait(prov, sub.ID); s.Status != "logged" {
			t.Fatalf("submission %d: %+v", i, s)
		}
		subs = append(subs, sub.ID)
	}
	final := r.wait(prov, subs[0])
	if _, err := r.admin.Revoke(ctx, final.AttestationID, "fsck test"); err != nil {
		t.Fatal(err)
	}
	// Three attestations and the revocation, each one entry.
	const entries = 4
	tr := newTesseraReader(t, r)
	cp := tr.checkpoint(t, entries)
	if err := tr.fsck(); err != nil {
		t.Fatalf("fsck of a log of %d entries: %v", cp.Size, err)
	}

	// The log is not appended to from here on, so its partial tiles stay where they are.
	dir := r.srv.Config.Path(r.srv.Config.Log.Dir)
	for _, rel := range []string{
		layout.TilePath(0, 0, layout.PartialTileSize(0, 0, cp.Size)),
		layout.EntriesPath(0, layout.PartialTileSize(0, 0, cp.Size)),
	} {
		t.Run(strings.ReplaceAll(rel, "/", "_"), func(t *testing.T) {
			path := filepath.Join(dir, filepath.FromSlash(rel))
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := os.WriteFile(path, orig, 0o644); err != nil {
					t.Error(err)
				}
			})
			bad := append([]byte(nil), orig...)
			bad[len(bad)-1] ^= 0x01 // the last hash of the tile, or the last entry's last byte
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := tr.fsck(); err == nil {
				t.Fatalf("fsck accepts the log with %s changed", rel)
			} else {
				t.Logf("fsck with %s changed: %v", rel, err)
			}
		})
	}
	if err := tr.fsck(); err != nil {
		t.Fatalf("fsck of the restored log: %v", err)
	}
}
