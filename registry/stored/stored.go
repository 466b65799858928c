// Package stored reads back the statements the registry signed and stored, to show them.
//
// Each envelope was checked in full (signature, strict JSON, every field) when the registry
// wrote it, so a reader that only shows it (a lookup, a public page) decodes its predicate
// with encoding/json, and falls back to the strict parsers on anything unexpected, whose
// error then says what is wrong. The strict parse costs most of a lookup
// (BenchmarkLookupReplicas in registry/api); this one a fraction. Anything that decides
// trust (attest/verify, the CLI reading a registry's answer) parses strictly instead.
package stored

import (
	"encoding/json"
	"fmt"

	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/statement"
)

// Training reads the training predicate of a stored attestation envelope.
func Training(env []byte) (*statement.Training, error) {
	return read(env, statement.TrainingPredicateType, "attestation", statement.ParseTraining)
}

// Evaluation reads the evaluation predicate of a stored evaluation envelope.
func Evaluation(env []byte) (*statement.Evaluation, error) {
	return read(env, statement.EvaluationPredicateType, "evaluation", statement.ParseEvaluation)
}

// read decodes env's predicate quickly, or else with strict, whose error names what is wrong
// with the kind of envelope it is.
func read[P any](env []byte, predicateType, kind string, strict func([]byte) (statement.Subject, *P, error)) (*P, error) {
	if p, err := predicate[P](env, predicateType); err == nil {
		return p, nil
	}
	payload, err := envelope.ParsePayload(env)
	if err != nil {
		return nil, fmt.Errorf("%s envelope: %w", kind, err)
	}
	_, p, err := strict(payload)
	if err != nil {
		return nil, fmt.Errorf("%s statement: %w", kind, err)
	}
	return p, nil
}

// predicate decodes the predicate of an envelope's in-toto statement of the given predicate
// type, in one pass over the payload.
func predicate[P any](env []byte, predicateType string) (*P, error) {
	var e struct {
		PayloadType string `json:"payloadType"`
		Payload     []byte `json:"payload"` // standard base64, as DSSE writes it
	}
	if err := json.Unmarshal(env, &e); err != nil {
		return nil, err
	}
	if e.PayloadType != envelope.PayloadType {
		return nil, fmt.Errorf("payload type %q", e.PayloadType)
	}
	var st struct {
		PredicateType string `json:"predicateType"`
		Predicate     P      `json:"predicate"`
	}
	if err := json.Unmarshal(e.Payload, &st); err != nil {
		return nil, err
	}
	if st.PredicateType != predicateType {
		return nil, fmt.Errorf("predicate type %q, want %q", st.PredicateType, predicateType)
	}
	return &st.Predicate, nil
}
