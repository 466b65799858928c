package service

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/leaf"
	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/registry/store"
)

// Check names recorded on rejected submissions besides the proof checker's own.
const (
	// CheckInternal: the registry failed on every attempt.
	CheckInternal = "internal"
	// CheckAttested: another submission of the model passed verification first and holds
	// its one attestation.
	CheckAttested = "already attested"
	// CheckTolerance: the proof verified, but its gradient bound relative to the data
	// (Claim.RelativeGradient) is above Config.MaxRelativeGradient.
	CheckTolerance = "tolerance"
)

// ProcessSubmission runs a submission through verification, signing and logging:
// received → verifying → logged, or rejected naming the failed check. It is idempotent: a
// final submission is left alone, a stored attestation is reused rather than signed again,
// and the log returns the existing index of a leaf appended before. A model has one
// attestation: the first of its submissions to pass verification gets it, and the others,
// whoever sent them, are rejected with CheckAttested.
func (s *Service) ProcessSubmission(ctx context.Context, id string) error {
	sub, err := s.readSubmission(ctx, id)
	if err != nil {
		return err
	}
	if sub.Status.Final() {
		return nil
	}
	release, err := s.lease(ctx, id)
	if err != nil {
		return err
	}
	defer release()
	if sub.Status == store.StatusReceived {
		var moved bool
		if err := s.store.InTx(ctx, func(tx *store.Tx) error {
			var err error
			moved, err = tx.SetSubmissionStatus(ctx, id, []store.SubmissionStatus{store.StatusReceived}, store.StatusVerifying, "", "", s.clock())
			return err
		}); err != nil {
			return err
		}
		if moved {
			s.logger.InfoContext(ctx, "submission verifying", slog.String("submission", id), slog.String("model", sub.ModelSHA256))
		}
	}
	att, err := s.modelAttestation(ctx, sub)
	if errors.Is(err, store.ErrNotFound) {
		att, err = s.verifyAndSign(ctx, sub)
	}
	if err != nil {
		var ce *CheckError
		if errors.As(err, &ce) {
			return s.reject(ctx, id, ce.Check, ce.Err.Error())
		}
		return err
	}
	if !s.appends() {
		return nil // signed and stored; the process that owns the log appends it (LogPending)
	}
	return s.logAttestation(ctx, att, sub.ID)
}

// readSubmission reads through a transaction so that it sees the latest commit even where
// the read pool lags (SQLite readers see the database as of their own last read).
func (s *Service) readSubmission(ctx context.Context, id string) (*store.Submission, error) {
	var sub *store.Submission
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		sub, err = tx.Submission(ctx, id)
		return err
	})
	return sub, err
}

// GiveUp rejects a submission that the registry failed to process on every attempt, with
// the check CheckInternal and the last error: a submission must not stay "verifying" for
// ever.
func (s *Service) GiveUp(ctx context.Context, id string, cause error) error {
	return s.reject(ctx, id, CheckInternal, "the registry could not process this submission: "+cause.Error())
}

// reject marks a submission rejected by a failed check (no-op when it is already final).
func (s *Service) reject(ctx context.Context, id, check, message string) error {
	return s.settleRejected(ctx, "submission", id, check, message, (*store.Tx).SetSubmissionStatus)
}

// settleRejected moves the record of a kind ("submission", "evaluation") from received or
// verifying to rejected with setStatus, audits and logs it; a final record is left alone.
func (s *Service) settleRejected(ctx context.Context, kind, id, check, message string,
	setStatus func(tx *store.Tx, ctx context.Context, id string, from []store.SubmissionStatus, to store.SubmissionStatus, check, message string, now time.Time) (bool, error)) error {
	var moved bool
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		now := s.clock()
		var err error
		moved, err = setStatus(tx, ctx, id, []store.SubmissionStatus{store.StatusReceived, store.StatusVerifying}, store.StatusRejected, check, message, now)
		if err != nil || !moved {
			return err
		}
		return audit(ctx, tx, now, "registry", kind+".reject", kind+":"+id, check+": "+message)
	})
	if err == nil && moved {
		s.logger.InfoContext(ctx, kind+" rejected", slog.String(kind, id), slog.String("check", check), slog.String("reason", message))
	}
	return err
}

// modelAttestation returns the attestation of the submission's model if this submission
// holds it, a *CheckError (CheckAttested) if another one does, and store.ErrNotFound if
// there is none. It reads in a transaction, for the same reason as readSubmission.
func (s *Service) modelAttestation(ctx context.Context, sub *store.Submission) (*store.Attestation, error) {
	var att *store.Attestation
	if err := s.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		att, err = tx.AttestationByModel(ctx, sub.ModelSHA256)
		return err
	}); err != nil {
		return nil, err
	}
	if att.SubmissionID != sub.ID {
		return nil, &CheckError{Check: CheckAttested, Err: fmt.Errorf("model %s is attested on submission %s of provider %s", sub.ModelSHA256, att.SubmissionID, att.ProviderID)}
	}
	return att, nil
}

