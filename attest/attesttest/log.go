package attesttest

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/attest/tlog"
)

// Log opens a real tessera log in dir, signed and checked with k. A zero
// o.CheckpointInterval is tlog.MinCheckpointInterval, so that tests wait as little as tlog
// allows for checkpoints; a nil o.Logger discards the log's messages. The log is closed
// when the test ends, or sooner by close (to reopen dir, as after a restart); a failed
// shutdown fails the test. Its background work ends only after the shutdown, so that none
// of it races the removal of a temporary dir.
func Log(tb testing.TB, dir string, k *keys.Signer, o tlog.Options) (l *tlog.Log, close func()) {
	tb.Helper()
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = tlog.MinCheckpointInterval
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l, shutdown, err := tlog.Open(ctx, dir, k, k.Verifier(), o)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	var once sync.Once
	close = func() {
		once.Do(func() {
			if err := shutdown(context.Background()); err != nil {
				tb.Errorf("log shutdown: %v", err)
			}
			cancel()
		})
	}
	tb.Cleanup(close)
	return l, close
}
