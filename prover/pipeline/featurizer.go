package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/featurize"
)

var (
	// ErrRecord means a featurization record does not belong to the dataset being committed.
	ErrRecord = errors.New("featurization record does not fit the dataset")
	// ErrNoFeaturizer means a corpus was given for a manifest that records no featurizer.
	ErrNoFeaturizer = errors.New("no featurizer")
)

// RecordPath is where `comet dataset featurize` writes the featurization record of a
// features CSV, and so where `comet dataset commit` looks for it:
// features.csv → features.featurizer.json.
func RecordPath(featuresCSV string) string {
	return strings.TrimSuffix(featuresCSV, filepath.Ext(featuresCSV)) + ".featurizer.json"
}

// SplitPaths are the two outputs of `comet dataset featurize --split-by` for --out
// featuresCSV: features.csv → features.train.csv and features.test.csv, which share the
// record RecordPath(featuresCSV).
func SplitPaths(featuresCSV string) (train, test string) {
	ext := filepath.Ext(featuresCSV)
	stem := strings.TrimSuffix(featuresCSV, ext)
	return stem + "." + featurize.PartTrain + ext, stem + "." + featurize.PartTest + ext
}

// FindRecord is the record `comet dataset featurize` would have written for csvPath, if one
// exists: RecordPath(csvPath), or for a split part (features.train.csv) the shared record
// of the split (features.featurizer.json). The first wins, so that a plain run whose --out
// happened to end in .test.csv still finds its own record.
func FindRecord(csvPath string) (path string, ok bool, err error) {
	candidates := []string{RecordPath(csvPath)}
	ext := filepath.Ext(csvPath)
	stem := strings.TrimSuffix(csvPath, ext)
	for _, part := range []string{featurize.PartTrain, featurize.PartTest} {
		if s, cut := strings.CutSuffix(stem, "."+part); cut {
			candidates = append(candidates, RecordPath(s+ext))
		}
	}
	for _, p := range candidates {
		_, err := os.Stat(p)
		switch {
		case err == nil:
			return p, true, nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", false, fmt.Errorf("featurization record: %w", err)
		}
	}
	return "", false, nil
}

// recordFits checks a record against the columns being committed: its features exactly, in
// order, and its label when it has one.
func recordFits(rec *featurize.Record, features []string, label string) error {
	if err := rec.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrRecord, err)
	}
	if err := sameFeatures(rec, features); err != nil {
		return err
	}
	if rec.LabelColumn != "" && rec.LabelColumn != label {
		return fmt.Errorf("%w: the record's label is %q, the commitment's %q", ErrRecord, rec.LabelColumn, label)
	}
	return nil
}

// featurizerEntry checks that rec, which recordFits accepted, is the record of the file just
// committed into m, whose plain SHA-256 is fileSHA256, and returns its public part for the
// manifest. For a split run the file must be one of its two parts, and the entry says which.
func featurizerEntry(rec *featurize.Record, fileSHA256 string, m *commitment.Manifest, salt commitment.Salt) (*commitment.Featurizer, error) {
	var out *featurize.Output
	var files []string
	for _, o := range rec.Outputs() {
		if o.SHA256 == fileSHA256 {
			out = &o
		}
		files = append(files, o.File)
	}
	// Neither digest is printed: both are plain digests of private files.
	if out == nil {
		return nil, fmt.Errorf("%w: it records the featurization of another file (%s), not of %s as it is now", ErrRecord, strings.Join(files, " and "), m.File)
	}
	corpus, err := commitment.CorpusDigest(salt, rec.Input.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecord, err)
	}
	f := &commitment.Featurizer{
		Name: rec.Featurizer.Name, Version: rec.Featurizer.Version, Params: maps.Clone(rec.Featurizer.Params),
		SpecSHA256: rec.FeaturizerID, CorpusDigest: corpus,
		TextColumn: rec.TextColumn, LabelColumn: rec.LabelColumn, Rows: out.Rows,
	}
	if s := rec.Split; s != nil {
		f.Split = &commitment.FeaturizerSplit{Column: s.Column, TestValues: slices.Clone(s.TestValues), Part: out.Part}
	}
	for _, l := range rec.LabelMap {
		f.LabelMap = append(f.LabelMap, commitment.FeaturizerLabel{From: l.From, To: l.To})
	}
	if f.Params == nil {
		f.Params = map[string]string{} // a spec without parameters; the manifest has no null
	}
	if m.Public {
		f.CorpusSHA256 = rec.Input.SHA256
	}
	return f, nil
}

