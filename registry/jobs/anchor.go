package jobs

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/comet-attest/comet/registry/store"
	"github.com/riverqueue/river"
	f_log "github.com/transparency-dev/formats/log"
)

// AnchorArgs is the periodic job that anchors the newest checkpoint when it is due.
type AnchorArgs struct{}

// Kind is stable: it is stored with every job.
func (AnchorArgs) Kind() string { return "anchor_checkpoint" }

// AnchorReceipt is what the chain says about an anchoring transaction in a block.
type AnchorReceipt struct {
	TxHash      string
	BlockNumber uint64
	Finality    string // e.g. ACCEPTED_ON_L2
	Reverted    bool
	Reason      string // why it reverted
}

// Errors an Anchorer returns for the job to branch on. Any other error is retried with
// River's backoff.
var (
	// ErrTxUnknown: the chain does not know the transaction (it never arrived, or it was
	// dropped); a new one may be sent.
	ErrTxUnknown = errors.New("anchoring transaction unknown to the chain")
	// ErrTxPending: the chain holds the transaction but has not put it in a block yet; it
	// must not be sent again.
	ErrTxPending = errors.New("anchoring transaction pending")
	// ErrAlreadyAnchored: the contract already holds this or a larger size for the log.
	ErrAlreadyAnchored = errors.New("size already anchored")
	// ErrRefused: the chain refused the transaction for good (signature, fee bounds,
	// ownership); sending the same again will not help.
	ErrRefused = errors.New("anchoring transaction refused")
)

// PreparedAnchor is a signed anchoring transaction that has not been broadcast: its hash is
// final, so it can be recorded before Submit.
type PreparedAnchor interface {
	TxHash() string
	Submit(ctx context.Context) error
}

// Anchorer builds, sends and finds anchoring transactions; registry/anchoring provides one
// over chain/anchor's client.
type Anchorer interface {
	// Prepare signs the transaction anchoring root at size for the log origin without
	// sending it.
	Prepare(ctx context.Context, origin string, size uint64, root [32]byte) (PreparedAnchor, error)
	// Lookup tells what became of a transaction now: its receipt once in a block,
	// ErrTxPending, or ErrTxUnknown.
	Lookup(ctx context.Context, txHash string) (AnchorReceipt, error)
	// Wait polls until the transaction is in a block (as long as ctx allows); ErrTxUnknown
	// when the chain stops knowing it.
	Wait(ctx context.Context, txHash string) (AnchorReceipt, error)
	// RootAt reads the root the contract holds for origin at exactly size (an error when
	// that size was never anchored).
	RootAt(ctx context.Context, origin string, size uint64) ([32]byte, error)
}

// Checkpointer reads the log's newest signed checkpoint; *tlog.Log provides it.
type Checkpointer interface {
	Checkpoint(ctx context.Context) ([]byte, *f_log.Checkpoint, error)
}

