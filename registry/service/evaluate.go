package service

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"

	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/registry/store"
)

// ErrNoEvaluations reports a registry that was configured without an evaluation checker.
var ErrNoEvaluations = errors.New("this registry does not verify evaluations")

// EvaluationSubmission is what an evaluator uploads: the model it evaluated (by digest),
// its test set's manifest and the evaluation bundle; never the test rows or the salt.
type EvaluationSubmission struct {
	ModelSHA256 string
	Manifest    []byte
	Bundle      []byte
}

// EvalParts are an evaluation's parts as the service decoded them; the checker alone reads
// the bundle.
type EvalParts struct {
	Model    *model.Model
	Manifest *commitment.Manifest
	Bundle   []byte
	// EvaluatorID is the submitting account, whose identity the proof binds: set from the
	// key or the stored evaluation, never from what was sent.
	EvaluatorID string
}

// EvalClaim is what a checked evaluation establishes.
type EvalClaim struct {
	// Evaluation is the predicate the verified proof states (attest/verify.EvaluationClaim),
	// all but IssuedAt. PrecheckEvaluation leaves it empty.
	Evaluation statement.Evaluation
	// BundleFile is the bundle's canonical encoding, whose SHA-256 the predicate names.
	BundleFile []byte
}

// EvaluationChecker checks evaluations against the registry's published evaluation keys, as
// ProofChecker checks training submissions, with the same kinds of errors: Precheck's are
// *InvalidError naming the part, Verify's a *CheckError naming the failed check.
type EvaluationChecker interface {
	PrecheckEvaluation(p EvalParts) (EvalClaim, error)
	VerifyEvaluation(ctx context.Context, p EvalParts) (EvalClaim, error)
}

// SubmitEvaluation accepts an evaluation of a registered model by an approved provider or
// evaluator: it checks the account, that the model is attested and not revoked, and the
// parts' agreement, then records the evaluation and its verification job in one
// transaction. The returned evaluation is "received".
func (s *Service) SubmitEvaluation(ctx context.Context, by *Principal, sub EvaluationSubmission) (*store.Evaluation, error) {
	if by == nil || by.Role != store.RoleProvider {
		return nil, fmt.Errorf("%w: only a provider's or an evaluator's key can submit an evaluation", ErrForbidden)
	}
	if s.evals == nil {
		return nil, ErrNoEvaluations
	}
	acct, err := s.store.Provider(ctx, by.ProviderID)
	if err != nil {
		return nil, err
	}
	if acct.Status != store.ProviderApproved {
		return nil, fmt.Errorf("%w: %s %s is %s, not approved", ErrForbidden, acct.Role, acct.ID, acct.Status)
	}
	mod, err := s.evaluable(ctx, sub.ModelSHA256)
	if err != nil {
		return nil, err
	}
	man, err := commitment.ParseManifest(sub.Manifest)
	if err != nil {
		return nil, &InvalidError{Field: "manifest", Err: err}
	}
	if sub.Manifest, err = man.Marshal(); err != nil {
		return nil, &InvalidError{Field: "manifest", Err: err}
	}
	claim, err := s.evals.PrecheckEvaluation(EvalParts{Model: mod, Manifest: man, Bundle: sub.Bundle, EvaluatorID: acct.ID})
	if err != nil {
		return nil, err
	}
	now := s.clock()
	rec := &store.Evaluation{
		ID: newID("ev_", now), EvaluatorID: acct.ID, ModelSHA256: mod.SHA256, TestCommitment: man.Commitment.String(),
		Manifest: sub.Manifest, BundleSHA256: sha256Hex(claim.BundleFile), Bundle: claim.BundleFile, Status: store.StatusReceived,
		CreatedAt: now, UpdatedAt: now,
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if live, err := tx.LiveEvaluation(ctx, rec.BundleSHA256, acct.ID); err == nil {
			return fmt.Errorf("%w: this evaluation bundle is evaluation %s (%s) already", ErrConflict, live.ID, live.Status)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.Create(ctx, rec); err != nil {
			return err
		}
		jobID, err := s.jobs.EnqueueEvaluation(ctx, tx, rec.ID)
		if err != nil {
			return fmt.Errorf("enqueue evaluation: %w", err)
		}
		rec.JobID = &jobID
		if err := tx.SetEvaluationJob(ctx, rec.ID, jobID); err != nil {
			return err
		}
		return audit(ctx, tx, now, by.Actor(), "evaluation.create", "evaluation:"+rec.ID, "model "+mod.SHA256)
	})
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "evaluation received", slog.String("evaluation", rec.ID), slog.String("evaluator", acct.ID), slog.String("model", mod.SHA256))
	return rec, nil
}

