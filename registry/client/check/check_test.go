package check_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/comet-attest/comet/attest/clientstate"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/attest/verify"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/registry/client/check"
	"github.com/comet-attest/comet/registry/registrytest"
	"github.com/comet-attest/comet/registry/wire"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode) // as main does: no route listing per test server
	code := m.Run()
	registrytest.Cleanup() // the registry material is shared by every test in this binary
	os.Exit(code)
}

// Run against a real registry (in process, on loopback) with the model the fixture proved:
// what each option does to the verdict, and that the lines printed are the report's.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("proves the fixture's model and serves a registry")
	}
	ctx := context.Background()
	fix := registrytest.Get(t)
	reg := registrytest.Serve(t, registrytest.Config(t), nil)
	prov := reg.Provider(t, registrytest.Provider)
	sub, err := prov.Submit(ctx, wire.SubmitRequest{ModelName: "model.json", Model: fix.Model, Manifest: fix.Manifest, Proof: fix.Proof})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if sub, err = prov.Wait(wctx, sub.ID, 20*time.Millisecond, nil); err != nil || sub.Status != "logged" {
		t.Fatalf("submission %+v %v", sub, err)
	}
	m, err := check.Model(ctx, reg.Anon, fix.ModelSHA256)
	if err != nil {
		t.Fatal(err)
	}
	refuse := func(context.Context, *trustroot.Root) error { return errors.New("not this one") }
	for _, tc := range []struct {
		name     string
		opts     func(*check.Options)
		verified bool
		failure  string // in the error; the verdict line is printed only when verified
	}{
		{"single-party keys accepted", func(o *check.Options) { o.SingleParty = true }, true, ""},
		{"single-party keys", func(*check.Options) {}, false, verify.CheckCeremony + ": single-party setup"},
		{"another provider", func(o *check.Options) { o.SingleParty, o.Provider = true, "other-co" }, false, `provider: attestation names "acme-legal", expected "other-co"`},
		{"confirmed on first use", func(o *check.Options) {
			o.SingleParty = true
			o.Confirm = func(_ context.Context, r *trustroot.Root) error {
				if r.Version != 1 {
					return errors.New("unexpected version")
				}
				return nil
			}
		}, true, ""},
		{"refused on first use", func(o *check.Options) { o.Confirm = refuse }, false, "the registry's trust root refused: not this one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := t.TempDir()
			var lines []check.Line
			o := check.Options{Registry: reg.URL, Client: reg.Anon, State: clientstate.Dir(state), Keys: check.KeysDir(filepath.Join(state, "keys")),
				Print: func(l check.Line) { lines = append(lines, l) }}
			tc.opts(&o)
			res, err := verifyOnline(ctx, o, m)
			if tc.failure != "" && (!errors.Is(err, check.ErrFailed) || !strings.Contains(err.Error(), tc.failure)) {
				t.Fatalf("error %v, want %s", err, tc.failure)
			}
			if tc.verified != (err == nil) || (res != nil && res.Verified != tc.verified) {
				t.Fatalf("verified %v, error %v", res != nil && res.Verified, err)
			}
			if res == nil {
				if _, err := (clientstate.State{Store: clientstate.Dir(state)}).Pinned(ctx, reg.URL); !errors.Is(err, clientstate.ErrNotPinned) {
					t.Errorf("a refused root was pinned: %v", err)
				}
				return
			}
			var checks []verify.Line
			for _, l := range lines {
				if l.Kind == check.KindCheck {
					checks = append(checks, *l.Check)
				}
			}
			if len(checks) != len(res.Checks) {
				t.Fatalf("printed %d checks, the result has %d", len(checks), len(res.Checks))
			}
			for i := range checks {
				if checks[i] != res.Checks[i] {
					t.Errorf("printed %+v, the result has %+v", checks[i], res.Checks[i])
				}
			}
			if lines[0].Kind != check.KindNote || !strings.Contains(lines[0].Text, "pinned on first use from "+reg.URL) {
				t.Errorf("first line %+v", lines[0])
			}
			if last := lines[len(lines)-1]; tc.verified != (last.Kind == check.KindVerdict) || (tc.verified && !strings.Contains(last.Text, "every check passed")) {
				t.Errorf("last line %+v", last)
			}
			if _, err := fs.Stat(os.DirFS(state), "keys/"+fix.Shape.String()+"/keys.json"); err != nil {
				t.Errorf("the fetched keys are not kept: %v", err)
			}
		})
	}
}

func verifyOnline(ctx context.Context, o check.Options, m *model.Model) (*check.Result, error) {
	e, err := check.Fetch(ctx, o, m)
	if err != nil {
		return nil, err
	}
	return check.Run(ctx, o, e)
}
