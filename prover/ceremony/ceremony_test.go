package ceremony_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/comet-attest/comet/prover/ceremony"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/fixedpoint"
	datapipe "github.com/comet-attest/comet/prover/pipeline"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/train"
)

// tiny is the smallest shape a real proof runs on: the test ceremony takes seconds.
var tiny = circuit.Shape{Features: 2, ChunkRows: 8, ValueBits: 24, FractionBits: 12, Intercept: true}

// run makes a ceremony with these contributors to both phases, finalized.
func run(t *testing.T, dir string, names ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := ceremony.Init(ctx, dir, tiny); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := ceremony.Contribute(ctx, dir, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ceremony.ClosePhase1(ctx, dir, "", nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := ceremony.Contribute(ctx, dir, n, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCeremonyProves: keys from a two-party ceremony prove and verify a real training proof,
// and the directory and its tar transcript verify alike.
func TestCeremonyProves(t *testing.T) {
	if testing.Short() {
		t.Skip("a ceremony derives phase 2 twice and the transcript once more (30 s)")
	}
	ctx := context.Background()
	dir := t.TempDir()
	run(t, dir, "alice", "bob")
	keys, st, err := ceremony.Finalize(ctx, dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Contributors(ceremony.Phase2); len(got) != 2 || got[1] != "bob" {
		t.Fatalf("phase 2 contributors %v", got)
	}
	if _, err := ceremony.Contribute(ctx, dir, "carol", nil); !errors.Is(err, ceremony.ErrPhase) {
		t.Fatalf("a contribution after finalize: %v", err)
	}

	// A real proof with the ceremony's keys.
	csvPath := filepath.Join(t.TempDir(), "d.csv")
	var sb strings.Builder
	sb.WriteString("x1,x2,y\n")
	for i := range 20 {
		fmt.Fprintf(&sb, "%d,%d,%d\n", i%7, (i*3)%5, 2*(i%7)-(i*3)%5+i%2)
	}
	if err := os.WriteFile(csvPath, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var salt commitment.Salt
	salt[0] = 1
	man, err := datapipe.Commit(ctx, csvPath, datapipe.CommitOptions{Label: "y", Format: fixedpoint.Format{FractionBits: 12, ValueBits: 24}, ChunkRows: 8, Salt: salt})
	if err != nil {
		t.Fatal(err)
	}
	table, err := datapipe.ReadCommitted(ctx, csvPath, man, &salt)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := datapipe.Train(ctx, table, man, train.Options{Kind: train.KindRidge, Lambda: 0.5, Intercept: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := proof.Prove(ctx, keys, proof.Request{Manifest: man, Model: m, Salt: salt, Rows: proof.CSVSource(csvPath, man), Provider: "acme-legal"}, proof.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := proof.Verify(ctx, b, proof.Inputs{Model: m, Manifest: man, Provider: "acme-legal"}, keys); err != nil {
		t.Fatalf("a proof with the ceremony's keys does not verify: %v", err)
	}

	// The transcript: one deterministic file that verifies as the directory does.
	var tr1, tr2 bytes.Buffer
	if err := ceremony.WriteTranscript(dir, &tr1); err != nil {
		t.Fatal(err)
	}
	if err := ceremony.WriteTranscript(dir, &tr2); err != nil || !bytes.Equal(tr1.Bytes(), tr2.Bytes()) {
		t.Fatalf("transcript is not deterministic: %v", err)
	}
	tarPath := filepath.Join(t.TempDir(), "transcript.tar")
	if err := os.WriteFile(tarPath, tr1.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := ceremony.Verify(ctx, tarPath, nil)
	if err != nil || rep.Err() != nil || len(rep.Results) != 6 || rep.Keys == nil {
		t.Fatalf("transcript verify: %v %v %+v", err, rep.Err(), rep)
	}
	if rep.Keys.Chunk.VKSHA256 != keys.Chunk.VKSHA256 || rep.Keys.Final.VKSHA256 != keys.Final.VKSHA256 {
		t.Fatal("the transcript does not re-derive the keys")
	}
}

// TestCeremonyTampering: a flipped byte in a contribution (with its recorded hash fixed, or
// not) and a contribution that answers another ceremony's challenge each fail Verify, naming
// the contribution.
func TestCeremonyTampering(t *testing.T) {
	if testing.Short() {
		t.Skip("derives phase 2 twice (20 s)")
	}
	ctx := context.Background()
	good := t.TempDir()
	run(t, good, "alice", "bob")
	other := t.TempDir() // an independent ceremony: its contributions answer other challenges
	if _, err := ceremony.Init(ctx, other, tiny); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"mallory", "eve"} {
		if _, err := ceremony.Contribute(ctx, other, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	copyDir := func(t *testing.T) string {
		t.Helper()
		dst := t.TempDir()
		if err := os.CopyFS(dst, os.DirFS(good)); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	cases := []struct {
		name, file string
		edit       func(t *testing.T, dir, path string)
	}{
		{"flipped byte, rehashed", "phase1/0002.bin", func(t *testing.T, dir, path string) {
			b, _ := os.ReadFile(path)
			b[len(b)/2] ^= 1
			writeRehashed(t, dir, path, b)
		}},
		{"flipped byte", "phase2/chunk/0002.bin", func(t *testing.T, dir, path string) {
			b, _ := os.ReadFile(path)
			b[len(b)/3] ^= 0x10
			os.WriteFile(path, b, 0o644)
		}},
		{"contribution to another ceremony", "phase1/0002.bin", func(t *testing.T, dir, path string) {
			b, _ := os.ReadFile(filepath.Join(other, "phase1", "0002.bin"))
			writeRehashed(t, dir, path, b)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t)
			tc.edit(t, dir, filepath.Join(dir, filepath.FromSlash(tc.file)))
			rep, err := ceremony.Verify(ctx, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := rep.Err(); !errors.Is(err, ceremony.ErrContribution) || !strings.Contains(err.Error(), tc.file) {
				t.Fatalf("Verify: %v, want a failed contribution naming %s", err, tc.file)
			}
		})
	}
}

// writeRehashed replaces a contribution file and fixes its recorded hash, as a coordinator
// forging the transcript would: only the cryptographic checks can catch it.
func writeRehashed(t *testing.T, dir, path string, b []byte) {
	t.Helper()
	old, _ := os.ReadFile(path)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	js, _ := os.ReadFile(filepath.Join(dir, "ceremony.json"))
	js = bytes.Replace(js, []byte(sha(old)), []byte(sha(b)), 1)
	if err := os.WriteFile(filepath.Join(dir, "ceremony.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTranscriptRefuses(t *testing.T) {
	for name, entries := range map[string][]string{
		"path traversal":  {"ceremony.json", "../evil.bin"},
		"duplicate entry": {"ceremony.json", "phase1/0001.bin", "phase1/0001.bin"},
		"unknown entry":   {"ceremony.json", "notes.txt"},
		"no state":        {"phase1/0001.bin"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.tar")
			writeTar(t, path, entries)
			if _, err := ceremony.Verify(context.Background(), path, nil); !errors.Is(err, ceremony.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}
