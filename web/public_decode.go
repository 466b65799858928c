package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/statement"
)

// The registry's own envelopes and model files are read here only to be shown: each was
// checked in full (signature, strict JSON, every field) when the registry wrote it, so a
// page decodes just the fields it shows, with encoding/json, and falls back to the strict
// parsers on anything unexpected. This keeps a model page within its latency budget.

// statementOf decodes the predicate of a stored envelope's in-toto statement of the given
// predicate type into pred.
func statementOf(env []byte, predicateType string, pred any) error {
	var e struct {
		PayloadType string `json:"payloadType"`
		Payload     []byte `json:"payload"` // standard base64, as DSSE writes it
	}
	if err := json.Unmarshal(env, &e); err != nil {
		return err
	}
	if e.PayloadType != envelope.PayloadType {
		return fmt.Errorf("payload type %q", e.PayloadType)
	}
	var st struct {
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(e.Payload, &st); err != nil {
		return err
	}
	if st.PredicateType != predicateType {
		return fmt.Errorf("predicate type %q, want %q", st.PredicateType, predicateType)
	}
	return json.Unmarshal(st.Predicate, pred)
}

// trainingOf reads the training predicate of a stored attestation envelope.
func trainingOf(env []byte) (*statement.Training, error) {
	var tr statement.Training
	if err := statementOf(env, statement.TrainingPredicateType, &tr); err == nil {
		return &tr, nil
	}
	payload, err := envelope.ParsePayload(env)
	if err != nil {
		return nil, fmt.Errorf("attestation envelope: %w", err)
	}
	_, t, err := statement.ParseTraining(payload)
	if err != nil {
		return nil, fmt.Errorf("attestation statement: %w", err)
	}
	return t, nil
}

// evaluationOf reads the evaluation predicate of a stored evaluation envelope.
func evaluationOf(env []byte) (*statement.Evaluation, error) {
	var ev statement.Evaluation
	if err := statementOf(env, statement.EvaluationPredicateType, &ev); err == nil {
		return &ev, nil
	}
	payload, err := envelope.ParsePayload(env)
	if err != nil {
		return nil, fmt.Errorf("evaluation envelope: %w", err)
	}
	_, st, err := statement.ParseEvaluation(payload)
	if err != nil {
		return nil, fmt.Errorf("evaluation statement: %w", err)
	}
	return st, nil
}

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
