package bundle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/leaf"
	"github.com/comet-attest/comet/internal/strictjson"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	f_log "github.com/transparency-dev/formats/log"
)

// Version is the bundle format version.
const Version = 1

const (
	// maxSize bounds a bundle; the envelope is the only large part.
	maxSize = envelope.MaxSize + 64<<10
	// maxProofHashes bounds a proof: a log of 2^63 entries needs 63.
	maxProofHashes = 64
	// maxCheckpoint bounds a signed checkpoint with its cosignatures.
	maxCheckpoint = 16 << 10
)

// ErrMalformed reports a bundle that cannot be parsed.
var ErrMalformed = errors.New("malformed bundle")

// Bundle is a parsed client bundle.
type Bundle struct {
	Envelope *dsse.Envelope
	Leaf     []byte // leaf record, package leaf
	Index    uint64 // log index of Leaf
	// Inclusion proves Leaf at Index in the tree of Checkpoint's size.
	Inclusion Proof
	// Checkpoint is the signed note, with any witness cosignatures.
	Checkpoint []byte
	// Consistency optionally links Checkpoint to another checkpoint of the
	// same log (for example the anchored one).
	Consistency *Consistency
	// Anchor is the anchor receipt, an AnchorReceipt as JSON
	// ({"chain":"starknet","network":...,"contract":...,"tx_hash":...,
	// "block_number":...,"tree_size":...,"root":...,"finality":...}); nil
	// when not anchored yet. It is kept as it came, and only its being an
	// object is checked here, so that a receipt this version cannot read
	// fails the anchor check alone (ParseAnchorReceipt), not the bundle.
	Anchor json.RawMessage
}

// Proof is an inclusion proof.
type Proof struct {
	TreeSize uint64   `json:"tree_size"`
	Hashes   [][]byte `json:"hashes"`
}

// Consistency is a consistency proof between Bundle.Checkpoint and
// Checkpoint, from the smaller tree to the larger.
type Consistency struct {
	Checkpoint []byte   // signed note of the other checkpoint
	Hashes     [][]byte // proof hashes
}

type wire struct {
	Version     int             `json:"version"`
	Envelope    *dsse.Envelope  `json:"envelope"`
	Leaf        []byte          `json:"leaf"`
	Index       uint64          `json:"log_index"`
	Inclusion   Proof           `json:"inclusion_proof"`
	Checkpoint  string          `json:"checkpoint"`
	Consistency *wireConsist    `json:"consistency_proof,omitempty"`
	Anchor      json.RawMessage `json:"anchor,omitempty"`
}

type wireConsist struct {
	Checkpoint string   `json:"checkpoint"`
	Hashes     [][]byte `json:"hashes"`
}

// Marshal encodes the bundle as indented JSON.
func (b *Bundle) Marshal() ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	w := wire{
		Version:    Version,
		Envelope:   b.Envelope,
		Leaf:       b.Leaf,
		Index:      b.Index,
		Inclusion:  b.Inclusion,
		Checkpoint: string(b.Checkpoint),
		Anchor:     b.Anchor,
	}
	if w.Inclusion.Hashes == nil {
		w.Inclusion.Hashes = [][]byte{}
	}
	if c := b.Consistency; c != nil {
		w.Consistency = &wireConsist{Checkpoint: string(c.Checkpoint), Hashes: c.Hashes}
		if w.Consistency.Hashes == nil {
			w.Consistency.Hashes = [][]byte{}
		}
	}
	out, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal bundle: %w", err)
	}
	return append(out, '\n'), nil
}

// Parse decodes a bundle and checks its shape.
func Parse(data []byte) (*Bundle, error) {
	var w wire
	if err := decodeStrict(data, maxSize, &w, ErrMalformed); err != nil {
		return nil, err
	}
	if w.Version != Version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrMalformed, w.Version, Version)
	}
	b := &Bundle{
		Envelope:   w.Envelope,
		Leaf:       w.Leaf,
		Index:      w.Index,
		Inclusion:  w.Inclusion,
		Checkpoint: []byte(w.Checkpoint),
		Anchor:     w.Anchor,
	}
	if c := w.Consistency; c != nil {
		b.Consistency = &Consistency{Checkpoint: []byte(c.Checkpoint), Hashes: c.Hashes}
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	return b, nil
}

