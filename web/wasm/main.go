//go:build js && wasm

// Command wasm is Comet's verifier compiled to WebAssembly for the /verify page: it runs
// registry/client/check, the code `comet verify` runs, in the visitor's browser, against a
// trust root pinned in the browser's localStorage, fetching from the registry's /v1 API on
// the page's own origin. The page (web/static/verify.js) calls cometVerifier.verify(opts)
// and gets one callback per report line.
package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io/fs"
	"path"
	"syscall/js"
	"testing/fstest"
	"time"

	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/client/check"
	gnarklog "github.com/consensys/gnark/logger"
)

func main() {
	gnarklog.Disable() // gnark logs every proof it checks; the report says what was checked
	js.Global().Set("cometVerifier", js.ValueOf(map[string]any{"verify": js.FuncOf(verify)}))
	if ready := js.Global().Get("cometVerifierReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {} // the page calls verify for as long as it is open
}

// verify(opts) starts one verification and returns a Promise of {verified, error}. opts:
// model (a SHA-256) or file (a Uint8Array) and fileName; singleParty, provider; onLine(line)
// for each report line; confirm(version, fingerprint, expires), a Promise of whether the
// visitor pins the registry's trust root on first use.
func verify(_ js.Value, args []js.Value) any {
	opts := args[0]
	return newPromise(func() (any, error) {
		err := run(context.Background(), opts)
		res := map[string]any{"verified": err == nil, "error": ""}
		if err != nil {
			res["error"] = err.Error()
		}
		return res, nil
	})
}

func run(ctx context.Context, opts js.Value) error {
	origin := js.Global().Get("location").Get("origin").String()
	c, err := client.New(origin, "", nil)
	if err != nil {
		return err
	}
	onLine := opts.Get("onLine")
	o := check.Options{
		Registry: origin, Client: c, State: localStore{}, Keys: memKeys{fstest.MapFS{}},
		Provider: str(opts.Get("provider")), SingleParty: opts.Get("singleParty").Truthy(),
		Print: func(l check.Line) {
			v := map[string]any{"kind": l.Kind, "text": l.Text}
			if l.Check != nil {
				v["name"], v["status"], v["detail"] = l.Check.Name, string(l.Check.Status), l.Check.Detail
			}
			onLine.Invoke(v)
		},
		Confirm: func(ctx context.Context, r *trustroot.Root) error {
			ok, err := await(opts.Call("confirm", r.Version, r.Fingerprint(), r.Expires.UTC().Format(time.RFC3339)))
			if err != nil {
				return err
			}
			if !ok.Truthy() {
				return fmt.Errorf("the visitor did not pin trust root version %d (sha256:%s)", r.Version, r.Fingerprint())
			}
			return nil
		},
	}
	var m *model.Model
	if file := opts.Get("file"); file.Truthy() {
		raw := make([]byte, file.Get("length").Int())
		js.CopyBytesToGo(raw, file)
		// As comet verify FILE says of a file it cannot read as a model.
		if m, err = model.Unmarshal(raw); err != nil {
			return fmt.Errorf("model %s: %w", str(opts.Get("fileName")), err)
		}
	} else if m, err = check.Model(ctx, c, str(opts.Get("model"))); err != nil {
		return err
	}
	e, err := check.Fetch(ctx, o, m)
	if err != nil {
		return err
	}
	_, err = check.Run(ctx, o, e)
	return err
}

func str(v js.Value) string {
	if v.Type() != js.TypeString {
		return ""
	}
	return v.String()
}

// localStore is a clientstate.Store in the browser's localStorage: the pinned trust root
// and the newest checkpoint outlive the page, as the CLI's state directory does. Values are
// base64, since localStorage keeps strings and a document's bytes need not be UTF-8.
type localStore struct{}

const storePrefix = "comet/"

func (localStore) Get(_ context.Context, name string) ([]byte, error) {
	v := js.Global().Get("localStorage").Call("getItem", storePrefix+name)
	if v.IsNull() {
		return nil, fmt.Errorf("localStorage %s%s: %w", storePrefix, name, fs.ErrNotExist)
	}
	return base64.StdEncoding.DecodeString(v.String())
}

func (localStore) Put(_ context.Context, name string, b []byte) (err error) {
	defer func() {
		// setItem throws when the storage is full or the visitor refused it.
		if r := recover(); r != nil {
			err = fmt.Errorf("localStorage %s%s: %v", storePrefix, name, r)
		}
	}()
	js.Global().Get("localStorage").Call("setItem", storePrefix+name, base64.StdEncoding.EncodeToString(b))
	return nil
}

func (localStore) Where(name string) string {
	return "this browser's localStorage (" + storePrefix + name + ")"
}

// memKeys keeps the verifying keys fetched for this page in memory: they are small, and
// what pins them is the trust root, not where they are kept.
type memKeys struct{ files fstest.MapFS }

func (k memKeys) Load(ctx context.Context, shape circuit.Keyed) (*setup.Keys, error) {
	return setup.LoadFS(ctx, k.files, shape)
}

func (k memKeys) Put(_ context.Context, name string, b []byte) error {
	k.files[path.Clean(name)] = &fstest.MapFile{Data: b}
	return nil
}

// newPromise runs f in a goroutine (a JS callback must not block) and settles a Promise
// with what it returns.
func newPromise(f func() (any, error)) js.Value {
	var executor js.Func
	executor = js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			defer executor.Release()
			v, err := f()
			if err != nil {
				reject.Invoke(js.Global().Get("Error").New(err.Error()))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	})
	return js.Global().Get("Promise").New(executor)
}

// await waits for a JS Promise from a goroutine.
func await(p js.Value) (js.Value, error) {
	done := make(chan struct{})
	var v js.Value
	var err error
	then := js.FuncOf(func(_ js.Value, args []js.Value) any {
		v = args[0]
		close(done)
		return nil
	})
	catch := js.FuncOf(func(_ js.Value, args []js.Value) any {
		err = fmt.Errorf("%s", args[0].Call("toString").String())
		close(done)
		return nil
	})
	defer then.Release()
	defer catch.Release()
	p.Call("then", then).Call("catch", catch)
	<-done
	return v, err
}
