package tlog

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
)

// Defaults for Options. The batch settings were tuned with BenchmarkAppend
// on a shared 2-core machine with fsync on: a shorter age helps a few
// writers, a longer one helps hundreds (more entries per fsync).
const (
	DefaultBatchMaxSize       = 1024
	DefaultBatchMaxAge        = 10 * time.Millisecond
	DefaultCheckpointInterval = 200 * time.Millisecond
	DefaultWitnessTimeout     = 5 * time.Second
	// awaitPoll is how often AwaitCheckpoint looks for a new checkpoint.
	awaitPoll = 20 * time.Millisecond
	// MinCheckpointInterval is the shortest interval tessera's POSIX driver allows.
	MinCheckpointInterval = 100 * time.Millisecond
)

var (
	// ErrNotCovered reports an index or size beyond the latest checkpoint.
	ErrNotCovered = errors.New("not covered by the latest checkpoint")
	// ErrEntryTooLarge reports a leaf over the tlog-tiles entry limit.
	ErrEntryTooLarge = errors.New("entry too large")
)

// Witness is one witness the log asks to cosign its checkpoints, speaking
// C2SP tlog-witness at URL (the "/add-checkpoint" suffix is added).
type Witness struct {
	// Key is the witness's signed-note verifier key (Ed25519; used as a
	// cosignature/v1 key).
	Key string
	URL string
	// Name labels the witness in log messages and Status; default the key's name.
	Name string
}

// Options tune the log. The zero value uses the defaults.
type Options struct {
	// BatchMaxSize and BatchMaxAge bound a sequencing batch (tessera
	// WithBatching): a batch is written when it has BatchMaxSize entries or
	// its first entry is BatchMaxAge old. Defaults DefaultBatchMaxSize and
	// DefaultBatchMaxAge.
	BatchMaxSize uint
	BatchMaxAge  time.Duration
	// CheckpointInterval is how often a new checkpoint is signed and
	// published (tessera WithCheckpointInterval, at least 100 ms). Default
	// DefaultCheckpointInterval.
	CheckpointInterval time.Duration
	// Witnesses and WitnessQuorum: a checkpoint is published only once
	// WitnessQuorum of Witnesses have cosigned it. No witnesses by default.
	// With a quorum of 0 the witnesses are asked but publication never
	// waits for them. Every answer is recorded (see Status) and refusals
	// are logged (see witnessing.go).
	Witnesses     []Witness
	WitnessQuorum int
	// WitnessTimeout bounds one round of witnessing. Default DefaultWitnessTimeout.
	WitnessTimeout time.Duration
	// HTTPClient reaches the witnesses. Default http.DefaultClient.
	HTTPClient *http.Client
	// Logger receives the log's own messages. Default slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.BatchMaxSize == 0 {
		o.BatchMaxSize = DefaultBatchMaxSize
	}
	if o.BatchMaxAge == 0 {
		o.BatchMaxAge = DefaultBatchMaxAge
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = DefaultCheckpointInterval
	}
	if o.WitnessTimeout == 0 {
		o.WitnessTimeout = DefaultWitnessTimeout
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.WitnessQuorum < 0 || o.WitnessQuorum > len(o.Witnesses) {
		return o, fmt.Errorf("witness quorum %d outside 0..%d", o.WitnessQuorum, len(o.Witnesses))
	}
	return o, nil
}

// Log is an open log. Its methods are safe for concurrent use.
type Log struct {
	dir      string
	origin   string
	verifier note.Verifier
	add      tessera.AddFn
	reader   tessera.LogReader
	awaiter  *tessera.PublicationAwaiter
	logger   *slog.Logger
	wit      *witnessMonitor // nil without witnesses

	mu   sync.RWMutex
	seen map[[32]byte]uint64
}