// decodeStrict decodes one JSON value of at most limit bytes into v, refusing unknown fields
// and trailing data, so that nothing a verifier would not look at can ride along; its
// errors wrap kind.
func decodeStrict(data []byte, limit int, v any, kind error) error {
	if len(data) > limit {
		return fmt.Errorf("%w: %d bytes is over the %d byte limit", kind, len(data), limit)
	}
	if err := strictjson.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %w", kind, err)
	}
	return nil
}

func (b *Bundle) check() error {
	if b.Envelope == nil {
		return fmt.Errorf("%w: no envelope", ErrMalformed)
	}
	if err := envelope.Check(b.Envelope); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if _, err := leaf.Parse(b.Leaf); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if b.Index >= b.Inclusion.TreeSize {
		return fmt.Errorf("%w: index %d not below tree size %d", ErrMalformed, b.Index, b.Inclusion.TreeSize)
	}
	if err := checkHashes("inclusion proof", b.Inclusion.Hashes); err != nil {
		return err
	}
	if err := checkCheckpoint("checkpoint", b.Checkpoint); err != nil {
		return err
	}
	if c := b.Consistency; c != nil {
		if err := checkCheckpoint("consistency checkpoint", c.Checkpoint); err != nil {
			return err
		}
		if err := checkHashes("consistency proof", c.Hashes); err != nil {
			return err
		}
	}
	if b.Anchor != nil {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b.Anchor, &obj); err != nil || obj == nil {
			return fmt.Errorf("%w: anchor must be a JSON object", ErrMalformed)
		}
	}
	return nil
}

func checkHashes(what string, hs [][]byte) error {
	if len(hs) > maxProofHashes {
		return fmt.Errorf("%w: %s has %d hashes, at most %d", ErrMalformed, what, len(hs), maxProofHashes)
	}
	for i, h := range hs {
		if len(h) != 32 {
			return fmt.Errorf("%w: %s hash %d is %d bytes", ErrMalformed, what, i, len(h))
		}
	}
	return nil
}

// checkCheckpoint checks only the unsigned body: signatures need the trust
// root and are package verify's job.
func checkCheckpoint(what string, cp []byte) error {
	if len(cp) == 0 || len(cp) > maxCheckpoint {
		return fmt.Errorf("%w: %s is empty or over %d bytes", ErrMalformed, what, maxCheckpoint)
	}
	body, _, ok := bytes.Cut(cp, []byte("\n\n"))
	if !ok {
		return fmt.Errorf("%w: %s has no signature block", ErrMalformed, what)
	}
	var c f_log.Checkpoint
	if _, err := c.Unmarshal(append(body[:len(body):len(body)], '\n')); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMalformed, what, err)
	}
	return nil
}

// Log is what Build needs from the log; *tlog.Log provides it.
type Log interface {
	AwaitCheckpoint(ctx context.Context, index uint64) ([]byte, *f_log.Checkpoint, error)
	InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error)
}

// Build makes the bundle for an envelope whose leaf is already in the log
// at index, waiting for a checkpoint that covers it.
func Build(ctx context.Context, l Log, env *dsse.Envelope, leafBytes []byte, index uint64) (*Bundle, error) {
	raw, cp, err := l.AwaitCheckpoint(ctx, index)
	if err != nil {
		return nil, fmt.Errorf("build bundle: %w", err)
	}
	p, err := l.InclusionProof(ctx, index, cp.Size)
	if err != nil {
		return nil, fmt.Errorf("build bundle: %w", err)
	}
	b := &Bundle{
		Envelope:   env,
		Leaf:       leafBytes,
		Index:      index,
		Inclusion:  Proof{TreeSize: cp.Size, Hashes: p},
		Checkpoint: raw,
	}
	if err := b.check(); err != nil {
		return nil, fmt.Errorf("build bundle: %w", err)
	}
	return b, nil
}
