package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// stepReporter shows work that runs for minutes in steps whose length gnark does not report:
// on a terminal a spinner with the step and the time it has taken, elsewhere (a log, CI) a
// line when each step starts and a line every interval while it runs, so that a silent
// process is never mistaken for a stuck one.
type stepReporter struct {
	w     io.Writer
	every time.Duration
	start time.Time
	bar   *progressbar.ProgressBar // nil when w is not a terminal

	mu        sync.Mutex
	step      string
	stepStart time.Time
	stop      chan struct{}
	done      chan struct{}
}

// newSteps reports on the command's stderr, with a line every 15 s when it is not a terminal.
func newSteps(cmd *cobra.Command) *stepReporter {
	w := cmd.ErrOrStderr()
	tty := w == io.Writer(os.Stderr) && term.IsTerminal(int(os.Stderr.Fd()))
	return startSteps(w, tty, 15*time.Second)
}

func startSteps(w io.Writer, tty bool, every time.Duration) *stepReporter {
	r := &stepReporter{w: w, every: every, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	if tty {
		r.bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(w), progressbar.OptionSpinnerType(14),
			progressbar.OptionSetElapsedTime(true), progressbar.OptionClearOnFinish())
	}
	go r.tick()
	return r
}

// Step starts the next step; its signature is that of the progress callbacks of
// prover/setup and prover/ceremony.
func (r *stepReporter) Step(step string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.step, r.stepStart = step, time.Now()
	if r.bar != nil {
		r.bar.Describe(step)
		return
	}
	fmt.Fprintf(r.w, "[%6.1fs] %s\n", time.Since(r.start).Seconds(), step)
}

func (r *stepReporter) tick() {
	defer close(r.done)
	t := time.NewTicker(min(r.every, 100*time.Millisecond))
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		r.mu.Lock()
		switch {
		case r.bar != nil:
			_ = r.bar.Add(1) // spins the spinner and the elapsed time
		case r.step != "" && time.Since(last) >= r.every:
			fmt.Fprintf(r.w, "[%6.1fs] %s: still running, %s so far\n", time.Since(r.start).Seconds(), r.step, time.Since(r.stepStart).Round(time.Second))
			last = time.Now()
		}
		r.mu.Unlock()
	}
}

// Stop ends the reporting; the spinner is cleared.
func (r *stepReporter) Stop() {
	close(r.stop)
	<-r.done
	if r.bar != nil {
		_ = r.bar.Finish()
	}
}
