package jobs

import (
	"context"

	"github.com/comet-attest/comet/registry/store"
	"github.com/riverqueue/river"
)

// RunAnchor runs the anchoring job once, as River would, for tests outside the package.
func RunAnchor(ctx context.Context, st *store.Store, o AnchorOptions) error {
	o.setDefaults()
	w := &anchorWorker{st: st, o: o}
	return w.Work(ctx, &river.Job[AnchorArgs]{})
}
