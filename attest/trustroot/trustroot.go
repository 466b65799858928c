package trustroot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/keys"
	"github.com/comet-attest/comet/internal/hexdigest"
	"github.com/comet-attest/comet/internal/strictjson"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// Format names this version of the trust root document.
const Format = "comet.trustroot/v2"

// PayloadType is the DSSE payload type of a signed trust root.
const PayloadType = "application/vnd.comet.trustroot.v2+json"

// maxSize bounds what Parse accepts.
const maxSize = 1 << 20

// Sentinel errors; callers branch on them with errors.Is.
var (
	// ErrInvalid reports a trust root that cannot be used: malformed, or not signed by
	// enough of its own root keys.
	ErrInvalid = errors.New("invalid trust root")
	// ErrChain reports a version that its predecessor's root keys did not sign, or that
	// does not follow its predecessor.
	ErrChain = errors.New("trust root version not signed by its predecessor")
	// ErrRollback reports a trust root older than the one already trusted.
	ErrRollback = errors.New("trust root rollback")
	// ErrExpired reports a trust root past its expiry.
	ErrExpired = errors.New("trust root expired")
	// ErrFork reports a registry that serves another document under the version a client
	// pinned: two histories of one trust root, which no honest registry has.
	ErrFork = errors.New("trust root fork")
)

// File is the signed body of one trust root version.
type File struct {
	Format string `json:"format"`
	// Version counts from 1; each version is signed by the root keys of the one before.
	Version int64     `json:"version"`
	Expires time.Time `json:"expires"`
	// Root holds the keys that sign this version and the next.
	Root         RootKeys              `json:"root"`
	RegistryKeys []KeyEntry            `json:"registry_keys"`
	Log          LogEntry              `json:"log"`
	Witnesses    *WitnessEntry         `json:"witnesses,omitempty"`
	Circuits     map[string]CircuitPin `json:"circuits,omitempty"`
	Starknet     *Starknet             `json:"starknet,omitempty"`
}

// RootKeys are the keys that sign trust root versions, and how many must.
type RootKeys struct {
	Threshold int      `json:"threshold"`
	Keys      []string `json:"keys"` // signed-note verifier keys
}

// KeyEntry is one registry signing key. A key signs attestations issued in
// [NotBefore, NotAfter); after NotAfter it is retired but what it signed
// before stays valid. A revoked key is compromised: nothing it signed at or
// after RevokedAt is valid.
type KeyEntry struct {
	Key              string     `json:"key"` // signed-note verifier key
	NotBefore        time.Time  `json:"not_before"`
	NotAfter         *time.Time `json:"not_after,omitempty"`
	RevokedAt        *time.Time `json:"revoked_at,omitempty"`
	RevocationReason string     `json:"revocation_reason,omitempty"`
}

// LogEntry names the log. PreviousKeys are keys the log signed checkpoints with before it
// was re-keyed: the checkpoints in bundles issued then still verify.
type LogEntry struct {
	Origin       string   `json:"origin"`
	Key          string   `json:"key"` // signed-note verifier key; its name is Origin
	PreviousKeys []string `json:"previous_keys,omitempty"`
}

// WitnessEntry lists witness keys and the number that must cosign.
type WitnessEntry struct {
	Quorum int      `json:"quorum"`
	Keys   []string `json:"keys"` // signed-note Ed25519 keys, used as cosignature/v1
}

// CircuitPin pins one circuit's verifying key and says where its keys came from.
type CircuitPin struct {
	VKSHA256 string `json:"vk_sha256"`
	// Ceremony is nil for keys from a single-party setup, whose maker could forge proofs.
	Ceremony *Ceremony `json:"ceremony,omitempty"`
}

// Ceremony describes the multi-party ceremony that made a circuit's keys: its transcript's
// SHA-256 (the registry serves the transcript; anyone can verify it) and who contributed to
// each phase.
type Ceremony struct {
	TranscriptSHA256   string   `json:"transcript_sha256"`
	Phase1Contributors []string `json:"phase1_contributors"`
	Phase2Contributors []string `json:"phase2_contributors"`
}

// Contributions is the number of contributions the weaker phase had: the ceremony is sound
// when one contributor of each phase was honest.
func (c *Ceremony) Contributions() int {
	return min(len(c.Phase1Contributors), len(c.Phase2Contributors))
}

