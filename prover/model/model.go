package model

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"

	"github.com/comet-attest/comet/internal/hexdigest"
	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/train"
)

// Version is the only model format this package reads and writes.
const Version = "comet.model/v2"

// Sentinel causes; callers test them with errors.Is.
var (
	// ErrSyntax means the file is not a well-formed model JSON object.
	ErrSyntax = errors.New("malformed model file")
	// ErrVersion means the format field names a version this package does not know.
	ErrVersion = errors.New("unsupported model format version")
	// ErrInvalid means a field is missing, malformed or inconsistent with another.
	ErrInvalid = errors.New("invalid model")
	// ErrNotCanonical means the file holds a valid model but is not byte for byte its
	// canonical encoding, so its SHA-256 would not be the model's identity.
	ErrNotCanonical = errors.New("model file is not in canonical form")
	// ErrHash means SHA256 does not match the model's file bytes.
	ErrHash = errors.New("model sha256 mismatch")
)

// Metrics are the proven training metrics of the integer weights W on the committed rows:
// the integers SSR, SumY and SumY2 (decimal strings), and R2, RMSE and ResidualSD, which
// must be exactly what [DeriveMetrics] computes from them.
type Metrics struct {
	N int64 `json:"n"`
	// SSR is Σ_i e_i², e_i = Σ_k X_ik·W_k − 2^f·Y_i, in units of 2^-(4f).
	SSR string `json:"ssr"`
	// SumY is Σ_i Y_i in units of 2^-f; SumY2 is Σ_i Y_i² in units of 2^-(2f).
	SumY       string  `json:"sum_y"`
	SumY2      string  `json:"sum_y2"`
	R2         float64 `json:"r2"`
	ResidualSD float64 `json:"residual_sd"`
	RMSE       float64 `json:"rmse"`
}

// Model is the model file. Field names are the JSON names of docs/model.md.
type Model struct {
	Format       string   `json:"format"`
	Kind         string   `json:"kind"`
	Lambda       float64  `json:"lambda"`
	LambdaFixed  string   `json:"lambda_fixed"`
	FitIntercept bool     `json:"fit_intercept"`
	Features     []string `json:"features"`
	Label        string   `json:"label"`
	// Weights and Intercept are the floats a client computes with: each within 2^-(f+1) of
	// its integer W/2^f in WeightsFixed and InterceptFixed.
	Weights           []float64 `json:"weights"`
	Intercept         *float64  `json:"intercept"`
	WeightsFixed      []string  `json:"weights_fixed"`
	InterceptFixed    *string   `json:"intercept_fixed"`
	FractionBits      int       `json:"fraction_bits"`
	ValueBits         int       `json:"value_bits"`
	DatasetCommitment string    `json:"dataset_commitment"`
	Metrics           Metrics   `json:"metrics"`
	// OptimalityResidual is max_j |G_j| of the fixed weights, in units of 2^-(3f).
	OptimalityResidual string `json:"optimality_residual"`
	// SHA256 is the model's identity, the lower-case hex SHA-256 of the file's bytes. It is
	// not in the file, which cannot contain its own hash; Seal, New and Unmarshal set it.
	SHA256 string `json:"-"`
}

// Meta is what a model records about its data besides the training result.
type Meta struct {
	Features []string
	Label    string
	Format   fixedpoint.Format
	// DatasetCommitment is the manifest's commitment, 64 lower-case hex digits.
	DatasetCommitment string
}

// New builds and seals the model of a fixed-point training result. The float weights are
// the certified float optimum where it lies within 2^-(f+1) of the proven W/2^f, and
// otherwise the float64 nearest W/2^f; the metrics are the proven ones of W.
func New(r *train.FixedResult, meta Meta) (*Model, error) {
	fr := r.Float
	f := meta.Format.FractionBits
	if len(fr.Coef) != len(r.Weights) {
		return nil, fmt.Errorf("%w: %d float weights for %d fixed weights", ErrInvalid, len(fr.Coef), len(r.Weights))
	}
	if r.SSR == nil || r.SumY == nil || r.SumY2 == nil {
		return nil, fmt.Errorf("%w: metrics: the training result has no ssr, sum_y or sum_y2", ErrInvalid)
	}
	m := &Model{
		Format:            Version,
		Kind:              string(fr.Options.Kind),
		Lambda:            fr.Options.Lambda,
		LambdaFixed:       r.LambdaFixed.String(),
		FitIntercept:      fr.Options.Intercept,
		Features:          slices.Clone(meta.Features),
		Label:             meta.Label,
		FractionBits:      f,
		ValueBits:         meta.Format.ValueBits,
		DatasetCommitment: meta.DatasetCommitment,
		Metrics: Metrics{
			N: int64(fr.N), SSR: r.SSR.String(), SumY: r.SumY.String(), SumY2: r.SumY2.String(),
		},
		OptimalityResidual: r.Residual.String(),
	}
	for j, w := range r.Weights {
		v, err := clientWeight(fmt.Sprintf("weights[%d]", j), fr.Coef[j], w, f)
		if err != nil {
			return nil, err
		}
		m.Weights = append(m.Weights, v)
		m.WeightsFixed = append(m.WeightsFixed, big.NewInt(w).String())
	}
	if m.FitIntercept {
		b, err := clientWeight("intercept", fr.Intercept, r.Intercept, f)
		if err != nil {
			return nil, err
		}
		bf := big.NewInt(r.Intercept).String()
		m.Intercept, m.InterceptFixed = &b, &bf
	}
	var err error
	m.Metrics.R2, m.Metrics.RMSE, m.Metrics.ResidualSD, err = DeriveMetrics(m.Metrics.N, m.params(), m.FitIntercept, f, r.SSR, r.SumY, r.SumY2)
	if err != nil {
		return nil, err
	}
	if err := m.Seal(); err != nil {
		return nil, err
	}
	return m, nil
}

