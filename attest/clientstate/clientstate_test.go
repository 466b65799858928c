package clientstate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/client"

	"github.com/comet-attest/comet/attest/attesttest"
	"github.com/comet-attest/comet/attest/clientstate"
	"github.com/comet-attest/comet/attest/trustroot"
)

// chain serves a trust root chain as a registry does: its versions verbatim by number.
type chain struct{ versions [][]byte }

func (c *chain) TrustRoot(context.Context) ([]byte, error) { return c.versions[len(c.versions)-1], nil }

func (c *chain) TrustRootVersion(_ context.Context, v int64) ([]byte, bool, error) {
	if v < 1 || v > int64(len(c.versions)) {
		return nil, false, nil
	}
	return c.versions[v-1], true, nil
}

// newChain is d's trust root followed by n later versions, each signed by the root key.
func newChain(t *testing.T, d *attesttest.Deployment, n int) *chain {
	t.Helper()
	v1, _ := d.Root.Marshal()
	c := &chain{versions: [][]byte{v1}}
	for i := range n {
		f := d.Root.File()
		f.Version = int64(i + 2)
		r, err := trustroot.Sign(context.Background(), f, d.RootKey)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := r.Marshal()
		c.versions = append(c.versions, raw)
	}
	return c
}

func TestTrustRootPinning(t *testing.T) {
	ctx := context.Background()
	d := attesttest.New(t, attesttest.Options{})
	st := clientstate.State{Store: clientstate.Dir(t.TempDir())}
	const reg = "http://registry.test"

	if _, err := st.Pinned(ctx, reg); !errors.Is(err, clientstate.ErrNotPinned) {
		t.Fatalf("nothing pinned yet: %v", err)
	}
	src := newChain(t, d, 2)
	r, first, err := st.PinOnFirstUse(ctx, reg, src)
	if err != nil || !first || r.Version != 3 {
		t.Fatalf("first use: version %v, first %v, %v", r, first, err)
	}
	// Pinned now: the registry is not asked again, even when it serves something else.
	if r, first, err := st.PinOnFirstUse(ctx, reg, &chain{versions: [][]byte{[]byte("junk")}}); err != nil || first || r.Version != 3 {
		t.Fatalf("second use: %v, first %v, %v", r, first, err)
	}
	// Another registry has its own pin.
	if _, err := st.Pinned(ctx, "http://other.test"); !errors.Is(err, clientstate.ErrNotPinned) {
		t.Fatalf("other registry: %v", err)
	}

	v1, err := trustroot.Parse(src.versions[0])
	if err != nil {
		t.Fatal(err)
	}
	newer, err := clientstate.Update(ctx, src, v1, time.Now())
	if err != nil || newer.Version != 3 {
		t.Fatalf("update from version 1: %v, %v", newer, err)
	}
	if err := st.Pin(ctx, reg, v1); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Pinned(ctx, reg); err != nil || got.Version != 1 {
		t.Fatalf("re-pinned: %v, %v", got, err)
	}

	// What a registry serves is refused, as ErrRefused, when it is not a trust root or does
	// not extend the pinned chain.
	for _, tc := range []struct {
		name string
		src  *chain
		from *trustroot.Root
	}{
		{"malformed newest", &chain{versions: [][]byte{[]byte(`{"not":"a root"}`)}}, v1},
		{"rollback", &chain{versions: src.versions[:1]}, newer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := clientstate.Update(ctx, tc.src, tc.from, time.Now()); !errors.Is(err, clientstate.ErrRefused) {
				t.Fatalf("got %v, want ErrRefused", err)
			}
		})
	}
	fresh := clientstate.State{Store: clientstate.Dir(t.TempDir())}
	if _, _, err := fresh.PinOnFirstUse(ctx, reg, &chain{versions: [][]byte{[]byte("junk")}}); !errors.Is(err, clientstate.ErrRefused) {
		t.Fatalf("first use of junk: %v", err)
	}
}

// TestCheckpointMemory appends to a real log, remembers its checkpoints and proves the
// growth between them from its tiles, as comet verify does on each run.
func TestCheckpointMemory(t *testing.T) {
	ctx := context.Background()
	d := attesttest.New(t, attesttest.Options{})
	st := clientstate.State{Store: clientstate.Dir(t.TempDir())}
	tiles := client.FileFetcher{Root: d.Dir}

	if cp, err := st.Checkpoint(ctx, d.Root.LogOrigin); err != nil || cp != nil {
		t.Fatalf("nothing remembered yet: %q, %v", cp, err)
	}
	var cps [][]byte
	for i := range 3 {
		for j := range 5 {
			subj, tr := attesttest.Sample(i*5 + j)
			if _, err := d.Attest(ctx, subj, tr); err != nil {
				t.Fatal(err)
			}
		}
		raw, _, err := d.Log.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, raw)
	}
	parse := func(raw []byte) *f_log.Checkpoint {
		cp, err := clientstate.Parse(d.Root, raw)
		if err != nil {
			t.Fatal(err)
		}
		return cp
	}
	if err := st.Remember(ctx, d.Root, cps[1]); err != nil {
		t.Fatal(err)
	}
	if err := st.Remember(ctx, d.Root, cps[0]); err != nil { // older: kept out
		t.Fatal(err)
	}
	got, err := st.Checkpoint(ctx, d.Root.LogOrigin)
	if err != nil || string(got) != string(cps[1]) {
		t.Fatalf("remembered %q, %v; want the larger tree", got, err)
	}
	for _, pair := range [][2]int{{1, 2}, {2, 1}, {0, 2}} {
		a, b := parse(cps[pair[0]]), parse(cps[pair[1]])
		p, err := clientstate.Consistency(ctx, tiles.ReadTile, a, b)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := a, b
		if lo.Size > hi.Size {
			lo, hi = hi, lo
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, lo.Size, hi.Size, p, lo.Hash, hi.Hash); err != nil {
			t.Errorf("consistency %d → %d from tiles: %v", lo.Size, hi.Size, err)
		}
	}
	if p, err := clientstate.Consistency(ctx, tiles.ReadTile, parse(cps[1]), parse(cps[1])); err != nil || p != nil {
		t.Errorf("same size: %v, %v", p, err)
	}
	// A checkpoint the log did not sign is not remembered.
	forged, err := d.ForgeCheckpoint(1, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	other := attesttest.New(t, attesttest.Options{})
	if err := st.Remember(ctx, other.Root, forged); err == nil {
		t.Error("a checkpoint signed by another log's key was remembered")
	}
}

// FuzzParse feeds arbitrary checkpoints to the parser comet verify reads remembered and
// bundled checkpoints with: none may panic, and only what the log signed parses.
func FuzzParse(f *testing.F) {
	d := attesttest.New(f, attesttest.Options{})
	subj, tr := attesttest.Sample(1)
	if _, err := d.Attest(context.Background(), subj, tr); err != nil {
		f.Fatal(err)
	}
	raw, cp, err := d.Log.Checkpoint(context.Background())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte("comet.test/log\n1\nAAAA\n\n— comet.test/log AAAA\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := clientstate.Parse(d.Root, data)
		if err == nil && (got.Size != cp.Size || string(got.Hash) != string(cp.Hash)) {
			t.Fatalf("a checkpoint the log never signed parsed: %q", data)
		}
	})
}
