package verify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/attesttest"
	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/attest/verify"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// fixture is a deployment with a few entries and the bundle of a middle one,
// so that proofs have several hashes.
type fixture struct {
	d    *attesttest.Deployment
	b    *bundle.Bundle
	subj statement.Subject
	tr   statement.Training
}

func newFixture(t *testing.T, witnesses int) *fixture {
	t.Helper()
	ctx := context.Background()
	d := attesttest.New(t, attesttest.Options{Witnesses: witnesses})
	f := &fixture{d: d}
	var envLeaf [][]byte
	for i := range 7 {
		subj, tr := attesttest.Sample(i)
		env, lb, err := d.Sign(ctx, subj, tr)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := d.Log.Append(ctx, lb)
		if err != nil {
			t.Fatal(err)
		}
		if i == 5 {
			f.subj, f.tr = subj, tr
			envLeaf = [][]byte{lb}
			defer func() {
				b, err := bundle.Build(ctx, d.Log, env, envLeaf[0], idx)
				if err != nil {
					t.Fatal(err)
				}
				f.b = b
			}()
		}
	}
	return f
}

func (f *fixture) verifier(t *testing.T, root *trustroot.Root) *verify.Verifier {
	t.Helper()
	if root == nil {
		root = f.d.Root
	}
	v, err := verify.NewVerifier(root)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustPolicy(t testing.TB, opts ...verify.PolicyOption) verify.Policy {
	t.Helper()
	p, err := verify.NewPolicy(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// clone deep-copies a bundle through its wire format.
func clone(t *testing.T, b *bundle.Bundle) *bundle.Bundle {
	t.Helper()
	raw, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c, err := bundle.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func flipB64(t *testing.T, s string, bit int) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	raw[bit/8%len(raw)] ^= 1 << (bit % 8)
	return base64.StdEncoding.EncodeToString(raw)
}

// editCheckpointLine rewrites one line of the checkpoint body (0 origin,
// 1 size, 2 root) or, for line >= 4, a signature line's base64.
func editCheckpointLine(t *testing.T, cp []byte, line int, edit func(string) string) []byte {
	t.Helper()
	lines := strings.Split(string(cp), "\n")
	if line >= 4 {
		f := strings.Fields(lines[line])
		f[2] = edit(f[2])
		lines[line] = strings.Join(f, " ")
	} else {
		lines[line] = edit(lines[line])
	}
	return []byte(strings.Join(lines, "\n"))
}

func TestVerifyValid(t *testing.T) {
	f := newFixture(t, 3)
	r, err := f.verifier(t, nil).Verify(context.Background(), f.b,
		mustPolicy(t, verify.WithModelSHA256(f.subj.SHA256), verify.WithProvider(f.tr.Provider), verify.WithRevocations()))
	if err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	want := map[string]verify.Status{
		verify.CheckTrustRoot: verify.Passed, verify.CheckCeremony: verify.Passed,
		verify.CheckEnvelopeSignature: verify.Passed, verify.CheckStatement: verify.Passed,
		verify.CheckKeyValidity: verify.Passed, verify.CheckSubject: verify.Passed,
		verify.CheckProvider: verify.Passed, verify.CheckVerifyingKey: verify.Passed,
		verify.CheckProof: verify.NotChecked, verify.CheckProofClaim: verify.NotChecked, verify.CheckGuarantee: verify.NotChecked,
		verify.CheckRevocation: verify.Passed, verify.CheckLeaf: verify.Passed,
		verify.CheckCheckpoint: verify.Passed, verify.CheckWitnesses: verify.Passed,
		verify.CheckInclusion: verify.Passed, verify.CheckConsistency: verify.NotChecked,
		verify.CheckPrior: verify.NotChecked, verify.CheckAnchor: verify.NotChecked,
	}
	if len(r.Lines) != len(want) {
		t.Errorf("report has %d lines, want %d:\n%s", len(r.Lines), len(want), r)
	}
	for name, st := range want {
		if l, ok := r.Line(name); !ok || l.Status != st {
			t.Errorf("%s: got %q, want %q", name, l.Status, st)
		}
	}
	if len(f.b.Inclusion.Hashes) < 2 {
		t.Errorf("fixture proof has %d hashes; tampering cases need a real path", len(f.b.Inclusion.Hashes))
	}
}

// TestVerifyNotCheckedIsNeverPassed: with no witnesses, no pinned model and
// no revocation list, those lines say "not checked" and nothing else.
func TestVerifyNotCheckedIsNeverPassed(t *testing.T) {
	f := newFixture(t, 0)
	r, err := f.verifier(t, nil).Verify(context.Background(), f.b, mustPolicy(t, verify.WithoutModelUnsafe()))
	if err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	for _, name := range []string{verify.CheckWitnesses, verify.CheckSubject, verify.CheckProvider, verify.CheckRevocation,
		verify.CheckProof, verify.CheckProofClaim, verify.CheckGuarantee} {
		if l, _ := r.Line(name); l.Status != verify.NotChecked {
			t.Errorf("%s: %q, want not checked", name, l.Status)
		}
	}
}

func TestNewPolicyRequiresModel(t *testing.T) {
	if _, err := verify.NewPolicy(); err == nil {
		t.Error("NewPolicy() without a model or WithoutModelUnsafe succeeded")
	}
	if _, err := verify.NewPolicy(verify.WithModelSHA256("ABC")); err == nil {
		t.Error("NewPolicy accepted a malformed digest")
	}
}

func TestVerifyTampering(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 3)
	other := newFixture(t, 3) // another log with its own keys

	cases := []struct {
		name   string
		tamper func(t *testing.T, b *bundle.Bundle)
		policy []verify.PolicyOption
		failed string // check that must fail
	}{
		{"envelope payload bit", func(t *testing.T, b *bundle.Bundle) { b.Envelope.Payload = flipB64(t, b.Envelope.Payload, 200) }, nil, verify.CheckEnvelopeSignature},
		{"envelope payload type", func(t *testing.T, b *bundle.Bundle) { b.Envelope.PayloadType = "application/json" }, nil, verify.CheckEnvelopeSignature},
		{"envelope signature bit", func(t *testing.T, b *bundle.Bundle) {
			b.Envelope.Signatures[0].Sig = flipB64(t, b.Envelope.Signatures[0].Sig, 9)
		}, nil, verify.CheckEnvelopeSignature},
		{"envelope signed by unknown key", func(t *testing.T, b *bundle.Bundle) { b.Envelope = other.b.Envelope }, nil, verify.CheckEnvelopeSignature},
		{"leaf bit", func(t *testing.T, b *bundle.Bundle) { b.Leaf[40] ^= 1 }, nil, verify.CheckLeaf},
		{"leaf bit breaks inclusion", func(t *testing.T, b *bundle.Bundle) { b.Leaf[100] ^= 0x80 }, nil, verify.CheckInclusion},
		{"proof hash bit", func(t *testing.T, b *bundle.Bundle) { b.Inclusion.Hashes[1][3] ^= 4 }, nil, verify.CheckInclusion},
		{"proof hash dropped", func(t *testing.T, b *bundle.Bundle) { b.Inclusion.Hashes = b.Inclusion.Hashes[1:] }, nil, verify.CheckInclusion},
		{"proof for another index", func(t *testing.T, b *bundle.Bundle) { b.Index-- }, nil, verify.CheckInclusion},
		{"proof tree size", func(t *testing.T, b *bundle.Bundle) { b.Inclusion.TreeSize++ }, nil, verify.CheckInclusion},
		{"checkpoint root bit", func(t *testing.T, b *bundle.Bundle) {
			b.Checkpoint = editCheckpointLine(t, b.Checkpoint, 2, func(s string) string { return flipB64(t, s, 77) })
		}, nil, verify.CheckCheckpoint},
		{"checkpoint size", func(t *testing.T, b *bundle.Bundle) {
			b.Checkpoint = editCheckpointLine(t, b.Checkpoint, 1, func(s string) string { return s + "0" })
		}, nil, verify.CheckCheckpoint},
		{"checkpoint origin", func(t *testing.T, b *bundle.Bundle) {
			b.Checkpoint = editCheckpointLine(t, b.Checkpoint, 0, func(s string) string { return s + "x" })
		}, nil, verify.CheckCheckpoint},
		{"checkpoint log signature bit", func(t *testing.T, b *bundle.Bundle) {
			b.Checkpoint = editCheckpointLine(t, b.Checkpoint, 4, func(s string) string { return flipB64(t, s, 100) })
		}, nil, verify.CheckCheckpoint},
		{"witness cosignature bit", func(t *testing.T, b *bundle.Bundle) {
			b.Checkpoint = editCheckpointLine(t, b.Checkpoint, 5, func(s string) string { return flipB64(t, s, 200) })
		}, nil, verify.CheckWitnesses},
		{"witness cosignatures stripped", func(t *testing.T, b *bundle.Bundle) {
			lines := strings.Split(string(b.Checkpoint), "\n")
			b.Checkpoint = []byte(strings.Join(lines[:5], "\n") + "\n")
		}, nil, verify.CheckWitnesses},
		{"checkpoint from another log", func(t *testing.T, b *bundle.Bundle) { b.Checkpoint = other.b.Checkpoint }, nil, verify.CheckCheckpoint},
		{"other model", func(t *testing.T, b *bundle.Bundle) {}, []verify.PolicyOption{verify.WithModelSHA256(strings.Repeat("ab", 32))}, verify.CheckSubject},
		{"other provider", func(t *testing.T, b *bundle.Bundle) {}, []verify.PolicyOption{verify.WithModelSHA256(f.subj.SHA256), verify.WithProvider("someone-else")}, verify.CheckProvider},
		{"anchor required but absent", func(t *testing.T, b *bundle.Bundle) {}, []verify.PolicyOption{verify.WithModelSHA256(f.subj.SHA256), verify.RequireAnchor()}, verify.CheckAnchor},
	}
	v := f.verifier(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := clone(t, f.b)
			tc.tamper(t, b)
			opts := tc.policy
			if opts == nil {
				opts = []verify.PolicyOption{verify.WithModelSHA256(f.subj.SHA256)}
			}
			r, err := v.Verify(ctx, b, mustPolicy(t, opts...))
			if !errors.Is(err, verify.ErrFailed) {
				t.Fatalf("Verify err = %v, want ErrFailed\n%s", err, r)
			}
			if l, _ := r.Line(tc.failed); l.Status != verify.Failed {
				t.Errorf("%s: %q, want failed\n%s", tc.failed, l.Status, r)
			}
			for _, l := range r.Lines {
				if l.Status == verify.Passed && l.Name == tc.failed {
					t.Errorf("tampered check reported passed")
				}
			}
		})
	}
}

