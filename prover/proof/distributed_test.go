package proof

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/comet-attest/comet/prover/setup"
)

// TestPlanProveChunkAssemble proves a run's chunks one by one as separate workers would,
// from JSON-encoded tasks, and checks that Prove reuses every honest chunk proof, proves
// again one made from a wrong task, and that the bundle verifies.
func TestPlanProveChunkAssemble(t *testing.T) {
	if testing.Short() {
		t.Skip("proves four circuits")
	}
	ctx := context.Background()
	dir := t.TempDir()
	p := commitAndTrain(t, synthetic(t, dir, 20, 7), small)
	k := keysFor(t, p.shape(), setup.Proving)
	work := filepath.Join(dir, "work")
	tasks, err := Plan(ctx, k, p.request(), work)
	if err != nil {
		t.Fatal(err)
	}
	off, err := ChunkOffsets(ctx, p.csv, p.manifest.Header)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 3 || len(off.Chunks) != 3 {
		t.Fatalf("%d tasks, %d offsets, want 3", len(tasks), len(off.Chunks))
	}
	for _, task := range tasks {
		data, err := json.Marshal(task)
		if err != nil {
			t.Fatal(err)
		}
		var sent ChunkTask
		if err := json.Unmarshal(data, &sent); err != nil {
			t.Fatal(err)
		}
		if sent.Index == 1 {
			sent.Blind.Add(&sent.Blind, new(fr.Element).SetOne()) // a task the planner did not make
		}
		req := p.request()
		req.Rows = CSVSourceAt(p.csv, p.manifest, off.Header, off.Chunks[sent.Index])
		cp, err := ProveChunk(ctx, k, req, sent)
		if err != nil {
			t.Fatal(err)
		}
		if err := SaveChunkProof(work, cp); err != nil {
			t.Fatal(err)
		}
	}
	var last Progress
	b, err := Prove(ctx, k, p.request(), Options{WorkDir: work, Progress: func(pr Progress) { last = pr }})
	if err != nil {
		t.Fatal(err)
	}
	if last.Done != 4 || last.Reused != 2 {
		t.Errorf("progress %+v, want 4 proofs, 2 reused (chunk 1's task was wrong)", last)
	}
	if _, err := Verify(ctx, b, p.inputs(), verifyKeys(t, p.shape())); err != nil {
		t.Fatal(err)
	}
}

func TestProveChunkRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := commitAndTrain(t, synthetic(t, dir, 20, 8), small)
	k := keysFor(t, p.shape(), setup.Proving)
	tasks, err := Plan(ctx, k, p.request(), filepath.Join(dir, "work"))
	if err != nil {
		t.Fatal(err)
	}
	off, err := ChunkOffsets(ctx, p.csv, p.manifest.Header)
	if err != nil {
		t.Fatal(err)
	}
	at := func(start int64) Request {
		r := p.request()
		r.Rows = CSVSourceAt(p.csv, p.manifest, off.Header, start)
		return r
	}
	data, err := os.ReadFile(p.csv)
	if err != nil {
		t.Fatal(err)
	}
	secondRow := off.Chunks[2] + int64(bytes.IndexByte(data[off.Chunks[2]:], '\n')) + 1
	wrongSalt := at(off.Chunks[2])
	wrongSalt.Salt[0] ^= 1
	outside := tasks[0]
	outside.Index = 3
	for _, c := range []struct {
		name string
		req  Request
		task ChunkTask
		want error
	}{
		{"wrong salt", wrongSalt, tasks[2], ErrData},
		{"index past the last chunk", at(off.Chunks[2]), outside, nil},
		{"rows of another chunk", at(off.Chunks[1]), tasks[0], ErrData},
		{"the last chunk from its second row", at(secondRow), tasks[2], ErrData},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ProveChunk(ctx, k, c.req, c.task)
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	planWrong := p.request()
	planWrong.Salt = wrongSalt.Salt
	if _, err := Plan(ctx, k, planWrong, filepath.Join(dir, "work2")); !errors.Is(err, ErrData) {
		t.Errorf("Plan with a wrong salt: %v", err)
	}
	var bad ChunkTask
	if err := json.Unmarshal([]byte(`{"index":0,"sum":["zz"],"blind_in":"","blind":""}`), &bad); err == nil {
		t.Error("a task with a bad field element parsed")
	}
}