// sameFeatures requires the committed features to be exactly the featurizer's, in its order:
// the manifest would otherwise claim a featurizer for columns it did not make.
func sameFeatures(rec *featurize.Record, committed []string) error {
	i := 0
	for i < len(rec.Features) && i < len(committed) && rec.Features[i] == committed[i] {
		i++
	}
	var what string
	switch {
	case i == len(rec.Features) && i == len(committed):
		return nil
	case i == len(rec.Features):
		what = fmt.Sprintf("committed feature %d, %q, is not one of the record's %d features", i+1, committed[i], len(rec.Features))
	case i == len(committed):
		what = fmt.Sprintf("the record's feature %d, %q, is not committed (%d features committed)", i+1, rec.Features[i], len(committed))
	default:
		what = fmt.Sprintf("feature %d is %q in the record but %q in the commitment", i+1, rec.Features[i], committed[i])
	}
	hint := "give no --features and --exclude the kept columns"
	if len(rec.Keep) > 0 {
		hint += " (" + strings.Join(rec.Keep, ",") + ")"
	}
	return fmt.Errorf("%w: %s; commit exactly the featurizer's features, in its order: %s", ErrRecord, what, hint)
}

// checkSpec checks that the manifest's featurizer id is the id of its spec, which
// prover/commitment cannot: the canonical form is prover/featurize's.
func checkSpec(m *commitment.Manifest) error {
	f := m.Featurizer
	if f == nil {
		return nil
	}
	id, err := featurize.Spec{Name: f.Name, Version: f.Version, Params: f.Params}.ID()
	if err != nil {
		return fmt.Errorf("%w: featurizer: %w", commitment.ErrManifest, err)
	}
	if id != f.SpecSHA256 {
		return fmt.Errorf("%w: featurizer: spec_sha256 %s is not the id of its name, version and params (%s)", commitment.ErrManifest, f.SpecSHA256, id)
	}
	return nil
}

// CheckCorpus checks the raw corpus file at corpusPath against the manifest's
// featurizer.corpus_digest. salt may be nil for a public manifest, whose corpus_sha256 the
// manifest's own check already ties to corpus_digest. A corpus that differs gives a
// *MismatchError.
func CheckCorpus(corpusPath string, m *commitment.Manifest, salt *commitment.Salt) error {
	if m.Featurizer == nil {
		return fmt.Errorf("%w: the manifest records no featurizer, so no corpus", ErrNoFeaturizer)
	}
	s, err := saltFor(m, salt)
	if err != nil {
		return err
	}
	file, err := os.Open(corpusPath)
	if err != nil {
		return fmt.Errorf("open corpus: %w", err)
	}
	defer file.Close()
	h := sha256.New()
	if _, err := io.Copy(h, file); err != nil {
		return fmt.Errorf("corpus %s: %w", corpusPath, err)
	}
	digest, err := commitment.CorpusDigest(s, hex.EncodeToString(h.Sum(nil)))
	if err != nil {
		return err
	}
	if digest != m.Featurizer.CorpusDigest {
		return fmt.Errorf("%s: %w", corpusPath, &MismatchError{Field: "featurizer.corpus_digest", Chunk: -1,
			Detail: "the corpus is not the one the features were made from (keyed corpus digest differs)"})
	}
	return nil
}
