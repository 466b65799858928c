package api

import (
	"encoding/json"
	"fmt"

	"github.com/comet-attest/comet/registry/wire"

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/registry/keyset"
	"github.com/comet-attest/comet/registry/store"
	"github.com/comet-attest/comet/registry/stored"
	"github.com/riverqueue/river/rivertype"
)

// The JSON shapes of responses; docs/openapi.yaml names each in components/schemas.

func viewProvider(p *store.Provider) wire.Provider {
	return wire.Provider{ID: p.ID, DisplayName: p.DisplayName, Contact: p.Contact, Status: string(p.Status), Role: string(p.Role), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

func viewAPIKey(k *store.APIKey) wire.APIKey {
	return wire.APIKey{ID: k.ID, Role: string(k.Role), ProviderID: k.ProviderID, Label: k.Label, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
}

func viewSubmission(s *store.Submission) wire.Submission {
	return wire.Submission{
		ID: s.ID, ProviderID: s.ProviderID, ModelSHA256: s.ModelSHA256, DatasetCommitment: s.DatasetCommitment,
		ProofSHA256: s.ProofSHA256, Status: string(s.Status), FailedCheck: s.FailedCheck, Message: s.Message,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
}

func viewEvaluation(e *store.Evaluation) wire.Evaluation {
	v := wire.Evaluation{
		ID: e.ID, EvaluatorID: e.EvaluatorID, ModelSHA256: e.ModelSHA256, TestCommitment: e.TestCommitment, BundleSHA256: e.BundleSHA256,
		Status: string(e.Status), FailedCheck: e.FailedCheck, Message: e.Message, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
		KeyID: e.KeyID, IssuedAt: e.IssuedAt, LogIndex: e.LogIndex, LoggedAt: e.LoggedAt,
	}
	// The envelope is shown once it is in the log: before that it is a claim the log does
	// not hold yet.
	if e.AttestationID != nil && e.LogIndex != nil {
		v.AttestationID, v.Envelope = *e.AttestationID, e.Envelope
	}
	return v
}

// featurizerOfEnvelope reads the featurizer from the training statement that a stored
// envelope carries.
func featurizerOfEnvelope(env []byte) (*wire.LookupFeaturizer, error) {
	tr, err := stored.Training(env)
	if err != nil {
		return nil, err
	}
	f := tr.Featurizer
	if f == nil {
		return nil, nil
	}
	return viewFeaturizer(wire.LookupFeaturizer{Name: f.Name, Version: f.Version, Params: f.Params, SpecSHA256: f.SpecSHA256,
		CorpusDigest: f.CorpusDigest, CorpusSHA256: f.CorpusSHA256}), nil
}

// featurizerOfManifest reads the featurizer a submitted manifest declares: the part of it that
// the registry signs once the submission is attested. The manifest was validated when it was
// submitted, so only its featurizer is decoded here, not the whole manifest checked again.
func featurizerOfManifest(manifest []byte) (*wire.LookupFeaturizer, error) {
	var m struct {
		Featurizer *commitment.Featurizer `json:"featurizer"`
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, fmt.Errorf("submitted manifest: %w", err)
	}
	f := m.Featurizer
	if f == nil {
		return nil, nil
	}
	return viewFeaturizer(wire.LookupFeaturizer{Name: f.Name, Version: f.Version, Params: f.Params, SpecSHA256: f.SpecSHA256,
		CorpusDigest: f.CorpusDigest, CorpusSHA256: f.CorpusSHA256}), nil
}

func viewFeaturizer(f wire.LookupFeaturizer) *wire.LookupFeaturizer {
	if f.Params == nil {
		f.Params = map[string]string{} // an object in the JSON, as the schema requires
	}
	return &f
}

func viewModel(v *store.ModelView) wire.ModelLookup {
	out := wire.ModelLookup{ModelSHA256: v.SHA256, Name: v.Name, ProviderID: v.ProviderID, DatasetCommitment: v.DatasetCommitment, CreatedAt: v.CreatedAt, Status: "none"}
	if v.SubmissionID != nil {
		out.SubmissionID, out.Status = *v.SubmissionID, string(*v.Status)
		out.FailedCheck, out.Message = deref(v.FailedCheck), deref(v.Message)
	}
	if v.AttestationID != nil {
		out.Attestation = &wire.LookupAttestation{ID: *v.AttestationID, LogIndex: v.LogIndex, KeyID: deref(v.KeyID), IssuedAt: *v.IssuedAt}
	}
	if v.RevocationID != nil {
		out.Revoked = true
		out.Revocation = &wire.LookupRevocation{ID: *v.RevocationID, Reason: deref(v.RevocationReason), RevokedAt: *v.RevokedAt, LogIndex: v.RevocationLogIndex}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func viewAttestation(a *store.Attestation) wire.Attestation {
	return wire.Attestation{ID: a.ID, SubmissionID: a.SubmissionID, ModelSHA256: a.ModelSHA256, ProviderID: a.ProviderID,
		KeyID: a.KeyID, IssuedAt: a.IssuedAt, LogIndex: a.LogIndex, LoggedAt: a.LoggedAt, Envelope: a.Envelope}
}

func viewRevocation(r *store.Revocation) wire.Revocation {
	return wire.Revocation{ID: r.ID, AttestationID: r.AttestationID, Reason: r.Reason, RevokedAt: r.RevokedAt, LogIndex: r.LogIndex, Envelope: r.Envelope}
}

func viewJob(j *rivertype.JobRow) wire.Job {
	v := wire.Job{ID: j.ID, Kind: j.Kind, State: string(j.State), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
		Args: j.EncodedArgs, CreatedAt: j.CreatedAt.UTC(), ScheduledAt: j.ScheduledAt.UTC(), Errors: []wire.JobError{}}
	if j.FinalizedAt != nil {
		t := j.FinalizedAt.UTC()
		v.FinalizedAt = &t
	}
	for _, e := range j.Errors {
		v.Errors = append(v.Errors, wire.JobError{At: e.At.UTC(), Attempt: e.Attempt, Error: e.Error})
	}
	return v
}

func mapList[S, T any](items []S, next string, f func(*S) T) wire.List[T] {
	out := wire.List[T]{Items: make([]T, 0, len(items)), NextCursor: next}
	for i := range items {
		out.Items = append(out.Items, f(&items[i]))
	}
	return out
}

func viewCircuit(k *keyset.Circuit) wire.Circuit {
	out := wire.Circuit{ID: k.ID, Shape: k.Shape, Circuit: k.Circuit, VKSHA256: k.VKSHA256, Constraints: k.Constraints}
	if c := k.Ceremony; c != nil {
		out.Ceremony = &wire.Ceremony{Transcript: c.Transcript, TranscriptSHA256: c.TranscriptSHA256,
			Phase1Contributors: c.Phase1Contributors, Phase2Contributors: c.Phase2Contributors}
	}
	return out
}
