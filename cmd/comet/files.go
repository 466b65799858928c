package main

import (
	"encoding/json"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// newProgress is a progress bar of bytes read.
func newProgress(max int64, description string) *progressbar.ProgressBar {
	return progressBar(max, description, progressbar.OptionShowBytes(true), progressbar.OptionThrottle(100_000_000))
}

// progressBar is a progress bar on stderr for long work, shown only to a person at a
// terminal so that logs and CI output stay clean; opts say what it counts.
func progressBar(max int64, description string, opts ...progressbar.Option) *progressbar.ProgressBar {
	return progressbar.NewOptions64(max, append([]progressbar.Option{
		progressbar.OptionSetDescription(description),
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetVisibility(term.IsTerminal(int(os.Stderr.Fd()))),
		progressbar.OptionClearOnFinish(),
	}, opts...)...)
}

// progressReader counts bytes read into a progress bar.
func progressReader(r io.Reader, bar *progressbar.ProgressBar) io.Reader {
	reader := progressbar.NewReader(r, bar)
	return &reader
}

// writeJSON prints v as indented JSON, for a command's --json output.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