// Starknet names the anchoring contract. Both fields are optional strings
// so that the trust layer does not depend on the chain package.
type Starknet struct {
	ChainID  string `json:"chain_id,omitempty"`
	Contract string `json:"contract,omitempty"`
}

// RegistryKey is a parsed KeyEntry.
type RegistryKey struct {
	Key              *keys.Verifier
	NotBefore        time.Time
	NotAfter         time.Time // zero: no end
	RevokedAt        time.Time // zero: not revoked
	RevocationReason string
}

// Witness is a parsed witness key.
type Witness struct {
	Key      string        // as written in the trust root
	Verifier note.Verifier // cosignature/v1 verifier
}

// Root is a parsed, validated, self-signed trust root version.
type Root struct {
	Version       int64
	Expires       time.Time
	RootKeys      []*keys.Verifier
	RootThreshold int
	Registry      []RegistryKey
	LogOrigin     string
	// LogKey is the log's current key; LogKeys adds the keys it used before.
	LogKey        *keys.Verifier
	LogKeys       []*keys.Verifier
	Witnesses     []Witness
	WitnessQuorum int
	Circuits      map[string]CircuitPin // circuit id -> pin
	Starknet      *Starknet

	file File
	env  *dsse.Envelope
	raw  []byte
}

// Sign validates f and signs it with signers, which must include enough of f's root keys.
// To issue version n+1, sign with the root keys of version n too (see Next).
func Sign(ctx context.Context, f File, signers ...*keys.Signer) (*Root, error) {
	if _, err := build(f); err != nil {
		return nil, err
	}
	payload, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("marshal trust root: %w", err)
	}
	env, err := envelope.SignType(ctx, PayloadType, payload, signers...)
	if err != nil {
		return nil, err
	}
	raw, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal trust root: %w", err)
	}
	return Parse(append(raw, '\n'))
}

// Parse decodes a signed trust root, validates it and checks that enough of its own root
// keys signed it. It does not say whether to trust those keys: that is what a pinned
// predecessor (Next) or the user's choice of file does. Expiry is checked by Check.
func Parse(b []byte) (*Root, error) {
	if len(b) > maxSize {
		return nil, fmt.Errorf("%w: %d bytes is over the %d byte limit", ErrInvalid, len(b), maxSize)
	}
	env, err := envelope.ParseType(b, PayloadType)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	payload, err := envelope.Payload(env)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var f File
	if err := strictjson.Unmarshal(payload, &f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	r, err := build(f)
	if err != nil {
		return nil, err
	}
	r.env, r.raw = env, slices.Clone(b)
	if err := signedBy(env, r.RootKeys, r.RootThreshold); err != nil {
		return nil, fmt.Errorf("%w: version %d is not signed by its own root keys: %w", ErrInvalid, f.Version, err)
	}
	return r, nil
}

// Load reads and parses a trust root file.
func Load(path string) (*Root, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read trust root: %w", err)
	}
	r, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("trust root %s: %w", path, err)
	}
	return r, nil
}

// signedBy counts the distinct keys of trusted that signed env.
func signedBy(env *dsse.Envelope, trusted []*keys.Verifier, threshold int) error {
	signers, _, err := envelope.VerifyType(context.Background(), env, PayloadType, trusted...)
	if err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, s := range signers {
		ids[s.KeyID()] = true
	}
	if len(ids) < threshold {
		return fmt.Errorf("%d of the %d required root key signatures", len(ids), threshold)
	}
	return nil
}