// evaluable returns the registered model of the digest if it may be evaluated: attested and
// not revoked. An unknown model is an *InvalidError naming model_sha256.
func (s *Service) evaluable(ctx context.Context, sha string) (*model.Model, error) {
	m, err := s.store.Model(ctx, sha)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid("model_sha256", "no model %q is registered", sha)
	}
	if err != nil {
		return nil, err
	}
	att, err := s.store.AttestationByModel(ctx, sha)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid("model_sha256", "model %s is not attested: only an attested model is evaluated", sha)
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.store.Revocation(ctx, att.ID); err == nil {
		return nil, invalid("model_sha256", "model %s's attestation %s is revoked", sha, att.ID)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	mod, err := model.Unmarshal(m.Body)
	if err != nil {
		return nil, fmt.Errorf("stored model %s: %w", sha, err)
	}
	return mod, nil
}

// ProcessEvaluation verifies, signs and logs an evaluation: received → verifying → logged,
// or rejected naming the failed check. It is idempotent: a final evaluation is left alone, a
// signed one is not signed again, and the log returns the index of a leaf appended before.
func (s *Service) ProcessEvaluation(ctx context.Context, id string) error {
	ev, err := s.readEvaluation(ctx, id)
	if err != nil {
		return err
	}
	if ev.Status.Final() {
		return nil
	}
	if ev.AttestationID == nil {
		if err := s.verifyAndSignEvaluation(ctx, ev); err != nil {
			var ce *CheckError
			if errors.As(err, &ce) {
				return s.rejectEvaluation(ctx, id, ce.Check, ce.Err.Error())
			}
			return err
		}
		if ev, err = s.readEvaluation(ctx, id); err != nil {
			return err
		}
	}
	if !s.appends() {
		return nil // signed and stored; the process that owns the log appends it (LogPending)
	}
	return s.logEvaluation(ctx, ev)
}

func (s *Service) readEvaluation(ctx context.Context, id string) (*store.Evaluation, error) {
	var ev *store.Evaluation
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		ev, err = tx.Evaluation(ctx, id)
		return err
	})
	return ev, err
}