// Open opens the log in dir, creating it if needed, with checkpoints signed
// by signer (whose name is the log's origin) and checked with verifier (its
// public half). Background work lives as long as ctx. Call the returned
// shutdown before cancelling ctx: it waits until every acknowledged entry is
// covered by a published checkpoint.
func Open(ctx context.Context, dir string, signer note.Signer, verifier note.Verifier, opts Options) (*Log, func(context.Context) error, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, nil, fmt.Errorf("open log: %w", err)
	}
	if signer.Name() != verifier.Name() || signer.KeyHash() != verifier.KeyHash() {
		return nil, nil, fmt.Errorf("open log: verifier %s+%08x is not the signer's public key", verifier.Name(), verifier.KeyHash())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("open log: %w", err)
	}
	ao := tessera.NewAppendOptions().
		WithCheckpointSigner(signer).
		WithBatching(opts.BatchMaxSize, opts.BatchMaxAge).
		WithCheckpointInterval(opts.CheckpointInterval).
		WithAntispam(tessera.DefaultAntispamInMemorySize, nil)
	var mon *witnessMonitor
	if len(opts.Witnesses) > 0 {
		group := tessera.WitnessGroup{N: opts.WitnessQuorum}
		mon = newWitnessMonitor(opts)
		for _, w := range opts.Witnesses {
			u, err := url.Parse(w.URL)
			if err != nil {
				return nil, nil, fmt.Errorf("witness url %q: %w", w.URL, err)
			}
			tw, err := tessera.NewWitness(w.Key, u)
			if err != nil {
				return nil, nil, fmt.Errorf("witness key %q: %w", w.Key, err)
			}
			group.Components = append(group.Components, tw)
			if err := mon.add(w, tw); err != nil {
				return nil, nil, err
			}
		}
		// tessera sends every witness request through the storage driver's client.
		opts.HTTPClient = mon.client(opts.HTTPClient)
		ao = ao.WithWitnesses(group, &tessera.WitnessOptions{Timeout: opts.WitnessTimeout, FailOpen: opts.WitnessQuorum == 0})
	}
	driver, err := posix.New(ctx, posix.Config{Path: dir, HTTPClient: opts.HTTPClient})
	if err != nil {
		return nil, nil, fmt.Errorf("open log storage: %w", err)
	}
	app, shutdown, reader, err := tessera.NewAppender(ctx, driver, ao)
	if err != nil {
		return nil, nil, fmt.Errorf("open log appender: %w", err)
	}
	l := &Log{
		dir:      dir,
		origin:   signer.Name(),
		verifier: verifier,
		add:      app.Add,
		reader:   reader,
		awaiter:  tessera.NewPublicationAwaiter(ctx, reader.ReadCheckpoint, awaitPoll),
		logger:   opts.Logger,
		wit:      mon,
	}
	if err := l.loadSeen(ctx); err != nil {
		return nil, nil, errors.Join(err, shutdown(ctx))
	}
	if mon != nil {
		go l.watchPublication(ctx, opts)
	}
	return l, shutdown, nil
}

// loadSeen indexes every integrated entry for deduplication. Entries
// integrated but not yet in a checkpoint count: they were acknowledged.
func (l *Log) loadSeen(ctx context.Context) error {
	size, err := l.reader.IntegratedSize(ctx)
	if err != nil {
		return fmt.Errorf("read log size: %w", err)
	}
	l.seen = make(map[[32]byte]uint64, size)
	getSize := func(context.Context) (uint64, error) { return size, nil }
	bundles := client.EntryBundles(ctx, 4, getSize, l.reader.ReadEntryBundle, 0, size)
	for e, err := range client.Entries(bundles, unbundle) {
		if err != nil {
			return fmt.Errorf("index log entries: %w", err)
		}
		l.seen[sha256.Sum256(e.Entry)] = e.Index
	}
	l.logger.InfoContext(ctx, "log opened", slog.String("origin", l.origin), slog.String("dir", l.dir), slog.Uint64("size", size))
	return nil
}

func unbundle(b []byte) ([][]byte, error) {
	var eb api.EntryBundle
	if err := eb.UnmarshalText(b); err != nil {
		return nil, fmt.Errorf("parse entry bundle: %w", err)
	}
	return eb.Entries, nil
}

// Append adds leaf to the log and returns its index once the entry is
// durably written and integrated into the tree on disk (it will be in the
// next checkpoint; see AwaitCheckpoint). Appending a leaf already in the log
// returns its existing index.
func (l *Log) Append(ctx context.Context, leaf []byte) (uint64, error) {
	if len(leaf) > tessera.DefaultEntrySizeLimit {
		return 0, fmt.Errorf("append: %w: %d bytes", ErrEntryTooLarge, len(leaf))
	}
	id := sha256.Sum256(leaf)
	l.mu.RLock()
	idx, ok := l.seen[id]
	l.mu.RUnlock()
	if ok {
		return idx, nil
	}
	i, err := l.add(ctx, tessera.NewEntry(leaf))()
	if err != nil {
		return 0, fmt.Errorf("append: %w", err)
	}
	l.mu.Lock()
	l.seen[id] = i.Index
	l.mu.Unlock()
	return i.Index, nil
}

