package model

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Canonical returns the canonical encoding of docs/model.md: the JSON object of every field,
// keys sorted by byte value at every level, no whitespace, strings escaped by the rule in
// writeString, floats as strconv.FormatFloat(x, 'g', -1, 64) with -0 written 0, integers in
// plain decimal, absent intercepts as null. The model file is these bytes and one "\n".
func (m *Model) Canonical() ([]byte, error) {
	fields := map[string]any{
		"format":              m.Format,
		"kind":                m.Kind,
		"lambda":              m.Lambda,
		"lambda_fixed":        m.LambdaFixed,
		"fit_intercept":       m.FitIntercept,
		"features":            m.Features,
		"label":               m.Label,
		"weights":             m.Weights,
		"intercept":           m.Intercept,
		"weights_fixed":       m.WeightsFixed,
		"intercept_fixed":     m.InterceptFixed,
		"fraction_bits":       int64(m.FractionBits),
		"value_bits":          int64(m.ValueBits),
		"dataset_commitment":  m.DatasetCommitment,
		"optimality_residual": m.OptimalityResidual,
		"metrics": map[string]any{
			"n":           m.Metrics.N,
			"ssr":         m.Metrics.SSR,
			"sum_y":       m.Metrics.SumY,
			"sum_y2":      m.Metrics.SumY2,
			"r2":          m.Metrics.R2,
			"residual_sd": m.Metrics.ResidualSD,
			"rmse":        m.Metrics.RMSE,
		},
	}
	var b bytes.Buffer
	if err := writeValue(&b, fields); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// file returns the model file's bytes: the canonical encoding and a final newline, so that
// the file is a text file and still exactly one encoding of its values.
func (m *Model) file() ([]byte, error) {
	c, err := m.Canonical()
	if err != nil {
		return nil, err
	}
	return append(c, '\n'), nil
}

func writeValue(b *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case string:
		return writeString(b, v)
	case *string:
		if v == nil {
			b.WriteString("null")
			return nil
		}
		return writeString(b, *v)
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case float64:
		return writeFloat(b, v)
	case *float64:
		if v == nil {
			b.WriteString("null")
			return nil
		}
		return writeFloat(b, *v)
	case []string:
		b.WriteByte('[')
		for i, s := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeString(b, s); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case []float64:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeFloat(b, x); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeString(b, k); err != nil {
				return err
			}
			b.WriteByte(':')
			if err := writeValue(b, v[k]); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("%w: cannot encode %T", ErrInvalid, v)
	}
	return nil
}

func writeFloat(b *bytes.Buffer, x float64) error {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("%w: %v has no JSON encoding", ErrInvalid, x)
	}
	if x == 0 {
		x = 0 // -0 and 0 are one value in JSON
	}
	b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	return nil
}

// writeString writes s quoted: '"' and '\' are escaped with a backslash; U+0008, U+0009,
// U+000A, U+000C and U+000D as \b \t \n \f \r; other code points below U+0020 as \u00xx
// with lower-case hex; everything else as its UTF-8 bytes. Invalid UTF-8 is an error.
func writeString(b *bytes.Buffer, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: string %q is not valid UTF-8", ErrInvalid, s)
	}
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if c < 0x20 {
				fmt.Fprintf(b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return nil
}
