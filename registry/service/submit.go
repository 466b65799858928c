package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/registry/store"
)

// Submit accepts a provider's submission: it checks the key, the provider's standing and the
// material's shape, then records the dataset, the model and the submission and inserts the
// verification job, all in one transaction. The returned submission is "received".
//
// Submitting claims nothing: any approved provider may submit any model file, and only the
// attestation, which the first submission of a model to pass verification gets, says whose
// it is. So a model already attested is refused (ErrConflict), as is a provider's second live
// submission of one model, but another provider's pending or rejected submission blocks
// nobody.
func (s *Service) Submit(ctx context.Context, by *Principal, sub Submission) (*store.Submission, error) {
	if by == nil || by.Role != store.RoleProvider {
		return nil, fmt.Errorf("%w: only a provider key can submit", ErrForbidden)
	}
	prov, err := s.store.Provider(ctx, by.ProviderID)
	if err != nil {
		return nil, err
	}
	if prov.Status != store.ProviderApproved {
		return nil, fmt.Errorf("%w: provider %s is %s, not approved", ErrForbidden, prov.ID, prov.Status)
	}
	if prov.Role == store.RoleEvaluator {
		return nil, fmt.Errorf("%w: %s is an evaluator: it may submit evaluations, not models for attestation", ErrForbidden, prov.ID)
	}
	if err := checkModelName(sub.ModelName); err != nil {
		return nil, err
	}
	m, err := commitment.ParseManifest(sub.Manifest)
	if err != nil {
		return nil, &InvalidError{Field: "manifest", Err: err}
	}
	// The parts arrive as JSON values inside the request, which an encoder may re-space;
	// what is stored, served, checked and attested is each one's canonical file: the model's
	// (docs/model.md), the manifest as comet dataset commit writes it, the proof bundle's
	// (from the checker).
	if sub.Manifest, err = m.Marshal(); err != nil {
		return nil, &InvalidError{Field: "manifest", Err: err}
	}
	mod, file, err := model.Canonicalize(sub.Model)
	if err != nil {
		return nil, &InvalidError{Field: "model", Err: err}
	}
	sub.Model = file
	modelSHA := mod.SHA256
	// Before the proof is looked at: an attested model is refused whatever comes with it. An
	// attestation stored after this read is caught when the submission is verified
	// (CheckAttested).
	if att, err := s.store.AttestationByModel(ctx, modelSHA); err == nil {
		return nil, fmt.Errorf("%w: model %s is already attested (attestation %s)", ErrConflict, modelSHA, att.ID)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	claim, err := s.proofs.Precheck(Parts{ModelName: sub.ModelName, Model: mod, Manifest: m, Proof: sub.Proof, ProviderID: prov.ID})
	if err != nil {
		return nil, err
	}
	sub.Proof = claim.ProofFile
	if claim.DatasetCommitment != m.Commitment.String() {
		return nil, invalid("proof", "proof is for dataset %s, the manifest commits to %s", claim.DatasetCommitment, m.Commitment)
	}
	now := s.clock()
	ds := &store.Dataset{
		Commitment: m.Commitment.String(), FileDigest: m.FileDigest,
		N: int64(m.N), D: int64(m.D), FractionBits: int64(m.FractionBits), ValueBits: int64(m.ValueBits), ChunkRows: int64(m.ChunkRows),
		Manifest: sub.Manifest, CreatedAt: now,
	}
	rec := &store.Submission{
		ID: newID("sub_", now), ProviderID: prov.ID, ModelSHA256: modelSHA, ModelName: sub.ModelName, DatasetCommitment: ds.Commitment,
		Manifest: sub.Manifest, ProofSHA256: sha256Hex(sub.Proof), Proof: sub.Proof, Status: store.StatusReceived,
		CreatedAt: now, UpdatedAt: now,
	}
	// Batched: concurrent submissions share a commit (one fsync on SQLite), each still
	// atomic on its own.
	err = s.store.InBatchTx(ctx, func(tx *store.Tx) error {
		// Checked before the insert so that the answer names the submission; the unique
		// index is the backstop against a concurrent replay.
		live, err := tx.LiveSubmission(ctx, modelSHA, prov.ID)
		if err == nil {
			return fmt.Errorf("%w: model %s already has submission %s (%s) of this provider", ErrConflict, modelSHA, live.ID, live.Status)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if _, err := tx.CreateIfAbsent(ctx, ds); err != nil {
			return err
		}
		// The first upload of a model records its file; a later one, by anyone, finds the
		// row there and changes nothing (see store.Model).
		model := &store.Model{SHA256: modelSHA, Name: sub.ModelName, ProviderID: prov.ID, DatasetCommitment: ds.Commitment, Body: sub.Model, CreatedAt: now}
		if _, err := tx.CreateIfAbsent(ctx, model); err != nil {
			return err
		}
		if err := tx.Create(ctx, rec); err != nil {
			return err
		}
		jobID, err := s.enqueue(ctx, tx, rec.ID)
		if err != nil {
			return err
		}
		rec.JobID = &jobID
		return audit(ctx, tx, now, by.Actor(), "submission.create", "submission:"+rec.ID, "model "+modelSHA)
	})
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "submission received", slog.String("submission", rec.ID), slog.String("provider", prov.ID), slog.String("model", modelSHA))
	return rec, nil
}

func checkModelName(name string) error {
	switch {
	case name == "" || utf8.RuneCountInString(name) > 200:
		return invalid("model_name", "must be 1 to 200 characters")
	case name != filepath.Base(name) || strings.ContainsAny(name, "/\\\x00") || name == "." || name == "..":
		return invalid("model_name", "%q must be a file name without a directory", name)
	}
	return nil
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Submission reads a submission for by, with its attestation once one is signed: an admin
// reads any, a provider only its own. Another provider's is ErrNotFound, not ErrForbidden,
// so that a provider learns nothing of others' submissions, not even that they exist.
func (s *Service) Submission(ctx context.Context, by *Principal, id string) (*store.Submission, *store.Attestation, error) {
	if by == nil {
		return nil, nil, ErrUnauthorized
	}
	sub, err := s.store.Submission(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if by.Role != store.RoleAdmin && by.ProviderID != sub.ProviderID {
		return nil, nil, fmt.Errorf("submission %s: %w", id, ErrNotFound)
	}
	if sub.Status != store.StatusLogged && sub.Status != store.StatusVerifying {
		return sub, nil, nil
	}
	att, err := s.store.AttestationBySubmission(ctx, sub.ID)
	if errors.Is(err, store.ErrNotFound) {
		return sub, nil, nil // still verifying
	}
	return sub, att, err
}

// Submissions lists submissions for by: an admin sees every provider's (f.ProviderID
// narrows), a provider only its own whatever f says.
func (s *Service) Submissions(ctx context.Context, by *Principal, f store.SubmissionFilter, p store.Page) ([]store.Submission, string, error) {
	if by == nil {
		return nil, "", ErrUnauthorized
	}
	if by.Role != store.RoleAdmin {
		f.ProviderID = by.ProviderID
	}
	return s.store.Submissions(ctx, f, p)
}