// rootWith returns f's trust root with the registry key entries replaced.
func rootWith(t *testing.T, d *attesttest.Deployment, entries ...trustroot.KeyEntry) *trustroot.Root {
	t.Helper()
	file := d.Root.File()
	file.RegistryKeys = entries
	r, err := trustroot.Sign(context.Background(), file, d.RootKey)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func tp(t time.Time) *time.Time { return &t }

func TestVerifyKeyValidity(t *testing.T) {
	ctx := context.Background()
	d := attesttest.New(t, attesttest.Options{Witnesses: 3})
	old, err := keys.Generate("comet.test/registry-old")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	day := 24 * time.Hour
	attestWith := func(t *testing.T, k *keys.Signer, i int, issued time.Time) *bundle.Bundle {
		subj, tr := attesttest.Sample(i)
		tr.IssuedAt = issued
		env, lb, err := attesttest.SignWith(ctx, k, subj, tr)
		if err != nil {
			t.Fatal(err)
		}
		b, err := d.Publish(ctx, env, lb)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	current := trustroot.KeyEntry{Key: d.Registry.Verifier().String(), NotBefore: now.Add(-10 * day)}
	cases := []struct {
		name   string
		entry  trustroot.KeyEntry
		issued time.Time
		ok     bool
	}{
		{"rotated key, signed before its end", trustroot.KeyEntry{Key: old.Verifier().String(), NotBefore: now.Add(-10 * day), NotAfter: tp(now.Add(-day))}, now.Add(-2 * day), true},
		{"rotated key, signed after its end", trustroot.KeyEntry{Key: old.Verifier().String(), NotBefore: now.Add(-10 * day), NotAfter: tp(now.Add(-day))}, now, false},
		{"key not yet valid", trustroot.KeyEntry{Key: old.Verifier().String(), NotBefore: now.Add(day)}, now, false},
		{"revoked key used after revocation", trustroot.KeyEntry{Key: old.Verifier().String(), NotBefore: now.Add(-10 * day), RevokedAt: tp(now.Add(-time.Hour)), RevocationReason: "key compromise"}, now, false},
		{"revoked key, backdated claim witnessed after revocation", trustroot.KeyEntry{Key: old.Verifier().String(), NotBefore: now.Add(-10 * day), RevokedAt: tp(now.Add(-time.Hour)), RevocationReason: "key compromise"}, now.Add(-2 * time.Hour), false},
		{"key revoked later, witnessed before revocation", trustroot.KeyEntry{Key: old.Verifier().String(), NotBefore: now.Add(-10 * day), RevokedAt: tp(now.Add(time.Hour))}, now, true},
		{"issued in the future", trustroot.KeyEntry{Key: old.Verifier().String(), NotBefore: now.Add(-10 * day)}, now.Add(day), false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := attestWith(t, old, 100+i, tc.issued)
			v, err := verify.NewVerifier(rootWith(t, d, current, tc.entry))
			if err != nil {
				t.Fatal(err)
			}
			subj, _ := attesttest.Sample(100 + i)
			r, err := v.Verify(ctx, b, mustPolicy(t, verify.WithModelSHA256(subj.SHA256)))
			l, _ := r.Line(verify.CheckKeyValidity)
			if tc.ok {
				if err != nil || l.Status != verify.Passed {
					t.Fatalf("want success, got %v\n%s", err, r)
				}
				return
			}
			if err == nil || l.Status != verify.Failed {
				t.Fatalf("want %s failed, got err=%v\n%s", verify.CheckKeyValidity, err, r)
			}
		})
	}
}

func TestVerifyRevokedAttestation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0)
	v := f.verifier(t, nil)
	digest, err := envelope.Digest(f.b.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := f.d.Revoke(ctx, digest, "proof withdrawn by provider", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	otherDigest := digest
	otherDigest[0] ^= 1
	unrelated, err := f.d.Revoke(ctx, otherDigest, "other", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	forged, err := envelope.Sign(ctx, mustPayload(t, rev), f.d.Provider) // not a registry key
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		revs    []*dsse.Envelope
		revoked bool
	}{
		{"revoked", []*dsse.Envelope{rev}, true},
		{"unrelated revocation", []*dsse.Envelope{unrelated}, false},
		{"revocation not signed by registry", []*dsse.Envelope{forged}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := v.Verify(ctx, f.b, mustPolicy(t, verify.WithModelSHA256(f.subj.SHA256), verify.WithRevocations(tc.revs...)))
			l, _ := r.Line(verify.CheckRevocation)
			if tc.revoked != (err != nil) || tc.revoked != (l.Status == verify.Failed) {
				t.Fatalf("revoked=%v: err=%v\n%s", tc.revoked, err, r)
			}
		})
	}
}