// build validates f and returns the root it describes, unsigned.
func build(f File) (*Root, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
	}
	if f.Format != Format {
		return nil, bad("format %q, want %q", f.Format, Format)
	}
	if f.Version < 1 {
		return nil, bad("version %d: versions count from 1", f.Version)
	}
	if f.Expires.IsZero() {
		return nil, bad("no expiry")
	}
	r := &Root{file: f, Version: f.Version, Expires: f.Expires, Circuits: f.Circuits, Starknet: f.Starknet}
	if len(f.Root.Keys) == 0 || f.Root.Threshold < 1 || f.Root.Threshold > len(f.Root.Keys) {
		return nil, bad("root threshold %d of %d keys: needs 1 to the number of keys", f.Root.Threshold, len(f.Root.Keys))
	}
	var err error
	if r.RootKeys, err = verifiers("root key", f.Root.Keys); err != nil {
		return nil, err
	}
	r.RootThreshold = f.Root.Threshold
	if len(f.RegistryKeys) == 0 {
		return nil, bad("no registry keys")
	}
	ids := map[string]bool{}
	for i, e := range f.RegistryKeys {
		k, err := keys.ParseVerifier(e.Key)
		if err != nil {
			return nil, bad("registry key %d: %w", i, err)
		}
		if ids[k.KeyID()] {
			return nil, bad("registry key %s listed twice", k.KeyID())
		}
		ids[k.KeyID()] = true
		rk := RegistryKey{Key: k, NotBefore: e.NotBefore, RevocationReason: e.RevocationReason}
		if e.NotBefore.IsZero() {
			return nil, bad("registry key %s has no not_before", k.KeyID())
		}
		if e.NotAfter != nil {
			if !e.NotAfter.After(e.NotBefore) {
				return nil, bad("registry key %s: not_after is not after not_before", k.KeyID())
			}
			rk.NotAfter = *e.NotAfter
		}
		if e.RevokedAt != nil {
			if e.RevokedAt.IsZero() {
				return nil, bad("registry key %s: zero revoked_at", k.KeyID())
			}
			rk.RevokedAt = *e.RevokedAt
		}
		r.Registry = append(r.Registry, rk)
	}
	if r.LogKeys, err = verifiers("log key", append([]string{f.Log.Key}, f.Log.PreviousKeys...)); err != nil {
		return nil, err
	}
	for _, lk := range r.LogKeys {
		if f.Log.Origin == "" || lk.Name() != f.Log.Origin {
			return nil, bad("log key name %q differs from origin %q", lk.Name(), f.Log.Origin)
		}
	}
	r.LogOrigin, r.LogKey = f.Log.Origin, r.LogKeys[0]
	if w := f.Witnesses; w != nil {
		if w.Quorum < 0 || w.Quorum > len(w.Keys) {
			return nil, bad("witness quorum %d outside 0..%d", w.Quorum, len(w.Keys))
		}
		names := map[string]bool{}
		for i, s := range w.Keys {
			v, err := f_note.NewVerifierForCosignatureV1(s)
			if err != nil {
				return nil, bad("witness key %d: %w", i, err)
			}
			if names[v.Name()] || v.Name() == f.Log.Origin {
				return nil, bad("witness name %q is not unique", v.Name())
			}
			names[v.Name()] = true
			r.Witnesses = append(r.Witnesses, Witness{Key: s, Verifier: v})
		}
		r.WitnessQuorum = w.Quorum
	}
	for id, pin := range f.Circuits {
		if id == "" || !hexdigest.Valid(pin.VKSHA256) {
			return nil, bad("circuit %q: verifying key digest must be 64 lower-case hex characters", id)
		}
		if c := pin.Ceremony; c != nil {
			if !hexdigest.Valid(c.TranscriptSHA256) {
				return nil, bad("circuit %q: ceremony transcript digest must be 64 lower-case hex characters", id)
			}
			if c.Contributions() == 0 {
				return nil, bad("circuit %q: a ceremony needs a contributor in each phase", id)
			}
		}
	}
	return r, nil
}

// verifiers parses distinct signed-note keys.
func verifiers(what string, ss []string) ([]*keys.Verifier, error) {
	out := make([]*keys.Verifier, 0, len(ss))
	seen := map[string]bool{}
	for i, s := range ss {
		k, err := keys.ParseVerifier(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %s %d: %w", ErrInvalid, what, i, err)
		}
		if seen[k.KeyID()] {
			return nil, fmt.Errorf("%w: %s %s listed twice", ErrInvalid, what, k.KeyID())
		}
		seen[k.KeyID()] = true
		out = append(out, k)
	}
	return out, nil
}

// File returns the body the root was made from.
func (r *Root) File() File { return r.file }

// Marshal returns the signed document as it was parsed.
func (r *Root) Marshal() ([]byte, error) { return slices.Clone(r.raw), nil }

// Fingerprint is the hex SHA-256 of the signed document: what a user compares out of band.
func (r *Root) Fingerprint() string {
	s := sha256.Sum256(r.raw)
	return hex.EncodeToString(s[:])
}