func (s *Service) verifyAndSign(ctx context.Context, sub *store.Submission) (*store.Attestation, error) {
	model, err := s.store.Model(ctx, sub.ModelSHA256)
	if err != nil {
		return nil, err
	}
	// The name and the provider are this submission's own: the model row may hold another
	// provider's upload of the same file.
	parts, err := storedParts(sub, model)
	if err != nil {
		return nil, err
	}
	claim, err := s.proofs.Verify(ctx, parts)
	if err != nil {
		return nil, err
	}
	// The checker verified the proof against this submission's manifest, whose commitment
	// Submit recorded: the two agree unless the checker is at fault.
	if claim.DatasetCommitment != sub.DatasetCommitment {
		return nil, &CheckError{Check: "dataset commitment", Err: fmt.Errorf("proof is for %s, manifest commits to %s", claim.DatasetCommitment, sub.DatasetCommitment)}
	}
	// Written so that a NaN, which no comparison satisfies, is refused too.
	if !(claim.RelativeGradient <= s.maxRelativeGradient) {
		return nil, &CheckError{Check: CheckTolerance, Err: fmt.Errorf("the proof bounds the gradient at %g relative to the data, above the registry's maximum of %g",
			claim.RelativeGradient, s.maxRelativeGradient)}
	}
	tr := claim.Training
	switch {
	case tr.Provider != sub.ProviderID:
		return nil, fmt.Errorf("proof checker: claim names provider %q, the submission is %q's", tr.Provider, sub.ProviderID)
	case tr.Proof.BundleSHA256 != sub.ProofSHA256:
		return nil, fmt.Errorf("proof checker: claim names bundle %s, the submission's is %s", tr.Proof.BundleSHA256, sub.ProofSHA256)
	}
	subj := statement.Subject{Name: sub.ModelName, SHA256: model.SHA256}
	tr.IssuedAt = s.now().UTC().Truncate(1e9)
	st, err := statement.NewTraining(subj, tr)
	if err != nil {
		return nil, &CheckError{Check: "statement", Err: err}
	}
	envJSON, lf, err := s.sign(ctx, st)
	if err != nil {
		return nil, err
	}
	att := &store.Attestation{
		ID: hex.EncodeToString(lf.Envelope[:]), SubmissionID: sub.ID, ModelSHA256: model.SHA256, ProviderID: sub.ProviderID,
		Envelope: envJSON, Leaf: lf.Marshal(), KeyID: s.signer.KeyID(), IssuedAt: tr.IssuedAt, CreatedAt: s.clock(),
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.Create(ctx, att); err != nil {
			return err
		}
		if err := tx.SetModelOwner(ctx, model.SHA256, sub.ProviderID, sub.ModelName); err != nil {
			return err
		}
		return audit(ctx, tx, att.CreatedAt, "registry", "attestation.sign", "submission:"+sub.ID, "attestation "+att.ID)
	})
	if errors.Is(err, store.ErrConflict) {
		// Another run of this job stored its attestation first: use that one, so that only
		// one envelope for this submission ever reaches the log. Or another submission of
		// the model passed verification while this one was verified: it holds the model's
		// one attestation, and this one is rejected.
		held, herr := s.modelAttestation(ctx, sub)
		if errors.Is(herr, store.ErrNotFound) {
			return nil, err
		}
		return held, herr
	}
	if err != nil {
		return nil, err
	}
	return att, nil
}

// logAttestation appends the attestation's leaf and records the index and the final status.
func (s *Service) logAttestation(ctx context.Context, att *store.Attestation, submissionID string) error {
	idx, err := s.log.Append(ctx, att.Leaf)
	if err != nil {
		return fmt.Errorf("append attestation %s: %w", att.ID, err)
	}
	var moved bool
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		now := s.clock()
		if err := tx.SetAttestationLogged(ctx, att.ID, int64(idx), now); err != nil {
			return err
		}
		var err error
		moved, err = tx.SetSubmissionStatus(ctx, submissionID, []store.SubmissionStatus{store.StatusReceived, store.StatusVerifying}, store.StatusLogged, "", "", now)
		if err != nil || !moved {
			return err
		}
		return audit(ctx, tx, now, "registry", "attestation.log", "submission:"+submissionID, fmt.Sprintf("attestation %s at index %d", att.ID, idx))
	})
	if err == nil && moved {
		s.logger.InfoContext(ctx, "submission logged", slog.String("submission", submissionID), slog.String("attestation", att.ID), slog.Uint64("log_index", idx))
	}
	return err
}

// sign wraps a statement in a DSSE envelope signed by the registry and computes its log leaf.
func (s *Service) sign(ctx context.Context, st *intoto.Statement) ([]byte, leaf.Leaf, error) {
	payload, err := statement.Marshal(st)
	if err != nil {
		return nil, leaf.Leaf{}, err
	}
	env, err := envelope.Sign(ctx, payload, s.signer)
	if err != nil {
		return nil, leaf.Leaf{}, err
	}
	envJSON, err := envelope.Marshal(env)
	if err != nil {
		return nil, leaf.Leaf{}, err
	}
	lf, err := leaf.FromEnvelope(env, s.signer.Verifier())
	if err != nil {
		return nil, leaf.Leaf{}, err
	}
	return envJSON, lf, nil
}

// storedParts decodes what Submit stored: its canonical model file and manifest. Submit
// checked both, so a failure here is a fault of the stored record, named as the check of
// that part.
func storedParts(sub *store.Submission, m *store.Model) (Parts, error) {
	mod, err := model.Unmarshal(m.Body)
	if err != nil {
		return Parts{}, &CheckError{Check: "model", Err: err}
	}
	man, err := commitment.ParseManifest(sub.Manifest)
	if err != nil {
		return Parts{}, &CheckError{Check: "manifest", Err: err}
	}
	return Parts{ModelName: sub.ModelName, Model: mod, Manifest: man, Proof: sub.Proof, ProviderID: sub.ProviderID}, nil
}