func TestSplitView(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0)
	v := f.verifier(t, nil)
	cp := f.b.Checkpoint
	checked, err := v.VerifyCheckpoint(cp)
	if err != nil {
		t.Fatal(err)
	}
	size, root := checked.Checkpoint.Size, checked.Checkpoint.Hash

	// A later, honest checkpoint and its proof.
	subj, tr := attesttest.Sample(50)
	later, err := f.d.Attest(ctx, subj, tr)
	if err != nil {
		t.Fatal(err)
	}
	laterSize := later.Inclusion.TreeSize
	good, err := f.d.Log.ConsistencyProof(ctx, size, laterSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.VerifyConsistency(cp, later.Checkpoint, good); err != nil {
		t.Fatalf("honest checkpoints: %v", err)
	}
	if err := v.VerifyConsistency(later.Checkpoint, cp, good); err != nil {
		t.Fatalf("honest checkpoints, reversed: %v", err)
	}

	otherRoot := bytes.Clone(root)
	otherRoot[0] ^= 1
	forkSame, err := f.d.ForgeCheckpoint(size, otherRoot)
	if err != nil {
		t.Fatal(err)
	}
	forkLater, err := f.d.ForgeCheckpoint(laterSize, otherRoot)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		a, b       []byte
		proof      [][]byte
		conclusive bool
	}{
		{"same size, different roots", cp, forkSame, nil, true},
		{"inconsistent pair", cp, forkLater, good, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := v.VerifyConsistency(tc.a, tc.b, tc.proof)
			var sv *verify.SplitView
			if !errors.As(err, &sv) || !errors.Is(err, verify.ErrSplitView) {
				t.Fatalf("err = %v, want *SplitView", err)
			}
			if sv.Conclusive != tc.conclusive || !bytes.Equal(sv.Smaller, tc.a) || !bytes.Equal(sv.Larger, tc.b) {
				t.Errorf("evidence = %+v", sv)
			}
			// The same pair inside a bundle is reported with evidence.
			b := clone(t, f.b)
			b.Consistency = &bundle.Consistency{Checkpoint: tc.b, Hashes: tc.proof}
			r, err := v.Verify(ctx, b, mustPolicy(t, verify.WithModelSHA256(f.subj.SHA256)))
			if l, _ := r.Line(verify.CheckConsistency); err == nil || l.Status != verify.Failed || len(r.Evidence) != 1 {
				t.Errorf("bundle with split view: err=%v evidence=%d\n%s", err, len(r.Evidence), r)
			}
		})
	}

	// A prior checkpoint the client trusts, with the log's proof.
	b := clone(t, later)
	r, err := v.Verify(ctx, b, mustPolicy(t, verify.WithModelSHA256(subj.SHA256), verify.WithPriorCheckpoint(cp, good)))
	if l, _ := r.Line(verify.CheckPrior); err != nil || l.Status != verify.Passed {
		t.Errorf("prior checkpoint: %v\n%s", err, r)
	}
	// A checkpoint not signed by the log is an error but not evidence.
	err = v.VerifyConsistency(cp, other(t, cp), nil)
	var sv *verify.SplitView
	if err == nil || errors.As(err, &sv) {
		t.Errorf("unsigned checkpoint: err = %v", err)
	}
}

