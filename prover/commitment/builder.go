package commitment

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Result is a finished commitment: the header with its final n, each chunk's commitment in
// order, and C.
type Result struct {
	Header     Header
	Chunks     []Digest
	Commitment Digest
}

// Builder commits to rows as they stream in: it fills one chunk at a time and hashes full
// chunks on a bounded pool of workers, so memory stays at a few chunks whatever n is.
type Builder struct {
	ctx   context.Context
	shape Header // read by the workers; N stays 0 there
	rows  int
	salt  Salt

	current *[]int64 // rows of the chunk being filled
	next    int      // index of the chunk being filled

	jobs    chan chunkJob
	wg      sync.WaitGroup
	mu      sync.Mutex
	results map[int]fr.Element
	err     error
	// buffers holds *[]int64: a pointer goes into an interface without allocating, a slice
	// header does not (staticcheck SA6002).
	buffers sync.Pool
}

type chunkJob struct {
	index  int
	values *[]int64
}

// NewBuilder starts a builder for datasets of header's shape (its N is ignored and counted
// from the rows) with the given number of hashing workers (0 means GOMAXPROCS). Call Finish
// to get the result and stop the workers.
func NewBuilder(ctx context.Context, header Header, salt Salt, workers int) (*Builder, error) {
	header.N = 0
	if err := header.Validate(); err != nil {
		return nil, err
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	b := &Builder{
		ctx:     ctx,
		shape:   header,
		salt:    salt,
		jobs:    make(chan chunkJob, workers),
		results: make(map[int]fr.Element),
	}
	chunkLen := header.ChunkRows * header.RowWidth()
	b.buffers.New = func() any { s := make([]int64, 0, chunkLen); return &s }
	b.current = b.buffers.Get().(*[]int64)
	for range workers {
		b.wg.Go(b.work)
	}
	return b, nil
}

func (b *Builder) work() {
	for job := range b.jobs {
		c, err := ChunkCommitment(b.shape, b.salt, job.index, *job.values)
		*job.values = (*job.values)[:0]
		b.buffers.Put(job.values)
		b.mu.Lock()
		if err != nil && b.err == nil {
			b.err = err
		}
		b.results[job.index] = c
		b.mu.Unlock()
	}
}

// Add appends one row of d+1 values (features, then the label). It copies the row.
func (b *Builder) Add(row []int64) error {
	if len(row) != b.shape.RowWidth() {
		return fmt.Errorf("%w: row of %d values, want %d", ErrChunk, len(row), b.shape.RowWidth())
	}
	*b.current = append(*b.current, row...)
	b.rows++
	if len(*b.current) == cap(*b.current) {
		return b.dispatch()
	}
	return nil
}

func (b *Builder) dispatch() error {
	b.mu.Lock()
	err := b.err
	b.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case b.jobs <- chunkJob{index: b.next, values: b.current}:
	case <-b.ctx.Done():
		return b.ctx.Err()
	}
	b.next++
	b.current = b.buffers.Get().(*[]int64)
	return nil
}

// Finish hashes the last, partial chunk, waits for the workers and computes C.
func (b *Builder) Finish() (Result, error) {
	var err error
	if len(*b.current) > 0 {
		err = b.dispatch()
	}
	close(b.jobs)
	b.wg.Wait()
	if err == nil {
		err = b.err
	}
	if err == nil {
		err = b.ctx.Err()
	}
	if err != nil {
		return Result{}, err
	}
	if b.rows == 0 {
		return Result{}, fmt.Errorf("%w: no rows", ErrHeader)
	}
	header := b.shape
	header.N = b.rows
	chunks := make([]fr.Element, header.Chunks())
	digests := make([]Digest, len(chunks))
	for i := range chunks {
		chunks[i] = b.results[i]
		digests[i] = DigestOf(chunks[i])
	}
	c, err := DatasetCommitment(header, chunks)
	if err != nil {
		return Result{}, err
	}
	return Result{Header: header, Chunks: digests, Commitment: DigestOf(c)}, nil
}
