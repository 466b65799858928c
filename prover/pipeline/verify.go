package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/dataset"
)

var (
	// ErrMismatch means a file is readable but is not the dataset a manifest committed to.
	// Verify, ReadCommitted and CheckCorpus return it as a *MismatchError that names what
	// differs; Train wraps it when handed a table of other rows.
	ErrMismatch = errors.New("dataset does not match the manifest")
	// ErrNoSalt means a private manifest was checked without the dataset's salt.
	ErrNoSalt = errors.New("the manifest is private: the dataset's salt is needed")
)

// MismatchError names the first thing in which a file differs from its manifest, in the
// order Verify checks: the salt, the columns, the chunks, the row count, the file's digests.
type MismatchError struct {
	// Field is the manifest field that differs: "salt", "columns", "chunks", "n",
	// "file_digest", "sha256" or "featurizer.corpus_digest".
	Field string
	// Chunk is the first chunk that differs (0-based) when Field is "chunks", else -1;
	// FirstRow and LastRow are its data rows (1-based, inclusive) and Differing is how many
	// of the chunks that both the file and the manifest have differ.
	Chunk, FirstRow, LastRow, Differing int
	// Detail says what differs, for a person.
	Detail string
}

func (e *MismatchError) Error() string { return ErrMismatch.Error() + ": " + e.Detail }

// Unwrap makes errors.Is(err, ErrMismatch) hold.
func (e *MismatchError) Unwrap() error { return ErrMismatch }

func mismatch(path, field, format string, a ...any) error {
	return fmt.Errorf("%s: %w", path, &MismatchError{Field: field, Chunk: -1, Detail: fmt.Sprintf(format, a...)})
}

// VerifyResult is what a successful Verify checked.
type VerifyResult struct {
	// Rows and Chunks are the rows read and the chunk commitments recomputed, n and K.
	Rows, Chunks int
	// Checks says what was compared, one line each in the order checked, for a person.
	Checks []string
}

// Verify checks the CSV at csvPath against m: the columns and roles, every chunk commitment
// (recomputed with the salt; C is the hash of the header and chunks by m.Validate), the row
// count, and the file's keyed digest; for a public manifest also the plain SHA-256. salt may
// be nil for a public manifest, whose own salt is then used. A file that differs gives a
// *MismatchError (errors.Is ErrMismatch); any other error means the input could not be
// checked at all. Memory does not depend on the number of rows.
func Verify(ctx context.Context, csvPath string, m *commitment.Manifest, salt *commitment.Salt) (*VerifyResult, error) {
	return check(ctx, csvPath, m, salt, nil, true)
}

// check is Verify, handing each canonical row to each as well when it is set. Without
// chunks it recomputes no chunk commitment: the keyed file digest alone then pins the bytes,
// and so the rows, but a difference is not located.
func check(ctx context.Context, csvPath string, m *commitment.Manifest, salt *commitment.Salt, each func(row []int64), chunks bool) (*VerifyResult, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if err := checkSpec(m); err != nil {
		return nil, err
	}
	s, err := saltFor(m, salt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", csvPath, err)
	}
	file, err := os.Open(csvPath)
	if err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	defer file.Close()
	sums := newFileHashes(s, m.Public)
	src := io.TeeReader(file, sums)
	rd, err := dataset.NewReader(src, dataset.Options{Label: m.Label, Features: m.Features, Format: m.Format()})
	switch {
	case errors.Is(err, dataset.ErrMissingColumn):
		return nil, mismatch(csvPath, "columns", "%v", err)
	case err != nil:
		return nil, fmt.Errorf("dataset %s: %w", csvPath, err)
	}
	if diff := sameColumns(rd.Columns(), m.Columns); diff != "" {
		return nil, mismatch(csvPath, "columns", "%s", diff)
	}
	if chunks {
		res, err := commitRows(ctx, rd, m.Header, s, each)
		if err == nil {
			err = drain(src)
		}
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", csvPath, err)
		}
		if err := compareChunks(res, m); err != nil {
			return nil, fmt.Errorf("%s: %w", csvPath, err)
		}
		return sums.compare(csvPath, m)
	}
	n, err := readRows(ctx, rd, func(row []int64) error {
		if each != nil {
			each(row)
		}
		return nil
	})
	if err == nil {
		err = drain(src)
	}
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", csvPath, err)
	}
	if n != m.N {
		return nil, mismatch(csvPath, "n", "the file has %d rows, the manifest commits to %d", n, m.N)
	}
	return sums.compare(csvPath, m)
}