func other(t *testing.T, cp []byte) []byte {
	t.Helper()
	return editCheckpointLine(t, cp, 1, func(s string) string { return s + "1" })
}

func mustPayload(t *testing.T, env *dsse.Envelope) []byte {
	t.Helper()
	p, err := envelope.Payload(env)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestVerifyTrustRootAndCeremony: an expired trust root, and circuits whose keys came from a
// single party, fail unless the policy accepts single-party keys by name; keys the log used
// before a re-keying still vouch for the checkpoints they signed.
func TestVerifyTrustRootAndCeremony(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0)
	resign := func(t *testing.T, edit func(*trustroot.File)) *verify.Verifier {
		t.Helper()
		file := f.d.Root.File()
		edit(&file)
		r, err := trustroot.Sign(ctx, file, f.d.RootKey)
		if err != nil {
			t.Fatal(err)
		}
		v, err := verify.NewVerifier(r)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	singleParty := func(file *trustroot.File) {
		file.Circuits = map[string]trustroot.CircuitPin{
			attesttest.ChunkCircuitID: {VKSHA256: attesttest.ChunkVKSHA256},
			attesttest.FinalCircuitID: {VKSHA256: attesttest.VerifyingKeySHA256, Ceremony: attesttest.Ceremony},
		}
	}
	newLog, _ := keys.Generate(attesttest.Origin)
	cases := []struct {
		name   string
		edit   func(*trustroot.File)
		policy []verify.PolicyOption
		line   string
		want   verify.Status
		detail string
	}{
		{"expired", func(file *trustroot.File) { file.Expires = time.Now().Add(-time.Minute).UTC().Truncate(time.Second) }, nil,
			verify.CheckTrustRoot, verify.Failed, "expired"},
		{"single-party chunk keys", singleParty, nil, verify.CheckCeremony, verify.Failed, "single-party setup: the registry could forge this proof"},
		{"single-party keys accepted", singleParty, []verify.PolicyOption{verify.AllowSingleParty()}, verify.CheckCeremony, verify.NotChecked, "accepted by policy"},
		{"ceremony", func(*trustroot.File) {}, nil, verify.CheckCeremony, verify.Passed, "2 contributions (phase 1 alice, bob; phase 2 alice, bob)"},
		{"log re-keyed", func(file *trustroot.File) {
			file.Log.PreviousKeys = []string{file.Log.Key}
			file.Log.Key = newLog.Verifier().String()
		}, nil, verify.CheckCheckpoint, verify.Passed, "size"},
		{"log key dropped", func(file *trustroot.File) { file.Log.Key = newLog.Verifier().String() }, nil, verify.CheckCheckpoint, verify.Failed, "checkpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := resign(t, tc.edit)
			r, err := v.Verify(ctx, f.b, mustPolicy(t, append([]verify.PolicyOption{verify.WithModelSHA256(f.subj.SHA256)}, tc.policy...)...))
			l, _ := r.Line(tc.line)
			if l.Status != tc.want || !strings.Contains(l.Detail, tc.detail) {
				t.Fatalf("%s: %s %q, want %s containing %q\n%s", tc.line, l.Status, l.Detail, tc.want, tc.detail, r)
			}
			if (tc.want == verify.Failed) != errors.Is(err, verify.ErrFailed) {
				t.Fatalf("err = %v with %s %s", err, tc.line, l.Status)
			}
		})
	}
}
