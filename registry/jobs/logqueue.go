package jobs

import (
	"fmt"

	"github.com/riverqueue/river"
)

// logQueue is how QueueLog is worked: two workers, so that a long anchoring run does not
// hold revocations back.
var logQueue = river.QueueConfig{MaxWorkers: 2}

// WorkLog starts working QueueLog in a running queue whose process has just become the log's
// owner (Options.LogCandidate). There is no way back: a replica that loses the log-owner
// lease must stop appending at once, and does so by exiting, River's jobs with it.
func (q *Queue) WorkLog() error {
	if err := q.rc.Queues().Add(QueueLog, logQueue); err != nil {
		return fmt.Errorf("work the log queue: %w", err)
	}
	return nil
}
