package web

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"
)

// The registry's own model files are read here only to be shown: each was checked in full
// when the registry stored it, so a page decodes just the fields it shows (as registry/stored
// does for envelopes). This keeps a model page within its latency budget.

// modelFile is what a page shows of a model file (docs/model.md).
type modelFile struct {
	Kind         string    `json:"kind"`
	FitIntercept bool      `json:"fit_intercept"`
	Features     []string  `json:"features"`
	Label        string    `json:"label"`
	Weights      []float64 `json:"weights"`
	Intercept    *float64  `json:"intercept"`
}

func parseModelFile(body []byte) (*modelFile, error) {
	var m modelFile
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// checkpointTTL is how long a page reuses the log's checkpoint: it changes at most once a
// checkpoint interval, and reading it verifies its signature.
const checkpointTTL = 500 * time.Millisecond

// cachedRegistry remembers the latest checkpoint for checkpointTTL.
type cachedRegistry struct {
	PublicRegistry
	now func() time.Time

	mu  sync.Mutex
	raw []byte
	at  time.Time
}

func (c *cachedRegistry) Checkpoint(ctx context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); c.raw == nil || now.Sub(c.at) > checkpointTTL || now.Before(c.at) {
		raw, err := c.PublicRegistry.Checkpoint(ctx)
		if err != nil {
			return nil, err
		}
		if raw == nil {
			return nil, errors.New("no checkpoint")
		}
		c.raw, c.at = raw, now
	}
	return c.raw, nil
}
