package jobs

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/comet-attest/comet/chain/anchor"
	"github.com/comet-attest/comet/registry/store"
	"github.com/riverqueue/river"
	f_log "github.com/transparency-dev/formats/log"
)

// AnchorArgs is the periodic job that anchors the newest checkpoint when it is due.
type AnchorArgs struct{}

// Kind is stable: it is stored with every job.
func (AnchorArgs) Kind() string { return "anchor_checkpoint" }

// Anchorer builds, sends and finds anchoring transactions; *chain/anchor.Client is one. The
// job branches on chain/anchor's sentinels in its errors (see refused); any other error is
// retried with River's backoff.
type Anchorer interface {
	// Prepare signs the transaction anchoring root at size for the log origin without
	// sending it, so that its hash can be recorded first; anchor.ErrNotGrowing when the
	// contract holds this or a larger size already.
	Prepare(ctx context.Context, origin string, size uint64, root [32]byte) (*anchor.Pending, error)
	// Submit broadcasts a prepared transaction.
	Submit(ctx context.Context, p *anchor.Pending) error
	// LookupTx tells what became of a transaction now: its receipt once in a block (with
	// anchor.ErrReverted if it reverted), anchor.ErrPending, or anchor.ErrNotFound.
	LookupTx(ctx context.Context, txHash string) (anchor.Receipt, error)
	// WaitReceipt polls until the transaction is in a block (as long as ctx allows);
	// anchor.ErrDropped when the chain stops knowing it.
	WaitReceipt(ctx context.Context, txHash string) (anchor.Receipt, error)
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
		r, err := receipt(w.o.Anchorer.LookupTx(ctx, a.TxHash))
		switch {
		case err == nil:
			return w.record(ctx, a, r)
		case errors.Is(err, anchor.ErrPending):
			return w.wait(ctx, a)
		case errors.Is(err, anchor.ErrNotFound), errors.Is(err, anchor.ErrDropped):
			log.InfoContext(ctx, "recorded anchoring transaction unknown to the chain; sending a new one", slog.String("tx", a.TxHash))
		default:
			return w.note(ctx, a, err)
		}
	}
	p, err := w.o.Anchorer.Prepare(ctx, w.o.Origin, uint64(a.TreeSize), root)
	switch {
	case errors.Is(err, anchor.ErrNotGrowing):
		return w.alreadyAnchored(ctx, a, root, err)
	case refused(err):
		a.Status, a.Error = store.AnchorFailed, err.Error()
		return w.save(ctx, a)
	case err != nil:
		return w.note(ctx, a, err)
	}
	log.InfoContext(ctx, "anchoring transaction prepared", slog.String("tx", p.TxHash), slog.Int("calldata_felts", p.CalldataFelts),
		slog.String("estimated_fee_fri", p.EstimatedFee.String()), slog.String("max_fee_fri", p.MaxFee.String()))
	a.TxHash, a.Status, a.Error = p.TxHash, store.AnchorPending, ""
	if err := w.save(ctx, a); err != nil {
		return err
	}
	if err := w.o.Anchorer.Submit(ctx, p); err != nil {
		if refused(err) {
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

// refused says whether the chain turned the transaction down for good (signature, fee
// bounds, ownership, configuration), so that sending the same again will not help.
// ErrNotGrowing wraps ErrReverted but is no refusal, as the contract may hold this very root
// (see alreadyAnchored); nor is an error that also says to wait or to send anew.
func refused(err error) bool {
	switch {
	case err == nil, errors.Is(err, anchor.ErrNotGrowing), errors.Is(err, anchor.ErrNotFound), anchor.Retryable(err):
		return false
	}
	return errors.Is(err, anchor.ErrRejected) || errors.Is(err, anchor.ErrReverted) || errors.Is(err, anchor.ErrConfig)
}

// executionReverted is a Starknet receipt's execution status for a reverted transaction.
const executionReverted = "REVERTED"

// receipt passes the receipt of a transaction that reverted in a block on as a result, not
// an error: it is final, so the anchor is recorded as failed instead of retried.
func receipt(r anchor.Receipt, err error) (anchor.Receipt, error) {
	if errors.Is(err, anchor.ErrReverted) && r.ExecutionStatus == executionReverted {
		return r, nil
	}
	return r, err
}

func (w *anchorWorker) wait(ctx context.Context, a *store.Anchor) error {
	r, err := receipt(w.o.Anchorer.WaitReceipt(ctx, a.TxHash))
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

func (w *anchorWorker) record(ctx context.Context, a *store.Anchor, r anchor.Receipt) error {
	bn := int64(r.BlockNumber)
	a.BlockNumber, a.Finality, a.TxHash = &bn, r.FinalityStatus, r.TxHash
	if r.ExecutionStatus == executionReverted {
		// Never sent again for this size: the next due run anchors a newer checkpoint.
		a.Status, a.Error = store.AnchorFailed, "reverted: "+r.RevertReason
	} else {
		a.Status, a.Error = store.AnchorAccepted, ""
	}
	w.o.Logger.InfoContext(ctx, "anchor recorded", slog.Int64("size", a.TreeSize), slog.String("tx", a.TxHash),
		slog.Uint64("block", r.BlockNumber), slog.String("status", string(a.Status)))
	return w.save(ctx, a)
}
