package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/attest/verify"
	"github.com/comet-attest/comet/registry/client"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// The whole life of an attestation through the API, on SQLite and on PostgreSQL: submit,
// follow the job to "logged", look up, fetch the bundle and verify it offline against the
// published trust root, revoke, and see verification fail.
func TestFlow(t *testing.T) {
	k := loadContract(t)
	for _, db := range []dbKind{sqliteDB, postgresDB} {
		t.Run(string(db), func(t *testing.T) {
			r := newRegistry(t, db, k, nil)
			ctx := context.Background()
			prov := r.provider("acme-legal")
			req, sha := r.submission(0)
			sub, err := prov.Submit(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if sub.Status != "received" || sub.ModelSHA256 != sha || sub.ProviderID != "acme-legal" {
				t.Fatalf("submission %+v", sub)
			}
			final := r.wait(prov, sub.ID)
			if final.Status != "logged" || final.AttestationID == "" || final.LogIndex == nil || final.Job == nil || final.Job.Kind != "verify_submission" {
				t.Fatalf("final submission %+v (job %+v)", final, final.Job)
			}

			l, err := r.anon.Lookup(ctx, sha)
			if err != nil {
				t.Fatal(err)
			}
			if l.Status != "logged" || l.Revoked || l.Attestation == nil || l.Attestation.ID != final.AttestationID || *l.Attestation.LogIndex != *final.LogIndex {
				t.Fatalf("lookup %+v", l)
			}

			root := trustRoot(t, r.anon)
			b := fetchBundle(t, r.anon, final.AttestationID)
			rep := verifyBundle(t, root, b, sha)
			if !rep.Passed() {
				t.Fatalf("fresh attestation does not verify:\n%s", rep)
			}
			if line, _ := rep.Line(verify.CheckVerifyingKey); line.Status != verify.Passed {
				t.Errorf("verifying key not pinned by the trust root: %+v", line)
			}

			// Immutable objects carry ETags and answer If-None-Match.
			assertETag(t, r, "/v1/attestations/"+final.AttestationID+"/envelope")
			assertETag(t, r, "/v1/models/"+sha+"/file")
			assertETag(t, r, "/v1/models/"+sha+"/proof")
			// The log is served at its C2SP paths, and nothing private.
			get(t, r, "/v1/log/checkpoint", http.StatusOK)
			get(t, r, "/v1/log/tile/entries/000.p/1", http.StatusOK)
			get(t, r, "/v1/log/tile/0/000.p/1", http.StatusOK)
			get(t, r, "/v1/log/.state/treeState", http.StatusNotFound)
			get(t, r, "/v1/log/tile/../keys/registry.key", http.StatusNotFound)
			// Published keys.
			circuits, err := r.anon.Circuits(ctx)
			if err != nil || len(circuits) != 2 {
				t.Fatalf("keys: %+v %v", circuits, err)
			}
			get(t, r, "/v1/keys/"+circuits[0].ID, http.StatusOK)
			var vk bytes.Buffer
			if n, err := r.anon.CircuitFile(ctx, circuits[0].ID, "vk", &vk); err != nil || n == 0 || int64(vk.Len()) != n {
				t.Fatalf("vk: %d bytes, %v", n, err)
			}
			get(t, r, "/v1/keys/"+circuits[0].ID+"/keys.json", http.StatusOK)
			if _, err := r.anon.CircuitFile(ctx, circuits[0].ID, "secret", io.Discard); !errors.Is(err, client.ErrNotFound) {
				t.Fatalf("a circuit file that does not exist: %v", err)
			}

			rev, err := r.admin.Revoke(ctx, final.AttestationID, "training data withdrawn")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.admin.Revoke(ctx, final.AttestationID, "again"); !errors.Is(err, client.ErrConflict) {
				t.Errorf("second revocation: %v", err)
			}
			l, err = r.anon.Lookup(ctx, sha)
			if err != nil || !l.Revoked || l.Revocation.Reason != "training data withdrawn" || l.Revocation.ID != rev.ID {
				t.Fatalf("lookup after revocation %+v %v", l, err)
			}
			got, err := r.anon.Revocation(ctx, final.AttestationID)
			if err != nil {
				t.Fatal(err)
			}
			env, err := envelope.Parse(got.Envelope)
			if err != nil {
				t.Fatal(err)
			}
			rep = verifyBundle(t, root, fetchBundle(t, r.anon, final.AttestationID), sha, env)
			line, _ := rep.Line(verify.CheckRevocation)
			if rep.Passed() || line.Status != verify.Failed || !strings.Contains(line.Detail, "training data withdrawn") {
				t.Fatalf("revoked attestation:\n%s", rep)
			}

			// The audit log and the jobs show what happened.
			audit, err := r.admin.Audit(ctx, "", client.Page{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			actions := map[string]bool{}
			for _, e := range audit.Items {
				actions[e.Action] = true
			}
			for _, a := range []string{"provider.register", "provider.approve", "submission.create", "attestation.sign", "attestation.log", "attestation.revoke"} {
				if !actions[a] {
					t.Errorf("no %s in the audit log: %+v", a, actions)
				}
			}
			// River finishes its jobs asynchronously: both (verification, revocation) complete.
			deadline := time.Now().Add(10 * time.Second)
			for {
				jobs, err := r.admin.Jobs(ctx, "completed", client.Page{})
				if err != nil {
					t.Fatal(err)
				}
				if len(jobs.Items) == 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("completed jobs: %+v", jobs.Items)
				}
				time.Sleep(20 * time.Millisecond)
			}
			get(t, r, "/readyz", http.StatusOK)
			get(t, r, "/metrics", http.StatusOK)
		})
	}
}

func trustRoot(t *testing.T, c *client.Client) *trustroot.Root {
	t.Helper()
	raw, err := c.TrustRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	root, err := trustroot.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func fetchBundle(t *testing.T, c *client.Client, id string) *bundle.Bundle {
	t.Helper()
	raw, err := c.Bundle(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func verifyBundle(t *testing.T, root *trustroot.Root, b *bundle.Bundle, sha string, revocations ...*dsse.Envelope) *verify.Report {
	t.Helper()
	v, err := verify.NewVerifier(root)
	if err != nil {
		t.Fatal(err)
	}
	// The fixture's keys come from a single-party setup: accepted here by name.
	p, err := verify.NewPolicy(verify.WithModelSHA256(sha), verify.WithProvider("acme-legal"), verify.WithRevocations(revocations...), verify.AllowSingleParty())
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := v.Verify(context.Background(), b, p)
	return rep
}

func get(t *testing.T, r *testRegistry, path string, want int) []byte {
	t.Helper()
	resp, err := r.hc.Get(r.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Errorf("GET %s = %d, want %d: %s", path, resp.StatusCode, want, b)
	}
	return b
}

func assertETag(t *testing.T, r *testRegistry, path string) {
	t.Helper()
	resp, err := r.hc.Get(r.url + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" {
		t.Fatalf("GET %s = %d, ETag %q", path, resp.StatusCode, etag)
	}
	req, _ := http.NewRequest("GET", r.url+path, nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = r.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("GET %s with If-None-Match = %d, want 304", path, resp.StatusCode)
	}
}