// saltFor is the salt to check m with: the caller's for a private manifest, the manifest's
// own for a public one.
func saltFor(m *commitment.Manifest, salt *commitment.Salt) (commitment.Salt, error) {
	switch {
	case m.Public && salt != nil && *salt != *m.Salt:
		return commitment.Salt{}, &MismatchError{Field: "salt", Chunk: -1, Detail: "the salt given is not the one the public manifest carries"}
	case m.Public:
		return *m.Salt, nil
	case salt == nil:
		return commitment.Salt{}, ErrNoSalt
	}
	return *salt, nil
}

// sameColumns describes the first difference between the file's header and the manifest's
// columns, or returns "" when they are equal.
func sameColumns(file, committed []string) string {
	for i := range max(len(file), len(committed)) {
		switch {
		case i >= len(file):
			return fmt.Sprintf("the file has %d columns, the manifest %d: column %d, %q, is missing", len(file), len(committed), i+1, committed[i])
		case i >= len(committed):
			return fmt.Sprintf("the file has %d columns, the manifest %d: column %d, %q, is extra", len(file), len(committed), i+1, file[i])
		case file[i] != committed[i]:
			return fmt.Sprintf("column %d is %q in the file, %q in the manifest", i+1, file[i], committed[i])
		}
	}
	return ""
}

// compareChunks names the first chunk whose recomputed commitment differs from the
// manifest's, and otherwise a differing row count.
func compareChunks(res commitment.Result, m *commitment.Manifest) error {
	common := min(len(res.Chunks), len(m.ChunkCommitments))
	first, differing := -1, 0
	for i := range common {
		if res.Chunks[i] != m.ChunkCommitments[i] {
			if first < 0 {
				first = i
			}
			differing++
		}
	}
	if first < 0 {
		if res.Header.N != m.N {
			return &MismatchError{Field: "n", Chunk: -1, Detail: fmt.Sprintf("the file has %d rows, the manifest commits to %d", res.Header.N, m.N)}
		}
		return nil
	}
	e := &MismatchError{Field: "chunks", Chunk: first, FirstRow: first*m.ChunkRows + 1,
		LastRow: min((first+1)*m.ChunkRows, m.N), Differing: differing}
	e.Detail = fmt.Sprintf("chunk %d (rows %d–%d) differs; %d of %d chunks differ", e.Chunk, e.FirstRow, e.LastRow, differing, len(m.ChunkCommitments))
	if differing == len(m.ChunkCommitments) && differing > 1 {
		e.Detail = fmt.Sprintf("chunk %d (rows %d–%d) differs, and so does every other chunk: the wrong salt, or another dataset", e.Chunk, e.FirstRow, e.LastRow)
	}
	return e
}

// fileHashes are the digests of a file taken while it is read: the keyed one always, the
// plain SHA-256 only when it may be compared or published.
type fileHashes struct {
	keyed, plain hash.Hash
}

func newFileHashes(salt commitment.Salt, plain bool) *fileHashes {
	h := &fileHashes{keyed: commitment.NewFileDigest(salt)}
	if plain {
		h.plain = sha256.New()
	}
	return h
}

func (h *fileHashes) Write(b []byte) (int, error) {
	h.keyed.Write(b)
	if h.plain != nil {
		h.plain.Write(b)
	}
	return len(b), nil
}

func (h *fileHashes) keyedHex() string { return hex.EncodeToString(h.keyed.Sum(nil)) }

func (h *fileHashes) plainHex() string { return hex.EncodeToString(h.plain.Sum(nil)) }

// compare checks the digests of a file whose rows matched m; a difference here means the
// same rows in other bytes (quoting, spacing, line ends).
func (h *fileHashes) compare(path string, m *commitment.Manifest) (*VerifyResult, error) {
	if h.keyedHex() != m.FileDigest {
		return nil, mismatch(path, "file_digest", "every row is as committed, but the file's bytes are not (file_digest differs): was it re-saved or reformatted?")
	}
	r := &VerifyResult{Rows: m.N, Chunks: len(m.ChunkCommitments), Checks: []string{
		fmt.Sprintf("columns: the %d columns of the header, label %q and %d features in order", len(m.Columns), m.Label, m.D),
		fmt.Sprintf("chunks: all %d recomputed from the rows and equal (n = %d, %d rows per chunk)", len(m.ChunkCommitments), m.N, m.ChunkRows),
		fmt.Sprintf("commitment: %s is the hash of the header and chunks", m.Commitment),
		"file_digest: the file's digest keyed from the salt is equal",
	}}
	if m.Public {
		if h.plainHex() != m.SHA256 {
			return nil, mismatch(path, "sha256", "the file's SHA-256 is not the public manifest's")
		}
		r.Checks = append(r.Checks, "sha256: equal (public manifest, checked with its own salt)")
	}
	if f := m.Featurizer; f != nil {
		r.Checks = append(r.Checks, fmt.Sprintf("featurizer: spec_sha256 is the id of %s version %s", f.Name, f.Version))
	}
	return r, nil
}