// Origin is the log's origin line (the checkpoint signer's name).
func (l *Log) Origin() string { return l.origin }

// Dir is the log directory.
func (l *Log) Dir() string { return l.dir }

// Checkpoint returns the latest published signed checkpoint (with any
// witness cosignatures) and its parsed body.
func (l *Log) Checkpoint(ctx context.Context) ([]byte, *f_log.Checkpoint, error) {
	raw, err := l.reader.ReadCheckpoint(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read checkpoint: %w", err)
	}
	cp, _, _, err := f_log.ParseCheckpoint(raw, l.origin, l.verifier)
	if err != nil {
		return nil, nil, fmt.Errorf("parse own checkpoint: %w", err)
	}
	return raw, cp, nil
}

// AwaitCheckpoint waits until a published checkpoint covers index and
// returns it.
func (l *Log) AwaitCheckpoint(ctx context.Context, index uint64) ([]byte, *f_log.Checkpoint, error) {
	known := func() (tessera.Index, error) { return tessera.Index{Index: index}, nil }
	if _, _, err := l.awaiter.Await(ctx, known); err != nil {
		return nil, nil, fmt.Errorf("await checkpoint covering %d: %w", index, err)
	}
	// Read again rather than trust the awaiter's copy so the result is parsed
	// and verified like any other checkpoint.
	raw, cp, err := l.Checkpoint(ctx)
	if err != nil {
		return nil, nil, err
	}
	if cp.Size <= index {
		return nil, nil, fmt.Errorf("await checkpoint covering %d: size %d: %w", index, cp.Size, ErrNotCovered)
	}
	return raw, cp, nil
}

// InclusionProof returns the proof that the entry at index is in the tree of
// the given size (a size some published checkpoint has committed to).
func (l *Log) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	if index >= size {
		return nil, fmt.Errorf("inclusion proof: index %d, size %d: %w", index, size, ErrNotCovered)
	}
	pb, err := client.NewProofBuilder(ctx, size, l.reader.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof: %w", err)
	}
	p, err := pb.InclusionProof(ctx, index)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof for %d at size %d: %w", index, size, err)
	}
	return p, nil
}

// ConsistencyProof returns the proof that the tree of size from is a prefix
// of the tree of size to.
func (l *Log) ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error) {
	if from > to {
		return nil, fmt.Errorf("consistency proof: %d > %d", from, to)
	}
	pb, err := client.NewProofBuilder(ctx, to, l.reader.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("consistency proof: %w", err)
	}
	p, err := pb.ConsistencyProof(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("consistency proof %d to %d: %w", from, to, err)
	}
	return p, nil
}

// Entry reads back the leaf at index from a tree of the given size.
func (l *Log) Entry(ctx context.Context, index, size uint64) ([]byte, error) {
	if index >= size {
		return nil, fmt.Errorf("read entry: index %d, size %d: %w", index, size, ErrNotCovered)
	}
	eb, err := client.GetEntryBundle(ctx, l.reader.ReadEntryBundle, index/layout.EntryBundleWidth, size)
	if err != nil {
		return nil, fmt.Errorf("read entry %d: %w", index, err)
	}
	i := index % layout.EntryBundleWidth
	if i >= uint64(len(eb.Entries)) {
		return nil, fmt.Errorf("read entry %d: bundle holds %d entries", index, len(eb.Entries))
	}
	return eb.Entries[i], nil
}

// LeafHash is the RFC 6962 leaf hash of an entry, as the tree stores it.
func LeafHash(leaf []byte) []byte { return rfc6962.DefaultHasher.HashLeaf(leaf) }

// Paths names the public files of a log directory, relative to Dir, as
// C2SP tlog-tiles defines them.
type Paths struct{}

// Checkpoint is the path of the latest signed checkpoint.
func (Paths) Checkpoint() string { return layout.CheckpointPath }

// Tile is the path of a hash tile; p is the partial width or 0 for a full tile.
func (Paths) Tile(level, index uint64, p uint8) string { return layout.TilePath(level, index, p) }

// EntryBundle is the path of an entry bundle; p as for Tile.
func (Paths) EntryBundle(index uint64, p uint8) string { return layout.EntriesPath(index, p) }

// Private is the directory, relative to Dir, that holds private state and
// must never be served.
func (Paths) Private() string { return filepath.Join(".state") }
