package keyset

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/registry/service"
)

// Publish copies the keys of one shape from the directory src on this machine (a shape's
// directory as `comet setup --out` or `comet ceremony finalize` writes it, keys.json
// inside) under the set's root and publishes them at once. It refuses keys the policy
// refuses, keys that do not load (a verifying key whose hash is not the recorded one, a
// missing proving key or constraint system), and a shape that is published already. It
// returns the shape's name.
func (s *Set) Publish(ctx context.Context, src string) (string, error) {
	if !filepath.IsAbs(src) {
		return "", &service.InvalidError{Field: "dir", Err: fmt.Errorf("%q is not an absolute path on the server", src)}
	}
	m, err := setup.ReadMeta(src)
	if err != nil {
		return "", &service.InvalidError{Field: "dir", Err: err}
	}
	keyed := m.Keyed()
	if err := keyed.Validate(); err != nil {
		return "", &service.InvalidError{Field: "dir", Err: fmt.Errorf("%s/keys.json: %w", src, err)}
	}
	if err := s.policy.check(src, m.Ceremony); err != nil {
		return "", &service.InvalidError{Field: "dir", Err: err}
	}
	names := []string{"keys.json"}
	for _, c := range keyed.Circuits() {
		for _, ext := range []string{"vk", "pk", "r1cs"} {
			names = append(names, string(c)+"."+ext)
		}
	}
	if t := m.Ceremony; t != nil && t.Transcript != "" {
		if filepath.Base(t.Transcript) != t.Transcript {
			return "", &service.InvalidError{Field: "dir", Err: fmt.Errorf("%s/keys.json: transcript %q is not a file name", src, t.Transcript)}
		}
		names = append(names, t.Transcript)
	}
	return s.stage(ctx, keyed, func(dir string) error {
		for _, n := range names {
			if err := copyFile(filepath.Join(src, n), filepath.Join(dir, n)); err != nil {
				return &service.InvalidError{Field: "dir", Err: err}
			}
		}
		// The copy is what gets published, so the copy is what is checked.
		if _, err := setup.Load(ctx, filepath.Dir(dir), keyed, setup.Verifying); err != nil {
			return &service.InvalidError{Field: "dir", Err: err}
		}
		return nil
	})
}

// Generate makes the keys of a shape here, with a single-party setup (prover/setup), and
// publishes them. A registry whose policy requires a ceremony refuses: whoever ran the setup
// could forge proofs. It returns the shape's name.
func (s *Set) Generate(ctx context.Context, keyed circuit.Keyed) (string, error) {
	if err := keyed.Validate(); err != nil {
		return "", &service.InvalidError{Field: "shape", Err: err}
	}
	if err := s.policy.check("a generated key set", nil); err != nil {
		return "", &service.InvalidError{Field: "shape", Err: err}
	}
	return s.stage(ctx, keyed, func(dir string) error {
		k, err := setup.Generate(ctx, keyed, nil)
		if err != nil {
			return fmt.Errorf("generate keys of %s: %w", keyed, err)
		}
		return k.Save(ctx, filepath.Dir(dir))
	})
}

// stage fills a fresh directory for shape keyed under root with fill, moves it into place
// in one rename (a crash leaves a hidden staging directory, never half a key set that
// scan would publish) and publishes it.
func (s *Set) stage(ctx context.Context, keyed circuit.Keyed, fill func(dir string) error) (string, error) {
	s.publish.Lock()
	defer s.publish.Unlock()
	final := setup.Dir(s.root, keyed)
	if _, err := os.Stat(final); err == nil {
		return "", fmt.Errorf("%w: shape %s is published already", service.ErrConflict, keyed)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(s.root, 0o755); err != nil {
		return "", fmt.Errorf("circuit keys directory: %w", err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	tmp := filepath.Join(s.root, ".staging-"+hex.EncodeToString(b[:]))
	dir := setup.Dir(tmp, keyed)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("stage keys: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := fill(dir); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := os.Rename(dir, final); err != nil {
		return "", fmt.Errorf("publish keys of %s: %w", keyed, err)
	}
	if err := s.scan(); err != nil {
		return "", fmt.Errorf("publish keys of %s: %w", keyed, err)
	}
	if s.onPublish != nil {
		if err := s.onPublish(ctx); err != nil {
			return "", fmt.Errorf("the keys of %s are published, but: %w", keyed, err)
		}
	}
	return keyed.String(), nil
}

// OnPublish has f run after every shape published while the registry runs, such as
// pinning the new circuits in the trust root; its error is the publish's.
func (s *Set) OnPublish(f func(ctx context.Context) error) {
	s.publish.Lock()
	defer s.publish.Unlock()
	s.onPublish = f
}

// copyFile copies a regular file; a link or anything else is refused, so that publishing
// never follows a path out of the directory the operator named.
func copyFile(from, to string) error {
	fi, err := os.Lstat(from)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", from)
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", from, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