// Check reports ErrExpired when the root has expired at now.
func (r *Root) Check(now time.Time) error {
	if !now.Before(r.Expires) {
		return fmt.Errorf("%w: version %d expired at %s", ErrExpired, r.Version, r.Expires.UTC().Format(time.RFC3339))
	}
	return nil
}

// Next parses raw as the version after r: it must be version r.Version+1, signed by r's
// root keys (threshold) as well as by its own. Expiry is not checked here: an intermediate
// version may have expired while the chain is walked; Update checks the newest.
func (r *Root) Next(raw []byte) (*Root, error) {
	next, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	switch {
	case next.Version <= r.Version:
		return nil, fmt.Errorf("%w: version %d after version %d", ErrRollback, next.Version, r.Version)
	case next.Version != r.Version+1:
		return nil, fmt.Errorf("%w: version %d does not follow version %d", ErrChain, next.Version, r.Version)
	}
	if err := signedBy(next.env, r.RootKeys, r.RootThreshold); err != nil {
		return nil, fmt.Errorf("%w: version %d: %w", ErrChain, next.Version, err)
	}
	return next, nil
}

// Fetch returns the signed trust root of one version, or found false when there is none.
type Fetch func(ctx context.Context, version int64) (raw []byte, found bool, err error)

// maxSteps bounds one walk of the chain, so that a registry cannot keep a client walking.
const maxSteps = 1024

// Update walks the chain of versions after pinned, each signed by the one before, and
// returns the newest, which must not have expired at now. latest, when positive, is the
// version the registry says is current: a value below pinned's version is a rollback, and
// the walk must reach it. The registry's copy of the pinned version must be the pinned
// document itself (ErrFork otherwise): a registry that rewrote the version a client holds
// would otherwise go unnoticed until a signature failed, for reasons the client could not
// name.
func Update(ctx context.Context, pinned *Root, latest int64, fetch Fetch, now time.Time) (*Root, error) {
	if latest > 0 && latest < pinned.Version {
		return nil, fmt.Errorf("%w: the registry offers version %d, version %d is pinned", ErrRollback, latest, pinned.Version)
	}
	raw, found, err := fetch(ctx, pinned.Version)
	if err != nil {
		return nil, fmt.Errorf("fetch trust root version %d: %w", pinned.Version, err)
	}
	if found {
		// A document of another version is the walk's to refuse; one of this version must
		// be the pinned one.
		if theirs, err := Parse(raw); err == nil && theirs.Version == pinned.Version && theirs.Fingerprint() != pinned.Fingerprint() {
			return nil, fmt.Errorf("%w: the registry's version %d has fingerprint sha256:%s, the pinned version %d sha256:%s",
				ErrFork, pinned.Version, theirs.Fingerprint(), pinned.Version, pinned.Fingerprint())
		}
	}
	cur := pinned
	for range maxSteps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		raw, found, err := fetch(ctx, cur.Version+1)
		if err != nil {
			return nil, fmt.Errorf("fetch trust root version %d: %w", cur.Version+1, err)
		}
		if !found {
			break
		}
		if cur, err = cur.Next(raw); err != nil {
			return nil, err
		}
	}
	if latest > cur.Version {
		return nil, fmt.Errorf("%w: the registry says version %d is current, the chain ends at version %d", ErrChain, latest, cur.Version)
	}
	if err := cur.Check(now); err != nil {
		return nil, err
	}
	return cur, nil
}

// RegistryVerifiers lists every registry key, revoked or not, for signature
// checking; validity is judged afterwards with RegistryKey.
func (r *Root) RegistryVerifiers() []*keys.Verifier {
	out := make([]*keys.Verifier, len(r.Registry))
	for i, k := range r.Registry {
		out[i] = k.Key
	}
	return out
}

// RegistryKey finds a registry key by key id.
func (r *Root) RegistryKey(keyID string) (RegistryKey, bool) {
	for _, k := range r.Registry {
		if k.Key.KeyID() == keyID {
			return k, true
		}
	}
	return RegistryKey{}, false
}

// VKPins maps each pinned circuit id to its verifying key's SHA-256.
func (r *Root) VKPins() map[string]string {
	out := make(map[string]string, len(r.Circuits))
	for id, p := range r.Circuits {
		out[id] = p.VKSHA256
	}
	return out
}
