package service

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/comet-attest/comet/registry/store"
)

// providerIDRE is the shape of a provider id: it is part of every attestation the provider
// gets, so it is short, lower-case and unambiguous.
var providerIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$`)

// Registration is a provider's or an evaluator's request to join.
type Registration struct {
	ID          string
	DisplayName string
	Contact     string
	// Role is store.RoleProvider (the default, "") or store.RoleEvaluator.
	Role string
}

// Register records a pending provider or evaluator and returns it with its first API key
// (shown once; it can submit only once an admin has approved the account).
func (s *Service) Register(ctx context.Context, r Registration) (*store.Provider, string, error) {
	if !providerIDRE.MatchString(r.ID) {
		return nil, "", invalid("id", "provider id %q must be 3 to 64 characters of a-z, 0-9 and '-', not starting or ending with '-'", r.ID)
	}
	r.DisplayName = strings.TrimSpace(r.DisplayName)
	if r.DisplayName == "" {
		r.DisplayName = r.ID
	}
	if utf8.RuneCountInString(r.DisplayName) > 200 {
		return nil, "", invalid("display_name", "longer than 200 characters")
	}
	r.Contact = strings.TrimSpace(r.Contact)
	if err := CheckContact(r.Contact); err != nil {
		return nil, "", &InvalidError{Field: "contact", Err: err}
	}
	role := store.Role(r.Role)
	switch role {
	case "":
		role = store.RoleProvider
	case store.RoleProvider, store.RoleEvaluator:
	default:
		return nil, "", invalid("role", "role %q is neither %q nor %q", r.Role, store.RoleProvider, store.RoleEvaluator)
	}
	p := &store.Provider{ID: r.ID, DisplayName: r.DisplayName, Contact: r.Contact, Status: store.ProviderPending, Role: role}
	var raw string
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.Create(ctx, p); errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("%w: provider id %s is taken", ErrConflict, r.ID)
		} else if err != nil {
			return fmt.Errorf("register provider %s: %w", r.ID, err)
		}
		var k *store.APIKey
		var err error
		raw, k, err = s.createProviderKey(ctx, tx, p.ID, "registration")
		if err != nil {
			return err
		}
		return audit(ctx, tx, p.CreatedAt, "provider:"+p.ID, "provider.register", "provider:"+p.ID, "key "+k.ID)
	})
	if err != nil {
		return nil, "", err
	}
	return p, raw, nil
}

// CheckContact accepts what a registry operator can reach a provider at: a bare e-mail
// address (no display name, which would hide where mail goes) or an https URL, in at most
// 200 characters. The CLI checks with it before sending.
func CheckContact(contact string) error {
	if contact == "" || utf8.RuneCountInString(contact) > 200 {
		return errors.New("must be 1 to 200 characters: an e-mail address or an https URL")
	}
	if u, err := url.Parse(contact); err == nil && u.Scheme == "https" {
		if u.Host == "" || u.User != nil {
			return fmt.Errorf("%q is not an https URL with a host and no user name", contact)
		}
		return nil
	}
	if a, err := mail.ParseAddress(contact); err != nil || a.Name != "" || a.Address != contact {
		return fmt.Errorf("%q is neither an e-mail address such as ops@example.org nor an https URL", contact)
	}
	return nil
}

// ProviderAction is an admin decision about a provider.
type ProviderAction string

const (
	Approve   ProviderAction = "approve"
	Suspend   ProviderAction = "suspend"
	Reinstate ProviderAction = "reinstate"
)

var providerTransitions = map[ProviderAction]struct {
	from []store.ProviderStatus
	to   store.ProviderStatus
}{
	Approve:   {[]store.ProviderStatus{store.ProviderPending}, store.ProviderApproved},
	Suspend:   {[]store.ProviderStatus{store.ProviderPending, store.ProviderApproved}, store.ProviderSuspended},
	Reinstate: {[]store.ProviderStatus{store.ProviderSuspended}, store.ProviderApproved},
}

// SetProvider applies an admin decision (admin only).
func (s *Service) SetProvider(ctx context.Context, by *Principal, id string, action ProviderAction, reason string) (*store.Provider, error) {
	if err := RequireAdmin(by); err != nil {
		return nil, err
	}
	tr, ok := providerTransitions[action]
	if !ok {
		return nil, invalid("action", "unknown action %q", action)
	}
	var p *store.Provider
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		now := s.clock()
		if err := tx.SetProviderStatus(ctx, id, tr.from, tr.to, now); err != nil {
			return fmt.Errorf("%s provider: %w", action, err)
		}
		if err := audit(ctx, tx, now, by.Actor(), "provider."+string(action), "provider:"+id, reason); err != nil {
			return err
		}
		var err error
		p, err = tx.Provider(ctx, id)
		return err
	})
	return p, err
}