// clientWeight returns opt when it lies in the box of W, else the float64 nearest W/2^f,
// which lies in the box unless W/2^f needs more than 53 significant bits to be within half
// a unit.
func clientWeight(field string, opt float64, w int64, f int) (float64, error) {
	fixed := big.NewInt(w)
	if inBox(opt, fixed, f) {
		return opt, nil
	}
	v, _ := new(big.Float).SetMantExp(new(big.Float).SetInt(fixed), -f).Float64()
	if !inBox(v, fixed, f) {
		return 0, fmt.Errorf("%w: %s: no float64 lies within 2^-%d of %d/2^%d", ErrInvalid, field, f+1, w, f)
	}
	return v, nil
}

// inBox reports whether |w − W/2^f| ≤ 2^-(f+1), that is |w·2^f − W| ≤ 1/2, in exact
// rational arithmetic: a float tolerance would let the bound itself be rounded.
func inBox(w float64, fixed *big.Int, f int) bool {
	if math.IsNaN(w) || math.IsInf(w, 0) {
		return false
	}
	d := new(big.Rat).SetFloat64(w)
	d.Mul(d, new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), uint(f))))
	d.Sub(d, new(big.Rat).SetInt(fixed))
	return d.Abs(d).Cmp(big.NewRat(1, 2)) <= 0
}

// params is p, the number of fitted parameters: the features and the intercept.
func (m *Model) params() int {
	if m.FitIntercept {
		return len(m.Features) + 1
	}
	return len(m.Features)
}

// Seal checks the model and sets SHA256 to the hash of the file Marshal writes.
func (m *Model) Seal() error {
	if err := m.validate(); err != nil {
		return err
	}
	sum, err := m.Hash()
	if err != nil {
		return err
	}
	m.SHA256 = sum
	return nil
}

// Verify checks every field and that SHA256 is the hash of the file Marshal writes.
func (m *Model) Verify() error {
	if err := m.validate(); err != nil {
		return err
	}
	sum, err := m.Hash()
	if err != nil {
		return err
	}
	if m.SHA256 != sum {
		return fmt.Errorf("%w: model says %q, its file hashes to %s", ErrHash, m.SHA256, sum)
	}
	return nil
}

// Hash returns the lower-case hex SHA-256 of the model file's bytes, the canonical encoding
// and its final newline.
func (m *Model) Hash() (string, error) {
	file, err := m.file()
	if err != nil {
		return "", err
	}
	return hashHex(file), nil
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// maxDecimalDigits bounds the decimal integers: a weight fits an int64 (19 digits), and a
// residual, Λ or proven metric is below the BN254 field order (77 digits) for a proof to
// state it, so longer strings are junk, refused before big.Int parses them.
const maxDecimalDigits = 80

var decimalRE = regexp.MustCompile(`^(0|-?[1-9][0-9]*)$`)

// parseDecimal parses a canonical decimal integer: optional '-', no leading zeros, no '+',
// and "0" never negative.
func parseDecimal(field, s string) (*big.Int, error) {
	if len(s) > maxDecimalDigits+1 || !decimalRE.MatchString(s) {
		return nil, fmt.Errorf("%w: %s %q is not a canonical decimal integer", ErrInvalid, field, s)
	}
	v, _ := new(big.Int).SetString(s, 10)
	return v, nil
}

// FixedWeights returns the fixed-point weights and the intercept weight (nil without an
// intercept) as integers with scale 2^fraction_bits.
func (m *Model) FixedWeights() (w []*big.Int, intercept *big.Int, err error) {
	for j, s := range m.WeightsFixed {
		v, err := parseDecimal(fmt.Sprintf("weights_fixed[%d]", j), s)
		if err != nil {
			return nil, nil, err
		}
		w = append(w, v)
	}
	if m.InterceptFixed != nil {
		if intercept, err = parseDecimal("intercept_fixed", *m.InterceptFixed); err != nil {
			return nil, nil, err
		}
	}
	return w, intercept, nil
}

// ProvenMetrics returns the integers the metrics derive from: SSR (units 2^-(4f)), ΣY
// (units 2^-f) and ΣY² (units 2^-(2f)), as a proof states them.
func (m *Model) ProvenMetrics() (ssr, sumY, sumY2 *big.Int, err error) {
	if ssr, err = parseDecimal("metrics.ssr", m.Metrics.SSR); err != nil {
		return nil, nil, nil, err
	}
	if sumY, err = parseDecimal("metrics.sum_y", m.Metrics.SumY); err != nil {
		return nil, nil, nil, err
	}
	if sumY2, err = parseDecimal("metrics.sum_y2", m.Metrics.SumY2); err != nil {
		return nil, nil, nil, err
	}
	return ssr, sumY, sumY2, nil
}

func finite(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%w: %s is %v", ErrInvalid, field, v)
	}
	return nil
}

