package jobs

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/comet-attest/comet/registry/store"
	"github.com/riverqueue/river"
	f_log "github.com/transparency-dev/formats/log"
)

// AnchorArgs is the periodic job that anchors the newest checkpoint.
type AnchorArgs struct{}

// Kind is stable: it is stored with every job.
func (AnchorArgs) Kind() string { return "anchor_checkpoint" }

// AnchorReceipt is what the chain says about an anchoring transaction.
type AnchorReceipt struct {
	TxHash      string
	BlockNumber uint64
	Finality    string // e.g. ACCEPTED_ON_L2
	Reverted    bool
	Reason      string // why it reverted
}

// Anchorer sends anchoring transactions and finds them again; chain/anchor's client,
// through a thin adapter where it is wired, provides it.
type Anchorer interface {
	// Send submits the transaction anchoring root at size for the log origin and returns
	// its hash without waiting for it to be included.
	Send(ctx context.Context, origin string, size uint64, root [32]byte) (txHash string, err error)
	// Receipt waits (as long as ctx allows) for a sent transaction; found is false when the
	// chain does not know the hash (the transaction was dropped) and it must be sent again.
	Receipt(ctx context.Context, txHash string) (r AnchorReceipt, found bool, err error)
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
	Interval time.Duration
}

func addAnchoring(cfg *river.Config, workers *river.Workers, st *store.Store, o AnchorOptions) error {
	if o.Anchorer == nil || o.Log == nil || o.Interval <= 0 {
		return errors.New("anchoring needs an anchorer, the log and a positive interval")
	}
	if err := river.AddWorkerSafely(workers, &anchorWorker{st: st, o: o}); err != nil {
		return err
	}
	cfg.PeriodicJobs = append(cfg.PeriodicJobs, river.NewPeriodicJob(
		river.PeriodicInterval(o.Interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return AnchorArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
		},
		&river.PeriodicJobOpts{RunOnStart: true},
	))
	return nil
}

type anchorWorker struct {
	river.WorkerDefaults[AnchorArgs]
	st *store.Store
	o  AnchorOptions
}

// Work anchors the newest checkpoint unless it is anchored already. A size is never
// anchored twice (anchors.tree_size is unique), and an anchor left "submitted" by a crash is
// looked up on the chain before anything is sent again.
func (w *anchorWorker) Work(ctx context.Context, _ *river.Job[AnchorArgs]) error {
	raw, cp, err := w.o.Log.Checkpoint(ctx)
	if err != nil {
		return err
	}
	if cp.Size == 0 {
		return nil
	}
	latest, err := w.st.Anchors(ctx, 1)
	if err != nil {
		return err
	}
	var a *store.Anchor
	switch {
	case len(latest) == 1 && (latest[0].Status == store.AnchorPending || latest[0].Status == store.AnchorSubmitted):
		a = &latest[0] // finish what a previous run started
	case len(latest) == 1 && latest[0].TreeSize >= int64(cp.Size):
		return nil
	default:
		a = &store.Anchor{TreeSize: int64(cp.Size), Root: hex.EncodeToString(cp.Hash), Checkpoint: string(raw), Status: store.AnchorPending}
		if err := w.st.InTx(ctx, func(tx *store.Tx) error { return tx.Create(ctx, a) }); err != nil {
			return err
		}
	}
	return w.finish(ctx, a)
}

func (w *anchorWorker) finish(ctx context.Context, a *store.Anchor) error {
	save := func() error { return w.st.InTx(ctx, func(tx *store.Tx) error { return tx.SaveAnchor(ctx, a) }) }
	var root [32]byte
	if b, err := hex.DecodeString(a.Root); err != nil || len(b) != 32 {
		return fmt.Errorf("anchor %d: stored root %q", a.TreeSize, a.Root)
	} else {
		copy(root[:], b)
	}
	if a.TxHash != "" {
		r, found, err := w.o.Anchorer.Receipt(ctx, a.TxHash)
		if err != nil {
			return err
		}
		if found {
			return w.record(ctx, a, r, save)
		}
		a.TxHash = "" // dropped: send again
	}
	h, err := w.o.Anchorer.Send(ctx, w.o.Origin, uint64(a.TreeSize), root)
	if err != nil {
		a.Error = err.Error()
		return errors.Join(err, save())
	}
	a.TxHash, a.Status, a.Error = h, store.AnchorSubmitted, ""
	if err := save(); err != nil {
		return err
	}
	r, found, err := w.o.Anchorer.Receipt(ctx, h)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("anchor %d: transaction %s not found after sending", a.TreeSize, h)
	}
	return w.record(ctx, a, r, save)
}

func (w *anchorWorker) record(_ context.Context, a *store.Anchor, r AnchorReceipt, save func() error) error {
	bn := int64(r.BlockNumber)
	a.BlockNumber, a.Finality = &bn, r.Finality
	if r.Reverted {
		a.Status, a.Error = store.AnchorFailed, "reverted: "+r.Reason
	} else {
		a.Status, a.Error = store.AnchorAccepted, ""
	}
	return save()
}
