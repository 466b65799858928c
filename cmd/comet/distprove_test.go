package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/comet-attest/comet/internal/pgtest"
	"github.com/comet-attest/comet/prover/proof"
)

// process is a comet command running in the background.
type process struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

func start(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), stderr: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.stderr, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop interrupts the process, as an operator would, and kills it if it does not end.
func (p *process) stop(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%v did not stop on interrupt", p.cmd.Args)
	}
}

// waitFor waits until the process's output matches re.
func (p *process) waitFor(t *testing.T, re *regexp.Regexp, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if re.MatchString(p.stderr.String()) {
			return
		}
	}
	t.Fatalf("%v: no %q in %v:\n%s", p.cmd.Args, re, limit, p.stderr)
}

// samePublicParts compares two bundles in everything but what differs between two honest
// proofs of the same data: the accumulators' blinded commitments and the Groth16 proofs.
func samePublicParts(t *testing.T, pathA, pathB string) {
	t.Helper()
	var bs [2]*proof.Bundle
	for i, path := range []string{pathA, pathB} {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bs[i], err = proof.ParseBundle(raw); err != nil {
			t.Fatal(err)
		}
	}
	a, b := bs[0], bs[1]
	if len(a.Chunks) != len(b.Chunks) {
		t.Fatalf("%d and %d chunks", len(a.Chunks), len(b.Chunks))
	}
	for i := range a.Chunks {
		ca, cb := &a.Chunks[i], &b.Chunks[i]
		n := len(ca.Public) - 2 // the chunk's commitment, index, rows and weights; then AccIn, AccOut
		if n < 0 || len(cb.Public) != len(ca.Public) || !slices.Equal(ca.Public[:n], cb.Public[:n]) {
			t.Errorf("chunk %d: public inputs %v and %v", i, ca.Public, cb.Public)
		}
		cb.AccIn, cb.AccOut, cb.Public, cb.Proof = ca.AccIn, ca.AccOut, ca.Public, ca.Proof
	}
	b.Final = a.Final
	ja, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	jb, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ja, jb) {
		t.Errorf("the bundles differ beyond their proofs:\n%s\n%s", ja, jb)
	}
}

// TestDistributedProve proves a dataset's chunks with two comet worker --prove processes
// over PostgreSQL, one of them killed in the middle of a chunk and started again, and checks
// that the bundle comet prove --queue assembles verifies and equals in every public part the
// one a single-machine comet prove makes of the same data.
func TestDistributedProve(t *testing.T) {
	if testing.Short() {
		t.Skip("builds comet and proves on PostgreSQL with worker processes")
	}
	bin := buildComet(t)
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	rng := rand.New(rand.NewPCG(16, 2))
	var sb strings.Builder
	sb.WriteString("a,b,c,d,y\n")
	for range 1000 {
		x := [4]float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		fmt.Fprintf(&sb, "%.4f,%.4f,%.4f,%.4f,%.4f\n", x[0], x[1], x[2], x[3], 2*x[0]-x[1]+0.5*x[3]+0.1*rng.NormFloat64())
	}
	data := writeFile(t, dir, "data.csv", sb.String())
	mustRun(t, bin, nil, "dataset", "commit", data, "--label", "y", "--fraction-bits", "12", "--value-bits", "24", "--chunk-rows", "128",
		"--salt-file", at("data.salt"), "--out", at("m.json"))
	mustRun(t, bin, nil, "train", data, "--manifest", at("m.json"), "--salt-file", at("data.salt"), "--lambda", "0.5", "--out", at("model.json"))
	mustRun(t, bin, nil, "setup", "--manifest", at("m.json"), "--out", at("keys"))
	prove := []string{"prove", data, "--manifest", at("m.json"), "--model", at("model.json"), "--salt-file", at("data.salt"),
		"--provider", "acme-legal", "--keys", at("keys")}
	mustRun(t, bin, nil, append(prove, "--out", at("single.proof.json"))...)

	queue := pgtest.SchemaURL(t)
	worker := func(id string) *process {
		return start(t, bin, "worker", "--prove", "--queue", queue, "--queue-key-file", at("queue.key"), "--id", id)
	}
	coordinator := start(t, bin, append(prove, "--out", at("queued.proof.json"), "--queue", queue, "--queue-key-file", at("queue.key"))...)
	coordinator.waitFor(t, regexp.MustCompile(`queuing 8 chunks`), 2*time.Minute)
	if key, err := os.ReadFile(at("queue.key")); err != nil || len(bytes.TrimSpace(key)) != 64 {
		t.Fatalf("queue key: %v %q", err, key)
	}
	w1 := worker("w1")
	w2 := worker("w2")
	w1.waitFor(t, regexp.MustCompile(`msg="proving chunk"`), time.Minute)
	if err := w1.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-w1.done
	killed := w1.stderr.String()
	worker("w1-again")

	select {
	case err := <-coordinator.done:
		if err != nil {
			t.Fatalf("comet prove --queue: %v\n%s\nworker w2:\n%s", err, coordinator.stderr, w2.stderr)
		}
	case <-time.After(4 * time.Minute):
		t.Fatalf("comet prove --queue did not finish:\n%s\nworker w1 (killed):\n%s\nworker w2:\n%s", coordinator.stderr, killed, w2.stderr)
	}
	out := coordinator.stderr.String()
	// The killed worker's chunk came back at once, not after --rescue-after's 30 minutes.
	for _, want := range []string{"chunks 8/8", "w2: ", "w1-again: ", "retried", "1 taken back from dead workers", "8 chunks, 8 reused"} {
		if !strings.Contains(out, want) {
			t.Errorf("comet prove --queue output lacks %q:\n%s", want, out)
		}
	}
	// The salt is nowhere in the queue's tables in the clear.
	salt := strings.TrimSpace(string(mustReadFile(t, at("data.salt"))))
	conn, err := pgx.Connect(context.Background(), queue)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var jobs int
	var args string
	if err := conn.QueryRow(context.Background(), `SELECT count(*), string_agg(args::text || encode(convert_to(args::text, 'UTF8'), 'hex'), '') FROM river_job`).Scan(&jobs, &args); err != nil {
		t.Fatal(err)
	}
	if jobs != 8 || strings.Contains(strings.ToLower(args), salt) || strings.Contains(out, salt) {
		t.Errorf("%d jobs; the salt shows in their args or the output", jobs)
	}
	verify := mustRun(t, bin, nil, "proof", "verify", at("queued.proof.json"), "--model", at("model.json"), "--manifest", at("m.json"),
		"--keys", at("keys"), "--provider", "acme-legal")
	if strings.Contains(verify, "FAIL") {
		t.Errorf("proof verify:\n%s", verify)
	}
	samePublicParts(t, at("single.proof.json"), at("queued.proof.json"))
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
