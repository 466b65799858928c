package leaf_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/leaf"
	"github.com/comet-attest/comet/attest/statement"
)

var update = flag.Bool("update", false, "rewrite golden files")

func fill(b byte) (a [32]byte) {
	for i := range a {
		a[i] = b + byte(i)
	}
	return a
}

var golden = leaf.Leaf{Kind: leaf.KindTraining, Envelope: fill(0x10), Subject: fill(0x30), Dataset: fill(0x50), Proof: fill(0x70), Signer: fill(0x90)}

func TestGolden(t *testing.T) {
	got := golden.Marshal()
	path := filepath.Join("testdata", "training.leaf.hex")
	if *update {
		if err := os.WriteFile(path, []byte(hex.EncodeToString(got)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if h := hex.EncodeToString(got); h != strings.TrimSpace(string(want)) {
		t.Fatalf("leaf encoding changed:\n got %s\nwant %s", h, want)
	}
	if len(got) != leaf.Size || leaf.Size != 162 {
		t.Fatalf("size %d", len(got))
	}
	back, err := leaf.Parse(got)
	if err != nil || back != golden {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

func TestParseRejects(t *testing.T) {
	good := golden.Marshal()
	rev := leaf.Revocation(fill(1), fill(2), mustKey(t)).Marshal()
	edit := func(b []byte, f func([]byte) []byte) []byte { return f(bytes.Clone(b)) }
	cases := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short", good[:leaf.Size-1]},
		{"long", append(bytes.Clone(good), 0)},
		{"version 0", edit(good, func(b []byte) []byte { b[0] = 0; return b })},
		{"version 2", edit(good, func(b []byte) []byte { b[0] = 2; return b })},
		{"kind 0", edit(good, func(b []byte) []byte { b[1] = 0; return b })},
		{"kind 4", edit(good, func(b []byte) []byte { b[1] = 4; return b })},
		{"revocation with dataset", edit(rev, func(b []byte) []byte { b[70] = 1; return b })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := leaf.Parse(tc.b); !errors.Is(err, leaf.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
	if _, err := leaf.Parse(rev); err != nil {
		t.Fatalf("revocation leaf: %v", err)
	}
}

func mustKey(t *testing.T) *keys.Verifier {
	t.Helper()
	k, err := keys.Generate("comet.test/registry")
	if err != nil {
		t.Fatal(err)
	}
	return k.Verifier()
}

func TestTrainingFields(t *testing.T) {
	k := mustKey(t)
	subj := statement.Subject{Name: "m", SHA256: strings.Repeat("0a", 32)}
	tr := &statement.Training{}
	tr.Dataset.Commitment = strings.Repeat("0b", 32)
	tr.Proof.BundleSHA256 = strings.Repeat("0c", 32)
	l, err := leaf.Training(fill(7), subj, tr, k)
	if err != nil {
		t.Fatal(err)
	}
	if l.Subject[0] != 0x0a || l.Dataset[31] != 0x0b || l.Proof[5] != 0x0c || l.Signer != k.Fingerprint() || l.Envelope != fill(7) {
		t.Fatalf("fields misplaced: %+v", l)
	}
	tr.Dataset.Commitment = "zz"
	if _, err := leaf.Training(fill(7), subj, tr, k); err == nil {
		t.Fatal("bad commitment accepted")
	}
}

func TestEvaluationFields(t *testing.T) {
	k := mustKey(t)
	subj := statement.Subject{Name: "m", SHA256: strings.Repeat("0a", 32)}
	e := &statement.Evaluation{BundleSHA256: strings.Repeat("0c", 32)}
	e.TestSet.Commitment = strings.Repeat("0b", 32)
	l, err := leaf.Evaluation(fill(7), subj, e, k)
	if err != nil {
		t.Fatal(err)
	}
	if l.Kind != leaf.KindEvaluation || l.Subject[0] != 0x0a || l.Dataset[31] != 0x0b || l.Proof[5] != 0x0c || l.Signer != k.Fingerprint() {
		t.Fatalf("fields misplaced: %+v", l)
	}
	back, err := leaf.Parse(l.Marshal())
	if err != nil || back != l {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(golden.Marshal())
	f.Add([]byte{1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := leaf.Parse(b)
		if err != nil {
			return
		}
		if !bytes.Equal(l.Marshal(), b) {
			t.Fatalf("Parse accepted a non-canonical encoding %x", b)
		}
	})
}
