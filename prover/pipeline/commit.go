package pipeline

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/dataset"
	"github.com/comet-attest/comet/prover/featurize"
	"github.com/comet-attest/comet/prover/fixedpoint"
)

// ErrOptions means CommitOptions are unusable.
var ErrOptions = errors.New("invalid commit options")

// smallDataset is how many records Commit counts to choose a default chunk size:
// commitment.DefaultChunkRows only needs to know whether a dataset has fewer.
const smallDataset = 1024

// CommitOptions say how a CSV file becomes a committed dataset.
type CommitOptions struct {
	// Label, Features and Exclude give the column roles (dataset.Options).
	Label    string
	Features []string
	Exclude  []string
	// Format is the fixed-point format of every value.
	Format fixedpoint.Format
	// ChunkRows is R; 0 means commitment.DefaultChunkRows of the file's row count.
	ChunkRows int
	// Salt is the dataset's secret salt; it may not be all zeros.
	Salt commitment.Salt
	// Public declares the dataset public: the manifest then carries the file's plain SHA-256
	// and the salt.
	Public bool
	// Featurizer, when set, is the featurization record of this very file; its public part
	// goes into the manifest.
	Featurizer *featurize.Record
	// Progress, when set, is called as the file is read with the number of bytes read so far.
	Progress func(read int64)
}

func (o CommitOptions) validate() error {
	if err := o.Format.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrOptions, err)
	}
	if o.ChunkRows < 0 || o.ChunkRows > commitment.MaxChunkRows {
		return fmt.Errorf("%w: chunk rows %d not in [1, %d]", ErrOptions, o.ChunkRows, commitment.MaxChunkRows)
	}
	if o.Salt == (commitment.Salt{}) {
		// A forgotten salt, not a drawn one: it would make the commitment open to guessing.
		return fmt.Errorf("%w: the salt is all zeros; draw one with commitment.NewSalt", ErrOptions)
	}
	return nil
}

// Commit reads the CSV at csvPath once, streaming, and returns its manifest, validated (when
// ChunkRows is 0 it first counts up to 1,024 records to choose the chunk size). The file's
// keyed digest is computed while the rows stream into the commitment, and its plain SHA-256
// only when the dataset is public or a featurization record must be matched to it; neither
// the salt nor the plain digest reaches the manifest unless Public is set.
func Commit(ctx context.Context, csvPath string, opts CommitOptions) (*commitment.Manifest, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	chunkRows := opts.ChunkRows
	if chunkRows == 0 {
		n, err := countRecordsUpTo(csvPath, smallDataset)
		if err != nil {
			return nil, err
		}
		chunkRows = commitment.DefaultChunkRows(n)
	}
	file, err := os.Open(csvPath)
	if err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	defer file.Close()
	sums := newFileHashes(opts.Salt, opts.Public || opts.Featurizer != nil)
	src := io.TeeReader(withProgress(file, opts.Progress), sums)
	rd, err := dataset.NewReader(src, dataset.Options{
		Label: opts.Label, Features: opts.Features, Exclude: opts.Exclude, Format: opts.Format,
	})
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", csvPath, err)
	}
	if opts.Featurizer != nil {
		// Before the long read: a record for other columns is refused at once.
		if err := recordFits(opts.Featurizer, rd.Features(), rd.Label()); err != nil {
			return nil, err
		}
	}
	header := commitment.Header{D: rd.D(), FractionBits: opts.Format.FractionBits, ValueBits: opts.Format.ValueBits, ChunkRows: chunkRows}
	res, err := commitRows(ctx, rd, header, opts.Salt, nil)
	if err == nil {
		err = drain(src)
	}
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", csvPath, err)
	}
	m := commitment.NewManifest(res, filepath.Base(csvPath), sums.keyedHex(), rd.Columns(), rd.Features(), rd.Label())
	if opts.Public {
		salt := opts.Salt
		m.Public, m.SHA256, m.Salt = true, sums.plainHex(), &salt
	}
	if opts.Featurizer != nil {
		if m.Featurizer, err = featurizerEntry(opts.Featurizer, sums.plainHex(), m, opts.Salt); err != nil {
			return nil, err
		}
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// commitRows streams every row of rd into a commitment builder and, when each is set, calls it
// with every row (the slice is reused: each must copy what it keeps).
func commitRows(ctx context.Context, rd *dataset.Reader, header commitment.Header, salt commitment.Salt, each func(row []int64)) (commitment.Result, error) {
	b, err := commitment.NewBuilder(ctx, header, salt, 0)
	if err != nil {
		return commitment.Result{}, err
	}
	_, err = readRows(ctx, rd, func(row []int64) error {
		if err := b.Add(row); err != nil {
			return err
		}
		if each != nil {
			each(row)
		}
		return nil
	})
	if err != nil {
		_, _ = b.Finish()
		return commitment.Result{}, err
	}
	return b.Finish()
}

// readRows hands every row of rd to each (the slice is reused) and returns how many there were.
func readRows(ctx context.Context, rd *dataset.Reader, each func(row []int64) error) (int, error) {
	row := make([]int64, rd.D()+1)
	for n := 0; ; n++ {
		if n%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		err := rd.Read(row)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err == nil {
			err = each(row)
		}
		if err != nil {
			return n, err
		}
	}
}

func drain(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

// countRecordsUpTo counts data records (the header excluded) but stops at limit.
func countRecordsUpTo(path string, limit int) (int, error) {
	file, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open dataset: %w", err)
	}
	defer file.Close()
	r := csv.NewReader(file)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	n := -1
	for n < limit {
		if _, err := r.Read(); err != nil {
			break // the dataset reader reports malformed input with its position
		}
		n++
	}
	return max(n, 0), nil
}

// progressReader reports the bytes read so far after every read.
type progressReader struct {
	r      io.Reader
	read   int64
	report func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.read += int64(n)
		p.report(p.read)
	}
	return n, err
}

func withProgress(r io.Reader, report func(int64)) io.Reader {
	if report == nil {
		return r
	}
	return &progressReader{r: r, report: report}
}
