package clientstate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/tessera/client"

	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/internal/atomicfile"
)

// Store keeps small named documents. Get answers an error wrapping fs.ErrNotExist for a
// name never put.
type Store interface {
	Get(ctx context.Context, name string) ([]byte, error)
	Put(ctx context.Context, name string, b []byte) error
	// Where says, for messages, where a name is kept (a file path, say).
	Where(name string) string
}

// Dir is a Store of files under a directory, each replaced atomically.
type Dir string

// Get implements Store.
func (d Dir) Get(_ context.Context, name string) ([]byte, error) { return os.ReadFile(d.Where(name)) }

// Put implements Store.
func (d Dir) Put(_ context.Context, name string, b []byte) error {
	path := d.Where(name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o644)
}

// Where implements Store.
func (d Dir) Where(name string) string { return filepath.Join(string(d), filepath.FromSlash(name)) }

// State is a client's memory in one Store.
type State struct{ Store Store }

// hashName keeps names short and free of a URL's or an origin's characters.
func hashName(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

func rootName(registry string) string { return "trustroots/" + hashName(registry) + ".json" }

func checkpointName(origin string) string { return "checkpoints/" + hashName(origin) }

// RootPath says where the trust root of registry is pinned.
func (s State) RootPath(registry string) string { return s.Store.Where(rootName(registry)) }

// Source is where a registry's trust root chain is fetched; registry/client.Client is one.
type Source interface {
	// TrustRoot is the newest version, verbatim.
	TrustRoot(ctx context.Context) ([]byte, error)
	// TrustRootVersion is one version, verbatim; found is false when there is none.
	TrustRootVersion(ctx context.Context, version int64) (raw []byte, found bool, err error)
}

var (
	// ErrNotPinned reports a registry whose trust root this client never pinned.
	ErrNotPinned = errors.New("no trust root pinned")
	// ErrRefused wraps every reason to refuse what a registry served as its trust root (not
	// the errors of fetching it): a malformed version, a broken chain, a rollback, expiry.
	ErrRefused = errors.New("the registry's trust root refused")
)

// Pinned returns the trust root pinned for registry.
func (s State) Pinned(ctx context.Context, registry string) (*trustroot.Root, error) {
	raw, err := s.Store.Get(ctx, rootName(registry))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w for %s", ErrNotPinned, registry)
	}
	if err != nil {
		return nil, err
	}
	r, err := trustroot.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("pinned trust root %s: %w", s.RootPath(registry), err)
	}
	return r, nil
}

// Pin makes r the trust root of registry.
func (s State) Pin(ctx context.Context, registry string, r *trustroot.Root) error {
	raw, err := r.Marshal()
	if err != nil {
		return err
	}
	return s.Store.Put(ctx, rootName(registry), raw)
}

// PinOnFirstUse returns the pinned trust root of registry, or, when none is, fetches the
// registry's newest version and pins it (trust on first use; firstUse says it happened).
func (s State) PinOnFirstUse(ctx context.Context, registry string, src Source) (r *trustroot.Root, firstUse bool, err error) {
	r, err = s.Pinned(ctx, registry)
	if !errors.Is(err, ErrNotPinned) {
		return r, false, err
	}
	raw, err := src.TrustRoot(ctx)
	if err != nil {
		return nil, false, err
	}
	if r, err = trustroot.Parse(raw); err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return r, true, s.Pin(ctx, registry, r)
}

// Update walks the registry's chain from root to the newest version it can verify and
// returns that version (root itself when it is the newest). It pins nothing: the caller
// decides whether the result replaces the pin.
func Update(ctx context.Context, src Source, root *trustroot.Root, now time.Time) (*trustroot.Root, error) {
	raw, err := src.TrustRoot(ctx)
	if err != nil {
		return nil, err
	}
	latest, err := trustroot.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	newer, err := trustroot.Update(ctx, root, latest.Version, src.TrustRootVersion, now)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return newer, nil
}

// Checkpoint returns the newest checkpoint of the log origin this client remembers, or nil
// when it remembers none.
func (s State) Checkpoint(ctx context.Context, origin string) ([]byte, error) {
	raw, err := s.Store.Get(ctx, checkpointName(origin))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return raw, err
}

// Remember keeps raw, a checkpoint the caller verified against root, unless the remembered
// one is of a tree at least as large.
func (s State) Remember(ctx context.Context, root *trustroot.Root, raw []byte) error {
	cp, err := Parse(root, raw)
	if err != nil {
		return err
	}
	if old, err := s.Checkpoint(ctx, root.LogOrigin); err == nil && old != nil {
		if prev, err := Parse(root, old); err == nil && prev.Size >= cp.Size {
			return nil
		}
	}
	return s.Store.Put(ctx, checkpointName(root.LogOrigin), raw)
}

// Parse reads a checkpoint of root's log, signed by one of its log keys (current or
// previous). Witness cosignatures are attest/verify's to count.
func Parse(root *trustroot.Root, raw []byte) (*f_log.Checkpoint, error) {
	var errs []error
	for _, k := range root.LogKeys {
		cp, _, _, err := f_log.ParseCheckpoint(raw, root.LogOrigin, k)
		if err == nil {
			return cp, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("checkpoint of %s: %w", root.LogOrigin, errors.Join(errs...))
}

// Consistency returns the proof that the smaller of two checkpoints' trees is a prefix of
// the larger, built from the log's tiles (nil when the sizes are equal or one is empty).
func Consistency(ctx context.Context, tiles client.TileFetcherFunc, a, b *f_log.Checkpoint) ([][]byte, error) {
	lo, hi := min(a.Size, b.Size), max(a.Size, b.Size)
	if lo == 0 || lo == hi {
		return nil, nil
	}
	pb, err := client.NewProofBuilder(ctx, hi, tiles)
	if err != nil {
		return nil, fmt.Errorf("consistency %d → %d: %w", lo, hi, err)
	}
	p, err := pb.ConsistencyProof(ctx, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("consistency %d → %d: %w", lo, hi, err)
	}
	return p, nil
}