// validate checks everything but the hash.
func (m *Model) validate() error {
	if m.Format != Version {
		return versionError(m.Format)
	}
	if err := (train.Options{Kind: train.Kind(m.Kind), Lambda: m.Lambda}).Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	ft := fixedpoint.Format{FractionBits: m.FractionBits, ValueBits: m.ValueBits}
	if err := ft.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	lf, err := parseDecimal("lambda_fixed", m.LambdaFixed)
	if err != nil {
		return err
	}
	if want, err := train.LambdaFixed(m.Lambda, m.FractionBits); err != nil || want.Cmp(lf) != 0 {
		return fmt.Errorf("%w: lambda_fixed %s is not round_half_even(lambda·2^(2·%d)) = %v", ErrInvalid, m.LambdaFixed, m.FractionBits, want)
	}
	if len(m.Features) == 0 {
		return fmt.Errorf("%w: no features", ErrInvalid)
	}
	seen := make(map[string]bool, len(m.Features))
	for _, f := range m.Features {
		if f == "" || seen[f] {
			return fmt.Errorf("%w: feature name %q empty or repeated", ErrInvalid, f)
		}
		seen[f] = true
	}
	if m.Label == "" || seen[m.Label] {
		return fmt.Errorf("%w: label %q empty or also a feature", ErrInvalid, m.Label)
	}
	if len(m.Weights) != len(m.Features) || len(m.WeightsFixed) != len(m.Features) {
		return fmt.Errorf("%w: %d features, %d weights, %d weights_fixed", ErrInvalid, len(m.Features), len(m.Weights), len(m.WeightsFixed))
	}
	if (m.Intercept != nil) != m.FitIntercept || (m.InterceptFixed != nil) != m.FitIntercept {
		return fmt.Errorf("%w: fit_intercept is %v but intercept and intercept_fixed must both be %s", ErrInvalid, m.FitIntercept, map[bool]string{true: "set", false: "null"}[m.FitIntercept])
	}
	w, b, err := m.FixedWeights()
	if err != nil {
		return err
	}
	for j, v := range m.Weights {
		if err := checkWeight(fmt.Sprintf("weights[%d]", j), v, w[j], m.FractionBits); err != nil {
			return err
		}
	}
	if m.Intercept != nil {
		if err := checkWeight("intercept", *m.Intercept, b, m.FractionBits); err != nil {
			return err
		}
	}
	if !hexdigest.Valid(m.DatasetCommitment) {
		return fmt.Errorf("%w: dataset_commitment %q is not 64 lower-case hex digits", ErrInvalid, m.DatasetCommitment)
	}
	if err := m.validateMetrics(); err != nil {
		return err
	}
	res, err := parseDecimal("optimality_residual", m.OptimalityResidual)
	if err != nil {
		return err
	}
	if res.Sign() < 0 {
		return fmt.Errorf("%w: optimality_residual %s is negative", ErrInvalid, m.OptimalityResidual)
	}
	return nil
}

func versionError(format string) error {
	return fmt.Errorf("%w: %q (this build reads only %q; comet.model/v1 files have no proven metrics and must be re-trained with this build's comet train)", ErrVersion, format, Version)
}

// checkWeight refuses a float weight that a client could not use in place of the proven
// W/2^f.
func checkWeight(field string, v float64, fixed *big.Int, f int) error {
	if err := finite(field, v); err != nil {
		return err
	}
	if !inBox(v, fixed, f) {
		return fmt.Errorf("%w: %s is %v, more than 2^-%d from the proven %s/2^%d", ErrInvalid, field, v, f+1, fixed, f)
	}
	return nil
}

// validateMetrics requires the floats to be exactly DeriveMetrics of the integers, so that
// the file's metrics say no more than what a proof of SSR, ΣY and ΣY² shows.
func (m *Model) validateMetrics() error {
	mt := m.Metrics
	ssr, sumY, sumY2, err := m.ProvenMetrics()
	if err != nil {
		return err
	}
	r2, rmse, sd, err := DeriveMetrics(mt.N, m.params(), m.FitIntercept, m.FractionBits, ssr, sumY, sumY2)
	if err != nil {
		return err
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"r2", mt.R2, r2}, {"rmse", mt.RMSE, rmse}, {"residual_sd", mt.ResidualSD, sd}} {
		if c.got != c.want {
			return fmt.Errorf("%w: metrics.%s is %v, the proven ssr, sum_y and sum_y2 give %v", ErrInvalid, c.name, c.got, c.want)
		}
	}
	return nil
}
