package tlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"
)

// ErrReadOnly reports an append to a log opened with OpenView.
var ErrReadOnly = errors.New("log is open read-only: another process appends to it")

// OpenView opens the log in dir for reading only, as a process that shares the directory
// with the log's one appender does (a registry replica without the log-owner lease):
// checkpoints, entries and proofs come from the files the appender publishes, and Append
// fails with ErrReadOnly. Background work (AwaitCheckpoint's polling) lives as long as ctx.
func OpenView(ctx context.Context, dir string, verifier note.Verifier, logger *slog.Logger) *Log {
	if logger == nil {
		logger = slog.Default()
	}
	r := viewReader{FileFetcher: client.FileFetcher{Root: dir}, origin: verifier.Name(), verifier: verifier}
	return &Log{
		dir:      dir,
		origin:   verifier.Name(),
		verifier: verifier,
		add: func(context.Context, *tessera.Entry) tessera.IndexFuture {
			return func() (tessera.Index, error) { return tessera.Index{}, ErrReadOnly }
		},
		reader:  r,
		awaiter: tessera.NewPublicationAwaiter(ctx, r.ReadCheckpoint, awaitPoll),
		logger:  logger,
	}
}

// viewReader reads a tessera POSIX log's public files. The tree's private state belongs to
// the appender, so the sizes it reports are the published checkpoint's.
type viewReader struct {
	client.FileFetcher
	origin   string
	verifier note.Verifier
}

func (r viewReader) IntegratedSize(ctx context.Context) (uint64, error) {
	raw, err := r.ReadCheckpoint(ctx)
	if err != nil {
		return 0, fmt.Errorf("read checkpoint: %w", err)
	}
	cp, _, _, err := f_log.ParseCheckpoint(raw, r.origin, r.verifier)
	if err != nil {
		return 0, fmt.Errorf("parse checkpoint: %w", err)
	}
	return cp.Size, nil
}

func (r viewReader) NextIndex(ctx context.Context) (uint64, error) { return r.IntegratedSize(ctx) }