func (s *Service) verifyAndSignEvaluation(ctx context.Context, ev *store.Evaluation) error {
	if s.evals == nil {
		return ErrNoEvaluations
	}
	if err := s.store.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.SetEvaluationStatus(ctx, ev.ID, []store.SubmissionStatus{store.StatusReceived}, store.StatusVerifying, "", "", s.clock())
		return err
	}); err != nil {
		return err
	}
	// Checked again at verification: the model's attestation may have been revoked since.
	mod, err := s.evaluable(ctx, ev.ModelSHA256)
	if err != nil {
		var inv *InvalidError
		if errors.As(err, &inv) {
			return &CheckError{Check: "model", Err: inv.Err}
		}
		return err
	}
	man, err := commitment.ParseManifest(ev.Manifest)
	if err != nil {
		return &CheckError{Check: "manifest", Err: err}
	}
	claim, err := s.evals.VerifyEvaluation(ctx, EvalParts{Model: mod, Manifest: man, Bundle: ev.Bundle, EvaluatorID: ev.EvaluatorID})
	if err != nil {
		return err
	}
	e := claim.Evaluation
	switch {
	case e.Evaluator != ev.EvaluatorID:
		return fmt.Errorf("evaluation checker: claim names evaluator %q, the evaluation is %q's", e.Evaluator, ev.EvaluatorID)
	case e.BundleSHA256 != ev.BundleSHA256:
		return fmt.Errorf("evaluation checker: claim names bundle %s, the evaluation's is %s", e.BundleSHA256, ev.BundleSHA256)
	}
	// The subject is the model's exactly as its training attestation names it.
	m, err := s.store.Model(ctx, ev.ModelSHA256)
	if err != nil {
		return err
	}
	e.IssuedAt = s.now().UTC().Truncate(1e9)
	st, err := statement.NewEvaluation(statement.Subject{Name: m.Name, SHA256: m.SHA256}, e)
	if err != nil {
		return &CheckError{Check: "statement", Err: err}
	}
	envJSON, lf, err := s.sign(ctx, st)
	if err != nil {
		return err
	}
	attID := hex.EncodeToString(lf.Envelope[:])
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		now := s.clock()
		if err := tx.SetEvaluationSigned(ctx, ev.ID, attID, envJSON, lf.Marshal(), s.signer.KeyID(), e.IssuedAt, now); err != nil {
			return err
		}
		return audit(ctx, tx, now, "registry", "evaluation.sign", "evaluation:"+ev.ID, "attestation "+attID)
	})
	if errors.Is(err, store.ErrConflict) {
		return nil // another run of this job signed first: its envelope is the one logged
	}
	return err
}

// logEvaluation appends a signed evaluation's leaf and records its index: logged.
func (s *Service) logEvaluation(ctx context.Context, ev *store.Evaluation) error {
	idx, err := s.log.Append(ctx, ev.Leaf)
	if err != nil {
		return fmt.Errorf("append evaluation %s: %w", ev.ID, err)
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		now := s.clock()
		if err := tx.SetEvaluationLogged(ctx, ev.ID, int64(idx), now); err != nil {
			return err
		}
		return audit(ctx, tx, now, "registry", "evaluation.log", "evaluation:"+ev.ID, fmt.Sprintf("attestation %s at index %d", *ev.AttestationID, idx))
	})
	if err == nil {
		s.logger.InfoContext(ctx, "evaluation logged", slog.String("evaluation", ev.ID), slog.String("attestation", *ev.AttestationID), slog.Uint64("log_index", idx))
	}
	return err
}

// GiveUpEvaluation rejects an evaluation that the registry failed to process on every
// attempt, with CheckInternal and the last error.
func (s *Service) GiveUpEvaluation(ctx context.Context, id string, cause error) error {
	return s.rejectEvaluation(ctx, id, CheckInternal, "the registry could not process this evaluation: "+cause.Error())
}

func (s *Service) rejectEvaluation(ctx context.Context, id, check, message string) error {
	return s.settleRejected(ctx, "evaluation", id, check, message, (*store.Tx).SetEvaluationStatus)
}

// Evaluation reads an evaluation: anyone may read one that is logged (it is public, like
// the attestation it holds); until then only its evaluator and an admin, and to anyone else
// it does not exist.
func (s *Service) Evaluation(ctx context.Context, by *Principal, id string) (*store.Evaluation, error) {
	ev, err := s.store.Evaluation(ctx, id)
	if err != nil {
		return nil, err
	}
	if ev.Status == store.StatusLogged || (by != nil && (by.Role == store.RoleAdmin || by.ProviderID == ev.EvaluatorID)) {
		return ev, nil
	}
	return nil, fmt.Errorf("evaluation %s: %w", id, ErrNotFound)
}

// ModelEvaluations lists a registered model's logged evaluations, newest first.
func (s *Service) ModelEvaluations(ctx context.Context, sha string, p store.Page) ([]store.Evaluation, string, error) {
	if _, err := s.store.Model(ctx, sha); err != nil {
		return nil, "", err
	}
	return s.store.ModelEvaluations(ctx, sha, true, p)
}
