package check

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/comet-attest/comet/attest/clientstate"
	"github.com/comet-attest/comet/attest/trustroot"
)

// Pins is where a client keeps the trust root it pinned for one registry.
type Pins struct {
	State    clientstate.State
	Registry string
}

// Where says where the root is pinned, for messages.
func (p Pins) Where() string { return p.State.RootPath(p.Registry) }

// Load returns the pinned trust root and says so, or, the first time (trust on first use),
// the registry's newest, once confirm (when not nil) accepted it, and pins it.
func (p Pins) Load(ctx context.Context, src clientstate.Source, confirm func(context.Context, *trustroot.Root) error) (*trustroot.Root, string, error) {
	if confirm != nil {
		src = confirming{src, confirm}
	}
	r, firstUse, err := p.State.PinOnFirstUse(ctx, p.Registry, src)
	switch {
	case errors.Is(err, clientstate.ErrRefused):
		return nil, "", fmt.Errorf("%w: %w", ErrFailed, err)
	case err != nil:
		return nil, "", err
	case firstUse:
		return r, fmt.Sprintf("pinned on first use from %s into %s (trust on first use: pass --trust-root to choose your own)", p.Registry, p.Where()), nil
	}
	return r, "pinned in " + p.Where(), nil
}

// confirming is a Source whose newest root is used only once confirm accepts it:
// PinOnFirstUse asks for it only when nothing is pinned.
type confirming struct {
	clientstate.Source
	confirm func(context.Context, *trustroot.Root) error
}

func (c confirming) TrustRoot(ctx context.Context) ([]byte, error) {
	raw, err := c.Source.TrustRoot(ctx)
	if err != nil {
		return nil, err
	}
	r, err := trustroot.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", clientstate.ErrRefused, err)
	}
	if err := c.confirm(ctx, r); err != nil {
		return nil, fmt.Errorf("%w: %w", clientstate.ErrRefused, err)
	}
	return raw, nil
}

// Update walks the registry's chain from root to the newest version it can verify.
func (p Pins) Update(ctx context.Context, src clientstate.Source, root *trustroot.Root, now time.Time) (*trustroot.Root, error) {
	newer, err := clientstate.Update(ctx, src, root, now)
	if errors.Is(err, clientstate.ErrRefused) {
		return nil, fmt.Errorf("%w: %w", ErrFailed, err)
	}
	return newer, err
}

// Save pins r.
func (p Pins) Save(ctx context.Context, r *trustroot.Root) error {
	return p.State.Pin(ctx, p.Registry, r)
}
