package model

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/train"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// example is a fixed model whose encoding the golden files pin.
func example() *Model {
	b, bf := -1.25, "-81920"
	return &Model{
		Format:             Version,
		Kind:               "ridge",
		Lambda:             0.5,
		LambdaFixed:        "2147483648",
		FitIntercept:       true,
		Features:           []string{"age", "court \"appeals\"", "aba\trated", "party<d>"},
		Label:              "days",
		Weights:            []float64{0.1, -2.5e-7, 123456789, 0},
		Intercept:          &b,
		WeightsFixed:       []string{"6554", "0", "8090812153856", "-1"},
		InterceptFixed:     &bf,
		FractionBits:       16,
		ValueBits:          48,
		DatasetCommitment:  strings.Repeat("0123456789abcdef", 4),
		Metrics:            Metrics{R2: 0.38331, ResidualSD: 62.63, RMSE: 62.53, N: 4548},
		OptimalityResidual: "3342188930924544",
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed:\ngot  %s\nwant %s", name, got, want)
	}
}

func TestGolden(t *testing.T) {
	m := example()
	if err := m.Seal(); err != nil {
		t.Fatal(err)
	}
	c, err := m.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "example.canonical", c)
	file, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "example.model.json", file)
	back, err := Unmarshal(file)
	if err != nil {
		t.Fatal(err)
	}
	again, err := back.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, file) {
		t.Errorf("a second round trip changed the file:\n%s", again)
	}
}

func TestCanonicalRules(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Model)
		want string // a fragment of the canonical encoding
	}{
		{"float shortest", func(m *Model) { m.Weights[0] = 0.1 }, `"weights":[0.1,`},
		{"float exponent", func(m *Model) { m.Weights[0] = 1234567 }, `"weights":[1.234567e+06,`},
		{"small float", func(m *Model) { m.Weights[0] = 0.00001 }, `"weights":[1e-05,`},
		{"negative zero", func(m *Model) { m.Weights[0] = math.Copysign(0, -1) }, `"weights":[0,`},
		{"no intercept", func(m *Model) { m.FitIntercept, m.Intercept, m.InterceptFixed = false, nil, nil }, `"intercept":null,"intercept_fixed":null,`},
		{"escapes", func(m *Model) { m.Label = "a\"\\\b\f\n\r\t\x01</>é" }, `"label":"a\"\\\b\f\n\r\t\u0001</>é"`},
		{"sorted nested", func(m *Model) {}, `"metrics":{"n":4548,"r2":0.38331,"residual_sd":62.63,"rmse":62.53}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := example()
			tc.edit(m)
			c, err := m.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(c, []byte(tc.want)) {
				t.Errorf("canonical encoding lacks %s:\n%s", tc.want, c)
			}
			if bytes.Contains(c, []byte("sha256")) || bytes.ContainsAny(c, "\n") || bytes.Contains(c, []byte(`": `)) {
				t.Errorf("canonical encoding has sha256 or whitespace:\n%s", c)
			}
		})
	}
}

