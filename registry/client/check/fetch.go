package check

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	tclient "github.com/transparency-dev/tessera/client"

	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/clientstate"
	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/attest/verify"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/registry/client"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	f_log "github.com/transparency-dev/formats/log"
)

// Model fetches the registry's model file of sha, which must hash to it.
func Model(ctx context.Context, c *client.Client, sha string) (*model.Model, error) {
	raw, err := c.ModelFile(ctx, sha)
	if errors.Is(err, client.ErrNotFound) {
		return nil, fmt.Errorf("%w: the registry has no model %s", ErrFailed, sha)
	} else if err != nil {
		return nil, err
	}
	return ModelFile(raw, sha, "fetched")
}

// ModelFile reads the model file raw that must hash to sha; how says where it came from.
func ModelFile(raw []byte, sha, how string) (*model.Model, error) {
	m, err := model.Unmarshal(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: the model file of %s: %w", ErrFailed, sha, err)
	}
	if m.SHA256 != sha {
		return nil, fmt.Errorf("%w: the model file %s for %s hashes to %s", ErrFailed, how, sha, m.SHA256)
	}
	return m, nil
}

// Fetch gathers from the registry what verifying m needs. The trust root is o.TrustRoot or
// the pinned one (pinned on first use, and said so), walked forward along the registry's
// signed chain only when it cannot speak for this attestation.
func Fetch(ctx context.Context, o Options, m *model.Model) (*Evidence, error) {
	c := o.Client
	p := Pins{State: clientstate.State{Store: o.State}, Registry: o.Registry}
	root, how := o.TrustRoot, o.TrustRootFrom
	if root == nil {
		var err error
		if root, how, err = p.Load(ctx, c, o.Confirm); err != nil {
			return nil, err
		}
	}
	e := &Evidence{Model: m}
	l, err := c.Lookup(ctx, m.SHA256)
	if errors.Is(err, client.ErrNotFound) {
		return nil, fmt.Errorf("%w: the registry has no model %s", ErrFailed, m.SHA256)
	}
	if err != nil {
		return nil, err
	}
	if l.Attestation == nil {
		return nil, fmt.Errorf("%w: model %s has no attestation (status %s %s)", ErrFailed, m.SHA256, l.Status, l.FailedCheck)
	}
	raw, err := c.Bundle(ctx, l.Attestation.ID)
	if err != nil {
		return nil, err
	}
	if e.Bundle, err = bundle.Parse(raw); err != nil {
		return nil, fmt.Errorf("%w: the registry's bundle: %w", ErrFailed, err)
	}
	var revs []*dsse.Envelope
	r, err := c.Revocation(ctx, l.Attestation.ID)
	switch {
	case errors.Is(err, client.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		env, err := envelope.Parse(r.Envelope)
		if err != nil {
			return nil, fmt.Errorf("%w: the registry's revocation: %w", ErrFailed, err)
		}
		revs = append(revs, env)
	}
	e.Policy = append(e.Policy, verify.WithRevocations(revs...))
	pb, err := c.Proof(ctx, m.SHA256)
	if err != nil {
		return nil, err
	}
	mb, err := c.Manifest(ctx, m.SHA256)
	if err != nil {
		return nil, err
	}
	if why := staleFor(root, e.Bundle, pb, o.now()); why != "" {
		newer, err := p.Update(ctx, c, root, o.now())
		if err != nil {
			return nil, fmt.Errorf("%s; updating the trust root: %w", why, err)
		}
		if newer.Version > root.Version {
			how = fmt.Sprintf("updated from version %d (%s) because %s", root.Version, how, why)
			if o.TrustRoot == nil {
				if err := p.Save(ctx, newer); err != nil {
					return nil, err
				}
				how += "; pinned in " + p.Where()
			}
		}
		root = newer
	}
	e.Root = root
	e.Notes = append(e.Notes, TrustRootNote(root, how))
	modelJSON, err := m.Marshal() // the file's bytes: Load accepts only the canonical file
	if err != nil {
		return nil, err
	}
	e.Proofs = verify.ProofFiles{Bundle: pb, Manifest: mb, Model: modelJSON, Keys: loadKeys[circuit.Shape](o.Keys, func(ctx context.Context) error {
		return FetchKeys(ctx, c, o.Keys, pb)
	})}
	prior, err := p.State.Checkpoint(ctx, root.LogOrigin)
	if err != nil || prior == nil {
		return e, err
	}
	from, err1 := clientstate.Parse(root, prior)
	to, err2 := clientstate.Parse(root, e.Bundle.Checkpoint)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("%w: checkpoint: %w", ErrFailed, errors.Join(err1, err2))
	}
	// The proof comes from the log's public tiles, as any monitor would build it.
	logURL, err := url.Parse(o.Registry + "/v1/log/")
	if err != nil {
		return nil, err
	}
	tiles, err := tclient.NewHTTPFetcher(logURL, nil)
	if err != nil {
		return nil, err
	}
	hashes, err := clientstate.Consistency(ctx, tiles.ReadTile, from, to)
	if err != nil {
		return nil, err
	}
	e.Policy = append(e.Policy, verify.WithPriorCheckpoint(prior, hashes))
	return e, nil
}

// TrustRootNote says, every run, which trust root the checks ran against and how it was
// chosen.
func TrustRootNote(r *trustroot.Root, how string) string {
	return fmt.Sprintf("trust root version %d (sha256:%s), %s", r.Version, r.Fingerprint(), how)
}

// staleFor says why root cannot judge this bundle (a registry key, log key or circuit it does
// not name, or its expiry), or "" when it can.
func staleFor(r *trustroot.Root, b *bundle.Bundle, proofBundle []byte, now time.Time) string {
	if r.Check(now) != nil {
		return fmt.Sprintf("the pinned version %d has expired", r.Version)
	}
	known := false
	for _, s := range b.Envelope.Signatures {
		if _, ok := r.RegistryKey(s.KeyID); ok {
			known = true
		}
	}
	if !known {
		return "the attestation is signed by a registry key the pinned version does not name"
	}
	logKnown := false
	for _, k := range r.LogKeys {
		if _, _, _, err := f_log.ParseCheckpoint(b.Checkpoint, r.LogOrigin, k); err == nil {
			logKnown = true
		}
	}
	if !logKnown {
		return "the checkpoint is signed by a log key the pinned version does not name"
	}
	if pb, err := proof.ParseBundle(proofBundle); err == nil {
		for name, c := range pb.Circuits {
			if _, ok := r.Circuits[c.ID]; !ok {
				return fmt.Sprintf("the %s circuit %s is not pinned", name, c.ID)
			}
		}
	}
	return ""
}
