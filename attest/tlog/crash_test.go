package tlog_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/comet-attest/comet/attest/attesttest"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/tlog"
	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/client"
	"github.com/transparency-dev/tessera/fsck"
)

const (
	crashChildEnv = "COMET_TLOG_CRASH_DIR"
	crashKeyEnv   = "COMET_TLOG_CRASH_KEY"
	crashRoundEnv = "COMET_TLOG_CRASH_ROUND"
	crashKills    = 50
	crashWriters  = 32
)

// crashChild appends from many goroutines and reports every acknowledged
// index on stdout until it is killed. It runs in a re-executed test binary.
func crashChild() int {
	k, err := keys.LoadEnv(crashKeyEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	l, _, err := tlog.Open(ctx, os.Getenv(crashChildEnv), k, k.Verifier(), tlog.Options{CheckpointInterval: tlog.MinCheckpointInterval, Logger: quiet()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	report := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		out.WriteString(s)
		out.Flush()
	}
	report("ready\n")
	round := os.Getenv(crashRoundEnv)
	for g := range crashWriters {
		go func() {
			for s := 0; ; s++ {
				leaf := fmt.Sprintf("r%s-g%02d-s%06d", round, g, s)
				i, err := l.Append(ctx, []byte(leaf))
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				report(fmt.Sprintf("ack %d %s\n", i, leaf))
			}
		}()
	}
	time.Sleep(30 * time.Second) // the parent kills us long before
	return 4
}

// TestCrashConsistency kills an appending process with SIGKILL again and
// again. After each kill the log is reopened and every acknowledged entry
// must be at its index, fsck must recompute every tile and the root, the
// checkpoint must be consistent with the one before, and a re-append of an
// acknowledged entry must return its index.
func TestCrashConsistency(t *testing.T) {
	k, err := keys.Generate(origin)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	acked := map[uint64]string{}
	var prev struct {
		size uint64
		root []byte
	}
	start := time.Now()
	kills := crashKills
	if testing.Short() {
		kills = 5
	}
	for round := range kills {
		acks := runAndKill(t, dir, k, round)
		for i, leaf := range acks {
			if old, ok := acked[i]; ok && old != leaf {
				t.Fatalf("round %d: index %d acknowledged for %q and %q", round, i, old, leaf)
			}
			acked[i] = leaf
		}

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		l, closeLog := attesttest.Log(t, dir, k, tlog.Options{})
		var maxIdx uint64
		for i := range acked {
			maxIdx = max(maxIdx, i)
		}
		// A child killed before its first acknowledgement may leave an empty log, whose
		// checkpoint never covers index 0: there is nothing to wait for then.
		await := func() (*f_log.Checkpoint, error) {
			if len(acked) == 0 {
				_, cp, err := l.Checkpoint(ctx)
				return cp, err
			}
			_, cp, err := l.AwaitCheckpoint(ctx, maxIdx)
			return cp, err
		}
		cp, err := await()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		checkEntries(t, dir, cp.Size, acked)
		f := fsck.New(origin, k.Verifier(), client.FileFetcher{Root: dir}, leafHashes, fsck.Opts{N: 2})
		if err := f.Check(ctx); err != nil {
			t.Fatalf("round %d: fsck: %v", round, err)
		}
		if cp.Size < prev.size {
			t.Fatalf("round %d: checkpoint shrank from %d to %d", round, prev.size, cp.Size)
		}
		cons, err := l.ConsistencyProof(ctx, prev.size, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		if prev.size > 0 {
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, prev.size, cp.Size, cons, prev.root, cp.Hash); err != nil {
				t.Fatalf("round %d: checkpoint %d not consistent with %d: %v", round, cp.Size, prev.size, err)
			}
		}
		prev.size, prev.root = cp.Size, cp.Hash
		for i, leaf := range acks {
			if got, err := l.Append(ctx, []byte(leaf)); err != nil || got != i {
				t.Fatalf("round %d: re-append of %q: %d, %v; want %d", round, leaf, got, err, i)
			}
			break
		}
		closeLog()
		cancel()
	}
	t.Logf("%d kills, %d acknowledged entries, final size %d, %v", kills, len(acked), prev.size, time.Since(start).Round(time.Millisecond))
}

// runAndKill starts a child, lets it append for a random while and kills it,
// returning what it acknowledged.
func runAndKill(t *testing.T, dir string, k *keys.Signer, round int) map[uint64]string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashKeyEnv+"="+k.PrivateKey(), crashRoundEnv+"="+strconv.Itoa(round))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	acks := map[uint64]string{}
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if line == "ready" {
				close(ready)
				continue
			}
			f := strings.Fields(line)
			if len(f) != 3 || f[0] != "ack" {
				done <- fmt.Errorf("child wrote %q", line)
				return
			}
			i, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				done <- err
				return
			}
			acks[i] = f[2]
		}
		done <- sc.Err()
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("round %d: child not ready", round)
	}
	time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	_ = cmd.Wait() // "signal: killed" is the expected outcome
	return acks
}

func checkEntries(t *testing.T, dir string, size uint64, acked map[uint64]string) {
	t.Helper()
	ff := client.FileFetcher{Root: dir}
	getSize := func(context.Context) (uint64, error) { return size, nil }
	found := 0
	for e, err := range client.Entries(client.EntryBundles(context.Background(), 2, getSize, ff.ReadEntryBundle, 0, size), entries) {
		if err != nil {
			t.Fatal(err)
		}
		if want, ok := acked[e.Index]; ok {
			if string(e.Entry) != want {
				t.Fatalf("index %d holds %q, acknowledged %q", e.Index, e.Entry, want)
			}
			found++
		}
	}
	if found != len(acked) {
		t.Fatalf("%d of %d acknowledged entries are in the log of size %d", found, len(acked), size)
	}
}

func entries(b []byte) ([][]byte, error) {
	var eb api.EntryBundle
	err := eb.UnmarshalText(b)
	return eb.Entries, err
}

func leafHashes(b []byte) ([][]byte, error) {
	es, err := entries(b)
	if err != nil {
		return nil, err
	}
	hs := make([][]byte, len(es))
	for i, e := range es {
		hs[i] = rfc6962.DefaultHasher.HashLeaf(e)
	}
	return hs, nil
}