func TestUnmarshalRejects(t *testing.T) {
	m := example()
	if err := m.Seal(); err != nil {
		t.Fatal(err)
	}
	file, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	text := string(file)
	// reseal re-hashes after an edit, so that the check under test, not the hash, fails.
	reseal := func(edit func(*Model)) string {
		c := example()
		edit(c)
		c.SHA256, _ = c.Hash()
		b, err := rawFile(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"not json", "{", ErrSyntax},
		{"array", "[]", ErrSyntax},
		{"trailing data", text + "{}", ErrSyntax},
		{"duplicate key", strings.Replace(text, `"kind": "ridge",`, `"kind": "ridge", "kind": "ols",`, 1), ErrSyntax},
		{"unknown key", strings.Replace(text, `"kind": "ridge",`, `"kind": "ridge", "note": 1,`, 1), ErrInvalid},
		{"key in other case", strings.Replace(text, `"kind":`, `"Kind":`, 1), ErrInvalid},
		{"missing key", strings.Replace(text, `"label": "days",`, ``, 1), ErrInvalid},
		{"unknown metric", strings.Replace(text, `"n": 4548`, `"n": 4548, "f1": 1`, 1), ErrInvalid},
		{"hash mismatch", strings.Replace(text, `"days"`, `"dayz"`, 1), ErrHash},
		{"weight changed", strings.Replace(text, `"6554"`, `"6555"`, 1), ErrHash},
		{"unknown version", reseal(func(m *Model) { m.Format = "comet.model/v2" }), ErrVersion},
		{"leading zero", reseal(func(m *Model) { m.WeightsFixed[0] = "06554" }), ErrInvalid},
		{"plus sign", reseal(func(m *Model) { m.WeightsFixed[0] = "+6554" }), ErrInvalid},
		{"minus zero", reseal(func(m *Model) { m.WeightsFixed[1] = "-0" }), ErrInvalid},
		{"fraction", reseal(func(m *Model) { m.WeightsFixed[0] = "6554.0" }), ErrInvalid},
		{"empty decimal", reseal(func(m *Model) { m.OptimalityResidual = "" }), ErrInvalid},
		{"negative residual", reseal(func(m *Model) { m.OptimalityResidual = "-3" }), ErrInvalid},
		{"huge decimal", reseal(func(m *Model) { m.OptimalityResidual = strings.Repeat("9", 200) }), ErrInvalid},
		{"weights length", reseal(func(m *Model) { m.Weights = m.Weights[:3] }), ErrInvalid},
		{"weights_fixed length", reseal(func(m *Model) { m.WeightsFixed = append(m.WeightsFixed, "1") }), ErrInvalid},
		{"intercept without flag", reseal(func(m *Model) { m.FitIntercept = false }), ErrInvalid},
		{"flag without intercept_fixed", reseal(func(m *Model) { m.InterceptFixed = nil }), ErrInvalid},
		{"lambda for ols", reseal(func(m *Model) { m.Kind = "ols" }), ErrInvalid},
		{"unknown kind", reseal(func(m *Model) { m.Kind = "lasso" }), ErrInvalid},
		{"lambda_fixed inconsistent", reseal(func(m *Model) { m.LambdaFixed = "2147483649" }), ErrInvalid},
		{"bad format bits", reseal(func(m *Model) { m.FractionBits = 48 }), ErrInvalid},
		{"commitment upper case", reseal(func(m *Model) { m.DatasetCommitment = strings.ToUpper(m.DatasetCommitment) }), ErrInvalid},
		{"commitment short", reseal(func(m *Model) { m.DatasetCommitment = "abcd" }), ErrInvalid},
		{"repeated feature", reseal(func(m *Model) { m.Features[1] = "age" }), ErrInvalid},
		{"label is a feature", reseal(func(m *Model) { m.Label = "age" }), ErrInvalid},
		{"n zero", reseal(func(m *Model) { m.Metrics.N = 0 }), ErrInvalid},
		{"r2 above one", reseal(func(m *Model) { m.Metrics.R2 = 1.5 }), ErrInvalid},
		{"wrong type", strings.Replace(text, `"fraction_bits": 16`, `"fraction_bits": "16"`, 1), ErrSyntax},
		{"float where int", strings.Replace(text, `"fraction_bits": 16`, `"fraction_bits": 16.5`, 1), ErrSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unmarshal([]byte(tc.in))
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

// rawFile writes m as a file without verifying it, for inputs that must fail to load.
func rawFile(m *Model) (string, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	return string(b), err
}

func TestSaveLoad(t *testing.T) {
	ctx := context.Background()
	m := example()
	path := filepath.Join(t.TempDir(), "model.json")
	if err := Save(ctx, path, m); !errors.Is(err, ErrHash) {
		t.Fatalf("saving an unsealed model: %v, want ErrHash", err)
	}
	if err := m.Seal(); err != nil {
		t.Fatal(err)
	}
	if err := Save(ctx, path, m); err != nil {
		t.Fatal(err)
	}
	back, err := Load(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if back.SHA256 != m.SHA256 {
		t.Fatalf("loaded hash %s, saved %s", back.SHA256, m.SHA256)
	}
	if _, err := Load(ctx, filepath.Join(t.TempDir(), "absent.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestNewFromTraining(t *testing.T) {
	ft := fixedpoint.Format{FractionBits: 12, ValueBits: 40}
	rng := rand.New(rand.NewPCG(3, 4))
	n, d := 200, 2
	data := train.FixedData{N: n, D: d, Format: ft, Values: make([]int64, n*(d+1))}
	for i := 0; i < n; i++ {
		x1, x2 := rng.NormFloat64(), rng.NormFloat64()*4
		for j, v := range []float64{x1, x2, 2*x1 - 0.5*x2 + 3 + 0.1*rng.NormFloat64()} {
			data.Values[i*(d+1)+j], _ = ft.FromFloat(v)
		}
	}
	for _, opts := range []train.Options{{Kind: train.KindOLS}, {Kind: train.KindRidge, Lambda: 0.75, Intercept: true}} {
		res, err := train.FitFixed(context.Background(), data, opts)
		if err != nil {
			t.Fatal(err)
		}
		m, err := New(res, Meta{Features: []string{"x1", "x2"}, Label: "y", Format: ft, DatasetCommitment: strings.Repeat("ab", 32)})
		if err != nil {
			t.Fatal(err)
		}
		file, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Unmarshal(file)
		if err != nil {
			t.Fatal(err)
		}
		w, b, err := back.FixedWeights()
		if err != nil {
			t.Fatal(err)
		}
		if w[0].Int64() != res.Weights[0] || w[1].Int64() != res.Weights[1] || (b != nil) != opts.Intercept {
			t.Errorf("%s: fixed weights %v %v, trained %v %v", opts.Kind, w, b, res.Weights, res.Intercept)
		}
		if back.OptimalityResidual != res.Residual.String() || back.LambdaFixed != res.LambdaFixed.String() {
			t.Errorf("%s: residual %s lambda_fixed %s", opts.Kind, back.OptimalityResidual, back.LambdaFixed)
		}
	}
}

func FuzzLoad(f *testing.F) {
	m := example()
	if err := m.Seal(); err != nil {
		f.Fatal(err)
	}
	file, err := m.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(file)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":"comet.model/v1","kind":"ols"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Unmarshal(data)
		if err != nil {
			return
		}
		// Whatever loads must write back to a file that loads to the same hash.
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("loaded model does not marshal: %v", err)
		}
		back, err := Unmarshal(out)
		if err != nil || back.SHA256 != m.SHA256 {
			t.Fatalf("round trip: %v, hash %s vs %s", err, back.SHA256, m.SHA256)
		}
	})
}
