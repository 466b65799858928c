package model

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"

	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/train"
)

// Version is the only model format this package reads and writes.
const Version = "comet.model/v1"

// Sentinel causes; callers test them with errors.Is.
var (
	// ErrSyntax means the file is not a well-formed model JSON object.
	ErrSyntax = errors.New("malformed model file")
	// ErrVersion means the format field names a version this package does not know.
	ErrVersion = errors.New("unsupported model format version")
	// ErrInvalid means a field is missing, malformed or inconsistent with another.
	ErrInvalid = errors.New("invalid model")
	// ErrHash means the sha256 field does not match the canonical encoding.
	ErrHash = errors.New("model sha256 mismatch")
)

// Metrics are the training metrics of the float weights on the dequantized data.
type Metrics struct {
	R2         float64 `json:"r2"`
	ResidualSD float64 `json:"residual_sd"`
	RMSE       float64 `json:"rmse"`
	N          int64   `json:"n"`
}

// Model is the model file. Field names are the JSON names of docs/model.md.
type Model struct {
	Format            string    `json:"format"`
	Kind              string    `json:"kind"`
	Lambda            float64   `json:"lambda"`
	LambdaFixed       string    `json:"lambda_fixed"`
	FitIntercept      bool      `json:"fit_intercept"`
	Features          []string  `json:"features"`
	Label             string    `json:"label"`
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
	SHA256             string `json:"sha256"`
}

// Meta is what a model records about its data besides the training result.
type Meta struct {
	Features []string
	Label    string
	Format   fixedpoint.Format
	// DatasetCommitment is the manifest's commitment, 64 lower-case hex digits.
	DatasetCommitment string
}

// New builds and seals the model of a fixed-point training result.
func New(r *train.FixedResult, meta Meta) (*Model, error) {
	fr := r.Float
	m := &Model{
		Format:             Version,
		Kind:               string(fr.Options.Kind),
		Lambda:             fr.Options.Lambda,
		LambdaFixed:        r.LambdaFixed.String(),
		FitIntercept:       fr.Options.Intercept,
		Features:           slices.Clone(meta.Features),
		Label:              meta.Label,
		Weights:            slices.Clone(fr.Coef),
		FractionBits:       meta.Format.FractionBits,
		ValueBits:          meta.Format.ValueBits,
		DatasetCommitment:  meta.DatasetCommitment,
		Metrics:            Metrics{R2: fr.R2, ResidualSD: fr.ResidualSD, RMSE: fr.RMSE, N: int64(fr.N)},
		OptimalityResidual: r.Residual.String(),
	}
	for _, w := range r.Weights {
		m.WeightsFixed = append(m.WeightsFixed, big.NewInt(w).String())
	}
	if m.FitIntercept {
		b := fr.Intercept
		bf := big.NewInt(r.Intercept).String()
		m.Intercept, m.InterceptFixed = &b, &bf
	}
	if err := m.Seal(); err != nil {
		return nil, err
	}
	return m, nil
}

// Seal checks the model and sets SHA256 to the hash of its canonical encoding.
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

// Verify checks every field and that SHA256 matches the canonical encoding.
func (m *Model) Verify() error {
	if err := m.validate(); err != nil {
		return err
	}
	sum, err := m.Hash()
	if err != nil {
		return err
	}
	if m.SHA256 != sum {
		return fmt.Errorf("%w: file says %q, canonical encoding hashes to %s", ErrHash, m.SHA256, sum)
	}
	return nil
}

// maxDecimalDigits bounds the decimal integers: a weight fits an int64 (19 digits) and a
// residual or Λ is far below 10^80, so longer strings are junk, refused before big.Int
// parses them.
const maxDecimalDigits = 80

var (
	decimalRE = regexp.MustCompile(`^(0|-?[1-9][0-9]*)$`)
	hexRE     = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

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

func finite(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%w: %s is %v", ErrInvalid, field, v)
	}
	return nil
}

// validate checks everything but the hash.
func (m *Model) validate() error {
	if m.Format != Version {
		return fmt.Errorf("%w: %q (this build reads %q)", ErrVersion, m.Format, Version)
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
	for j, w := range m.Weights {
		if err := finite(fmt.Sprintf("weights[%d]", j), w); err != nil {
			return err
		}
	}
	if (m.Intercept != nil) != m.FitIntercept || (m.InterceptFixed != nil) != m.FitIntercept {
		return fmt.Errorf("%w: fit_intercept is %v but intercept and intercept_fixed must both be %s", ErrInvalid, m.FitIntercept, map[bool]string{true: "set", false: "null"}[m.FitIntercept])
	}
	if m.Intercept != nil {
		if err := finite("intercept", *m.Intercept); err != nil {
			return err
		}
	}
	if _, _, err := m.FixedWeights(); err != nil {
		return err
	}
	if !hexRE.MatchString(m.DatasetCommitment) {
		return fmt.Errorf("%w: dataset_commitment %q is not 64 lower-case hex digits", ErrInvalid, m.DatasetCommitment)
	}
	mt := m.Metrics
	for _, f := range []struct {
		name string
		v    float64
	}{{"metrics.r2", mt.R2}, {"metrics.residual_sd", mt.ResidualSD}, {"metrics.rmse", mt.RMSE}} {
		if err := finite(f.name, f.v); err != nil {
			return err
		}
	}
	if mt.N <= 0 || mt.R2 > 1 || mt.ResidualSD < 0 || mt.RMSE < 0 {
		return fmt.Errorf("%w: metrics out of range (n %d, r2 %v, residual_sd %v, rmse %v)", ErrInvalid, mt.N, mt.R2, mt.ResidualSD, mt.RMSE)
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
