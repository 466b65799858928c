package service

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/registry/store"
)

// Revoke signs a revocation of an attestation with a reason, stores it and inserts the job
// that appends it to the log (admin only). An attestation is revoked at most once.
func (s *Service) Revoke(ctx context.Context, by *Principal, attestationID, reason string) (*store.Revocation, error) {
	if err := RequireAdmin(by); err != nil {
		return nil, err
	}
	reason, err := checkReason(reason)
	if err != nil {
		return nil, err
	}
	att, err := s.store.Attestation(ctx, attestationID)
	if err != nil {
		return nil, err
	}
	return s.revokeEnvelope(ctx, by, att.ID, reason, "attestation")
}

// RevokeEvaluation revokes a signed evaluation's attestation as Revoke does a training
// attestation (admin only): a signed revocation of its envelope, logged by a job.
func (s *Service) RevokeEvaluation(ctx context.Context, by *Principal, evaluationID, reason string) (*store.Revocation, error) {
	if err := RequireAdmin(by); err != nil {
		return nil, err
	}
	reason, err := checkReason(reason)
	if err != nil {
		return nil, err
	}
	ev, err := s.store.Evaluation(ctx, evaluationID)
	if err != nil {
		return nil, err
	}
	if ev.AttestationID == nil {
		return nil, fmt.Errorf("%w: evaluation %s is %s and has no attestation to revoke", ErrNotReady, ev.ID, ev.Status)
	}
	return s.revokeEnvelope(ctx, by, *ev.AttestationID, reason, "evaluation")
}

// checkReason trims a revocation's reason and requires 1 to 1000 characters.
func checkReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > 1000 {
		return "", invalid("reason", "must be 1 to 1000 characters")
	}
	return reason, nil
}

// revokeEnvelope signs, stores and enqueues the revocation of the envelope whose digest is
// attestationID; kind ("attestation", "evaluation") names it in the audit log.
func (s *Service) revokeEnvelope(ctx context.Context, by *Principal, attestationID, reason, kind string) (*store.Revocation, error) {
	if _, err := s.store.Revocation(ctx, attestationID); err == nil {
		return nil, fmt.Errorf("%w: %s %s is already revoked", ErrConflict, kind, attestationID)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	var digest [32]byte
	if _, err := hex.Decode(digest[:], []byte(attestationID)); err != nil {
		return nil, fmt.Errorf("attestation id %q: %w", attestationID, err)
	}
	now := s.clock()
	st, err := statement.NewRevocation(digest, statement.Revocation{Reason: reason, RevokedAt: now})
	if err != nil {
		return nil, &InvalidError{Field: "reason", Err: err}
	}
	envJSON, lf, err := s.sign(ctx, st)
	if err != nil {
		return nil, err
	}
	r := &store.Revocation{
		ID: hex.EncodeToString(lf.Envelope[:]), AttestationID: attestationID, Reason: reason, Envelope: envJSON,
		Leaf: lf.Marshal(), RevokedAt: now.Truncate(1e9), CreatedAt: now,
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.Create(ctx, r); err != nil {
			return fmt.Errorf("revoke %s: %w", attestationID, err)
		}
		if _, err := s.jobs.EnqueueRevocation(ctx, tx, r.ID); err != nil {
			return fmt.Errorf("enqueue revocation: %w", err)
		}
		return audit(ctx, tx, now, by.Actor(), kind+".revoke", "attestation:"+attestationID, reason)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// LogRevocation appends a revocation's leaf and records its index; idempotent.
func (s *Service) LogRevocation(ctx context.Context, revocationID string) error {
	var r *store.Revocation
	if err := s.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		r, err = tx.RevocationByID(ctx, revocationID)
		return err
	}); err != nil {
		return err
	}
	if r.LogIndex != nil {
		return nil
	}
	return s.logRevocation(ctx, r)
}

func (s *Service) logRevocation(ctx context.Context, r *store.Revocation) error {
	idx, err := s.log.Append(ctx, r.Leaf)
	if err != nil {
		return fmt.Errorf("append revocation %s: %w", r.ID, err)
	}
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		now := s.clock()
		if err := tx.SetRevocationLogged(ctx, r.ID, int64(idx), now); err != nil {
			return err
		}
		return audit(ctx, tx, now, "registry", "revocation.log", "attestation:"+r.AttestationID, fmt.Sprintf("revocation %s at index %d", r.ID, idx))
	})
}
