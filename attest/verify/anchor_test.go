package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/attest/verify"
)

// A bundle without a receipt is "not yet anchored", never passed; RequireAnchor fails it.
func TestAnchorNotYetAnchored(t *testing.T) {
	f := newFixture(t, 3)
	r, _ := f.verifier(t, nil).Verify(context.Background(), f.b, mustPolicy(t, verify.WithModelSHA256(f.subj.SHA256)))
	if l, _ := r.Line(verify.CheckAnchor); l.Status != verify.NotChecked || !strings.Contains(l.Detail, "not yet anchored") {
		t.Errorf("anchor line %+v", l)
	}
	// A registry that does not anchor at all says so, rather than "not yet".
	noChain := f.d.Root.File()
	noChain.Starknet = nil
	root, err := trustroot.Sign(context.Background(), noChain, f.d.RootKey)
	if err != nil {
		t.Fatal(err)
	}
	r, _ = f.verifier(t, root).Verify(context.Background(), f.b, mustPolicy(t, verify.WithModelSHA256(f.subj.SHA256)))
	if l, _ := r.Line(verify.CheckAnchor); l.Status != verify.NotChecked || !strings.Contains(l.Detail, "does not anchor") {
		t.Errorf("anchor line without anchoring %+v", l)
	}
	// A receipt that does not describe the bundle's checkpoint fails even offline.
	f.b.Anchor = json.RawMessage(`{"chain":"starknet","contract":"0x0","tx_hash":"0x1f","tree_size":3,"root":"` + strings.Repeat("0", 63) + `1"}`)
	r, err = f.verifier(t, nil).Verify(context.Background(), f.b, mustPolicy(t, verify.WithModelSHA256(f.subj.SHA256)))
	if l, _ := r.Line(verify.CheckAnchor); l.Status != verify.Failed || !errors.Is(err, bundle.ErrAnchorReceipt) {
		t.Errorf("foreign receipt: %+v %v", l, err)
	}
}

// reader answers RootAt as a contract would, and remembers what it was asked.
type reader struct {
	root   [32]byte
	err    error
	origin string
	size   uint64
}

func (r *reader) RootAt(_ context.Context, origin string, size uint64) ([32]byte, error) {
	r.origin, r.size = origin, size
	return r.root, r.err
}

// The verifier compares the root the contract holds at the anchored size with the log's
// checkpoint itself: equal passes, another root fails with *AnchorMismatch evidence, and a
// failed read fails naming where it looked.
func TestAnchorReader(t *testing.T) {
	errRead := errors.New("node unavailable")
	for _, tc := range []struct {
		name   string
		other  bool // the contract holds another root
		err    error
		status verify.Status
		is     error
		// detail is a format of the checkpoint's origin (%[1]s) and size (%[2]d).
		detail   string
		evidence int
	}{
		{name: "holds the root", status: verify.Passed, detail: "contract holds the root at size %[2]d in tx 0x1f, block 9, ACCEPTED_ON_L2"},
		{name: "another root", other: true, status: verify.Failed, is: verify.ErrAnchorMismatch, detail: "at size %[2]d the contract 0x0 holds", evidence: 1},
		{name: "read fails", err: errRead, status: verify.Failed, is: errRead,
			detail: "read contract 0x0 for the root of %[1]s at size %[2]d, which the receipt says tx 0x1f anchored: node unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 3)
			cc, err := f.verifier(t, nil).VerifyCheckpoint(f.b.Checkpoint)
			if err != nil {
				t.Fatal(err)
			}
			cp := cc.Checkpoint
			f.b.Anchor = fmt.Appendf(nil, `{"chain":"starknet","contract":"0x0","tx_hash":"0x1f","block_number":9,"tree_size":%d,"root":"%x","finality":"ACCEPTED_ON_L2"}`, cp.Size, cp.Hash)
			rd := &reader{err: tc.err}
			copy(rd.root[:], cp.Hash)
			if tc.other {
				rd.root[0] ^= 1
			}
			v, err := verify.NewVerifier(f.d.Root, verify.WithAnchorReader(rd))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := v.Verify(context.Background(), f.b, mustPolicy(t, verify.WithModelSHA256(f.subj.SHA256)))
			l, _ := rep.Line(verify.CheckAnchor)
			if l.Status != tc.status || !strings.Contains(l.Detail, fmt.Sprintf(tc.detail, cp.Origin, cp.Size)) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Errorf("anchor line %+v, error %v", l, err)
			}
			if rd.origin != cp.Origin || rd.size != cp.Size {
				t.Errorf("read %q at size %d, want %q at %d", rd.origin, rd.size, cp.Origin, cp.Size)
			}
			if ev := rep.AnchorEvidence; len(ev) != tc.evidence || (tc.evidence > 0 && (string(ev[0].Checkpoint) != string(f.b.Checkpoint) || ev[0].Size != cp.Size)) {
				t.Errorf("anchor evidence %+v", ev)
			}
		})
	}
}
