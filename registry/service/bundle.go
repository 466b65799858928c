package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/registry/store"
)

// Bundle returns the client bundle of a logged attestation (package attest/bundle), a
// training attestation's or an evaluation's: the envelope, the leaf, the inclusion proof and
// the latest checkpoint that covers it. It waits for that checkpoint as long as ctx allows;
// ErrNotReady means not logged yet.
func (s *Service) Bundle(ctx context.Context, attestationID string) (*bundle.Bundle, error) {
	var rawEnv, leaf []byte
	var index *int64
	att, err := s.store.Attestation(ctx, attestationID)
	switch {
	case err == nil:
		rawEnv, leaf, index = att.Envelope, att.Leaf, att.LogIndex
	case errors.Is(err, store.ErrNotFound):
		ev, everr := s.store.EvaluationByAttestation(ctx, attestationID)
		if everr != nil {
			return nil, err // the attestation's not-found, which names what was asked for
		}
		rawEnv, leaf, index = ev.Envelope, ev.Leaf, ev.LogIndex
	default:
		return nil, err
	}
	if index == nil {
		return nil, fmt.Errorf("%w: attestation %s is not in the log yet", ErrNotReady, attestationID)
	}
	env, err := envelope.Parse(rawEnv)
	if err != nil {
		return nil, fmt.Errorf("stored envelope of %s: %w", attestationID, err)
	}
	b, err := bundle.Build(ctx, s.log, env, leaf, uint64(*index))
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("%w: no checkpoint covers index %d yet", ErrNotReady, *index)
	}
	if err != nil {
		return nil, err
	}
	return b, s.addAnchor(ctx, b)
}

// addAnchor puts into b the receipt of the newest accepted anchor that covers its entry and
// the consistency proof from that anchored checkpoint to the bundle's. An entry newer than
// the last anchor gets neither: the bundle then says "not yet anchored" by having no receipt.
func (s *Service) addAnchor(ctx context.Context, b *bundle.Bundle) error {
	a, err := s.store.AcceptedAnchorBetween(ctx, int64(b.Index), int64(b.Inclusion.TreeSize))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	hashes, err := s.log.ConsistencyProof(ctx, uint64(a.TreeSize), b.Inclusion.TreeSize)
	if err != nil {
		return err
	}
	receipt := bundle.AnchorReceipt{
		Chain: bundle.AnchorChain, Network: s.chain.Network, Contract: strings.ToLower(s.chain.Contract), TxHash: a.TxHash,
		TreeSize: uint64(a.TreeSize), Root: a.Root, Finality: a.Finality,
	}
	if a.BlockNumber != nil {
		bn := uint64(*a.BlockNumber)
		receipt.BlockNumber = &bn
	}
	if b.Anchor, err = json.Marshal(receipt); err != nil {
		return err
	}
	b.Consistency = &bundle.Consistency{Checkpoint: []byte(a.Checkpoint), Hashes: hashes}
	return nil
}

// Consistency returns the proof that the log at size from is a prefix of the log at size
// to, for a client that holds an older checkpoint.
func (s *Service) Consistency(ctx context.Context, from, to uint64) ([][]byte, error) {
	_, cp, err := s.log.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	if from > to || to > cp.Size || from == 0 {
		return nil, invalid("from", "want 0 < from <= to <= %d (the latest checkpoint), got %d and %d", cp.Size, from, to)
	}
	return s.log.ConsistencyProof(ctx, from, to)
}

// Checkpoint is the latest signed checkpoint.
func (s *Service) Checkpoint(ctx context.Context) ([]byte, error) {
	raw, _, err := s.log.Checkpoint(ctx)
	return raw, err
}

// RevocationOf returns the revocation of an attestation.
func (s *Service) RevocationOf(ctx context.Context, attestationID string) (*store.Revocation, error) {
	return s.store.Revocation(ctx, attestationID)
}
