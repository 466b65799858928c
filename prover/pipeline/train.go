package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/dataset"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/train"
)

// ReadCommitted reads the whole dataset that m committed to from the CSV at csvPath, for
// training, and refuses a file that differs (a *MismatchError), so a model is never trained
// on rows other than the committed ones. salt may be nil for a public manifest. Unlike Verify,
// its memory grows with the number of rows. It reads the file once and checks its keyed
// digest, which pins every byte; only when something differs does it read the file again,
// as Verify does, to name the first chunk that differs.
func ReadCommitted(ctx context.Context, csvPath string, m *commitment.Manifest, salt *commitment.Salt) (*dataset.Table, error) {
	t := &dataset.Table{Features: slices.Clone(m.Features), Label: m.Label, Format: m.Format(), D: m.D}
	res, err := check(ctx, csvPath, m, salt, func(row []int64) { t.Values = append(t.Values, row...) }, false)
	if errors.Is(err, ErrMismatch) {
		if _, located := Verify(ctx, csvPath, m, salt); located != nil {
			return nil, located
		}
	}
	if err != nil {
		return nil, err
	}
	t.N = res.Rows
	return t, nil
}

// Train fits opts' model on the committed rows of table, which m describes, and returns the
// model with m's features, label, format and commitment in it, and the fixed-point fit it
// was made from (its gradient, residual and weight bits).
func Train(ctx context.Context, table *dataset.Table, m *commitment.Manifest, opts train.Options) (*model.Model, *train.FixedResult, error) {
	if table.N != m.N || table.D != m.D || table.Format != m.Format() || table.Label != m.Label || !slices.Equal(table.Features, m.Features) {
		return nil, nil, fmt.Errorf("%w: a table of %d rows × %d features (%s) is not the dataset the manifest commits to (%d × %d, %s)",
			ErrMismatch, table.N, table.D, table.Format, m.N, m.D, m.Format())
	}
	fit, err := train.FitFixed(ctx, train.FixedData{N: table.N, D: table.D, Values: table.Values, Format: table.Format}, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	mod, err := model.New(fit, model.Meta{
		Features: m.Features, Label: m.Label, Format: m.Format(), DatasetCommitment: m.Commitment.String(),
	})
	if err != nil {
		return nil, nil, err
	}
	return mod, fit, nil
}
