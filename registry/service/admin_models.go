package service

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"

	"github.com/comet-attest/comet/registry/store"
)

var hexPrefixRE = regexp.MustCompile(`^[0-9a-f]{0,64}$`)

// SearchModels finds models by hash prefix, provider, dataset commitment and name (admin
// only).
func (a *Admin) SearchModels(ctx context.Context, by *Principal, f store.ModelFilter, p store.Page) ([]store.Model, string, error) {
	if err := RequireAdmin(by); err != nil {
		return nil, "", err
	}
	if !hexPrefixRE.MatchString(f.SHA256Prefix) {
		return nil, "", invalid("sha256", "a model hash (prefix) is lower-case hex, at most 64 digits")
	}
	return a.svc.store.SearchModels(ctx, f, p)
}

// ModelDetail is everything the console shows of one model.
type ModelDetail struct {
	View *store.ModelView
	// Submissions are every submission of the model, oldest first, each with the audit
	// events of its verification: received, signed, logged or rejected.
	Submissions []SubmissionSteps
	// Anchor is the first accepted anchor that covers the attestation's log index.
	Anchor      *store.Anchor
	Evaluations []store.Evaluation
	Revocation  []store.AuditEvent // the revocation's events
}

// SubmissionSteps is a submission with the steps the registry took on it.
type SubmissionSteps struct {
	store.Submission
	Steps []store.AuditEvent // oldest first
}

// ModelDetail reads a model with its submissions, their steps, its attestation, log index,
// anchor and evaluations (admin only).
func (a *Admin) ModelDetail(ctx context.Context, by *Principal, sha string) (*ModelDetail, error) {
	if err := RequireAdmin(by); err != nil {
		return nil, err
	}
	st := a.svc.store
	v, err := st.ModelView(ctx, sha)
	if err != nil {
		return nil, err
	}
	d := &ModelDetail{View: v}
	subs, err := st.ModelSubmissions(ctx, sha)
	if err != nil {
		return nil, err
	}
	for _, s := range subs {
		steps, err := a.events(ctx, "submission:"+s.ID)
		if err != nil {
			return nil, err
		}
		d.Submissions = append(d.Submissions, SubmissionSteps{Submission: s, Steps: steps})
	}
	if v.LogIndex != nil {
		an, err := st.AcceptedAnchorBetween(ctx, *v.LogIndex, math.MaxInt64)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		d.Anchor = an
	}
	if v.AttestationID != nil {
		if d.Revocation, err = a.events(ctx, "attestation:"+*v.AttestationID); err != nil {
			return nil, err
		}
	}
	if d.Evaluations, _, err = st.ModelEvaluations(ctx, sha, false, store.Page{Limit: store.MaxPageLimit}); err != nil {
		return nil, err
	}
	return d, nil
}

// events lists a subject's audit events, oldest first.
func (a *Admin) events(ctx context.Context, subject string) ([]store.AuditEvent, error) {
	evs, _, err := a.svc.store.SearchAudit(ctx, store.AuditFilter{Subject: subject}, store.Page{Limit: store.MaxPageLimit})
	for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
		evs[i], evs[j] = evs[j], evs[i]
	}
	return evs, err
}

// RevokeModel revokes a model's attestation with a reason (admin only).
func (a *Admin) RevokeModel(ctx context.Context, by *Principal, sha, reason string) (*store.Revocation, error) {
	if err := RequireAdmin(by); err != nil {
		return nil, err
	}
	v, err := a.svc.store.ModelView(ctx, sha)
	if err != nil {
		return nil, err
	}
	if v.AttestationID == nil {
		return nil, fmt.Errorf("%w: model %s has no attestation to revoke", ErrNotReady, sha)
	}
	return a.svc.Revoke(ctx, by, *v.AttestationID, reason)
}

// Account is a provider or evaluator with its API keys.
type Account struct {
	store.Provider
	Keys []store.APIKey
}

// Accounts lists providers and evaluators with their keys (admin only).
func (a *Admin) Accounts(ctx context.Context, by *Principal, status store.ProviderStatus, p store.Page) ([]Account, string, error) {
	if err := RequireAdmin(by); err != nil {
		return nil, "", err
	}
	switch status {
	case "", store.ProviderPending, store.ProviderApproved, store.ProviderSuspended:
	default:
		return nil, "", invalid("status", "status %q is not pending, approved or suspended", status)
	}
	ps, next, err := a.svc.store.Providers(ctx, status, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]Account, 0, len(ps))
	for _, pr := range ps {
		ks, err := a.svc.store.APIKeys(ctx, pr.ID)
		if err != nil {
			return nil, "", err
		}
		out = append(out, Account{Provider: pr, Keys: ks})
	}
	return out, next, nil
}

// Audit lists the audit log, filtered (admin only).
func (a *Admin) Audit(ctx context.Context, by *Principal, f store.AuditFilter, p store.Page) ([]store.AuditEvent, string, error) {
	if err := RequireAdmin(by); err != nil {
		return nil, "", err
	}
	return a.svc.store.SearchAudit(ctx, f, p)
}