// AnchorOptions configure anchoring; it runs only when they are given.
type AnchorOptions struct {
	Anchorer Anchorer
	Log      Checkpointer
	Origin   string
	// Interval is the longest time between anchors while the log grows.
	Interval time.Duration
	// MaxEntries anchors as soon as the log has grown by this many entries since the last
	// anchor, before Interval has passed; 0 turns it off.
	MaxEntries int
	// CheckEvery is how often the job looks whether an anchor is due; default
	// min(Interval, 10s). MaxEntries is noticed within this time.
	CheckEvery time.Duration
	// Now is the clock; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

func (o *AnchorOptions) setDefaults() {
	if o.CheckEvery <= 0 {
		o.CheckEvery = min(o.Interval, 10*time.Second)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

func addAnchoring(cfg *river.Config, workers *river.Workers, st *store.Store, o AnchorOptions) error {
	if o.Anchorer == nil || o.Log == nil || o.Interval <= 0 || o.MaxEntries < 0 {
		return errors.New("anchoring needs an anchorer, the log, a positive interval and max entries ≥ 0")
	}
	o.setDefaults()
	if err := river.AddWorkerSafely(workers, &anchorWorker{st: st, o: o}); err != nil {
		return err
	}
	// The job only looks whether an anchor is due, so it can run more often than Interval;
	// being a singleton keeps one in the queue at a time, including while it retries (else a
	// registry anchored once, at start-up, and then not for a day).
	cfg.PeriodicJobs = append(cfg.PeriodicJobs, singletonPeriodic(o.CheckEvery, AnchorArgs{}))
	return nil
}

type anchorWorker struct {
	river.WorkerDefaults[AnchorArgs]
	st *store.Store
	o  AnchorOptions
}

// Work finishes an anchor a previous run left open, or anchors the newest checkpoint when
// one is due. A size is never anchored twice (anchors.tree_size is unique), the transaction
// hash is recorded before the transaction is broadcast, and a recorded hash is looked up on
// the chain before anything new is sent. Errors are retried by River with backoff.
func (w *anchorWorker) Work(ctx context.Context, _ *river.Job[AnchorArgs]) error {
	latest, err := w.st.Anchors(ctx, 1)
	if err != nil {
		return err
	}
	if len(latest) == 1 && (latest[0].Status == store.AnchorPending || latest[0].Status == store.AnchorSubmitted) {
		return w.finish(ctx, &latest[0])
	}
	raw, cp, err := w.o.Log.Checkpoint(ctx)
	if err != nil {
		return err
	}
	if !w.due(cp.Size, latest) {
		return nil
	}
	a := &store.Anchor{TreeSize: int64(cp.Size), Root: hex.EncodeToString(cp.Hash), Checkpoint: string(raw), Status: store.AnchorPending}
	if err := w.st.InTx(ctx, func(tx *store.Tx) error { return tx.Create(ctx, a) }); err != nil {
		return err
	}
	return w.finish(ctx, a)
}

// due says whether a checkpoint of size should be anchored now, given the newest anchor.
func (w *anchorWorker) due(size uint64, latest []store.Anchor) bool {
	if size == 0 {
		return false
	}
	if len(latest) == 0 {
		return true
	}
	last := latest[0]
	if int64(size) <= last.TreeSize {
		return false
	}
	grown := int64(size) - last.TreeSize
	return (w.o.MaxEntries > 0 && grown >= int64(w.o.MaxEntries)) || !w.o.Now().Before(last.CreatedAt.Add(w.o.Interval))
}

func (w *anchorWorker) save(ctx context.Context, a *store.Anchor) error {
	return w.st.InTx(ctx, func(tx *store.Tx) error { return tx.SaveAnchor(ctx, a) })
}

func (w *anchorWorker) finish(ctx context.Context, a *store.Anchor) error {
	var root [32]byte
	if b, err := hex.DecodeString(a.Root); err != nil || len(b) != 32 {
		return fmt.Errorf("anchor %d: stored root %q", a.TreeSize, a.Root)
	} else {
		copy(root[:], b)
	}
	log := w.o.Logger.With(slog.Int64("size", a.TreeSize))
	if a.TxHash != "" {
		// A previous run recorded this hash and may or may not have broadcast it: ask first.
		r, err := w.o.Anchorer.Lookup(ctx, a.TxHash)
		switch {
		case err == nil:
			return w.record(ctx, a, r)
		case errors.Is(err, ErrTxPending):
			return w.wait(ctx, a)
		case errors.Is(err, ErrTxUnknown):
			log.InfoContext(ctx, "recorded anchoring transaction unknown to the chain; sending a new one", slog.String("tx", a.TxHash))
		default:
			return w.note(ctx, a, err)
		}
	}
	p, err := w.o.Anchorer.Prepare(ctx, w.o.Origin, uint64(a.TreeSize), root)
	switch {
	case errors.Is(err, ErrAlreadyAnchored):
		return w.alreadyAnchored(ctx, a, root, err)
	case errors.Is(err, ErrRefused):
		a.Status, a.Error = store.AnchorFailed, err.Error()
		return w.save(ctx, a)
	case err != nil:
		return w.note(ctx, a, err)
	}
	a.TxHash, a.Status, a.Error = p.TxHash(), store.AnchorPending, ""
	if err := w.save(ctx, a); err != nil {
		return err
	}
	if err := p.Submit(ctx); err != nil {
		if errors.Is(err, ErrRefused) {
			a.Status, a.Error = store.AnchorFailed, err.Error()
			return w.save(ctx, a)
		}
		// Perhaps it arrived anyway (a timeout): the next run looks the hash up.
		return w.note(ctx, a, err)
	}
	a.Status = store.AnchorSubmitted
	if err := w.save(ctx, a); err != nil {
		return err
	}
	log.InfoContext(ctx, "anchoring transaction sent", slog.String("tx", a.TxHash))
	return w.wait(ctx, a)
}

func (w *anchorWorker) wait(ctx context.Context, a *store.Anchor) error {
	r, err := w.o.Anchorer.Wait(ctx, a.TxHash)
	if err != nil {
		// Dropped or still pending: the next run looks it up and, if unknown, sends anew.
		return w.note(ctx, a, err)
	}
	return w.record(ctx, a, r)
}

// note keeps the last error on the anchor, for the API, and returns it for River to retry.
func (w *anchorWorker) note(ctx context.Context, a *store.Anchor, err error) error {
	a.Error = err.Error()
	return errors.Join(fmt.Errorf("anchor size %d: %w", a.TreeSize, err), w.save(context.WithoutCancel(ctx), a))
}

// alreadyAnchored handles a contract that holds this size already: done if it holds this
// root (another run's transaction got through), failed otherwise.
func (w *anchorWorker) alreadyAnchored(ctx context.Context, a *store.Anchor, root [32]byte, cause error) error {
	onChain, err := w.o.Anchorer.RootAt(ctx, w.o.Origin, uint64(a.TreeSize))
	if err == nil && onChain == root {
		a.Status, a.Error = store.AnchorAccepted, "anchored by an earlier transaction"
		return w.save(ctx, a)
	}
	a.Status, a.Error = store.AnchorFailed, errors.Join(cause, err).Error()
	if err == nil {
		a.Error = fmt.Sprintf("%v: the contract holds root %x at this size", cause, onChain)
	}
	return w.save(ctx, a)
}

func (w *anchorWorker) record(ctx context.Context, a *store.Anchor, r AnchorReceipt) error {
	bn := int64(r.BlockNumber)
	a.BlockNumber, a.Finality, a.TxHash = &bn, r.Finality, r.TxHash
	if r.Reverted {
		// Never sent again for this size: the next due run anchors a newer checkpoint.
		a.Status, a.Error = store.AnchorFailed, "reverted: "+r.Reason
	} else {
		a.Status, a.Error = store.AnchorAccepted, ""
	}
	w.o.Logger.InfoContext(ctx, "anchor recorded", slog.Int64("size", a.TreeSize), slog.String("tx", a.TxHash),
		slog.Uint64("block", r.BlockNumber), slog.String("status", string(a.Status)))
	return w.save(ctx, a)
}
