package model

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/train"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// example is a fixed model whose encoding the golden file pins. Its metrics are derived
// from its integers, as a valid model's must be.
func example() *Model {
	b, bf := -1.25, "-81920"
	m := &Model{
		Format:            Version,
		Kind:              "ridge",
		Lambda:            0.5,
		LambdaFixed:       "2147483648",
		FitIntercept:      true,
		Features:          []string{"age", "court \"appeals\"", "aba\trated", "party<d>"},
		Label:             "days",
		Weights:           []float64{0.1, -2.5e-7, 123456789, -1.5e-5},
		Intercept:         &b,
		WeightsFixed:      []string{"6554", "0", "8090864123904", "-1"},
		InterceptFixed:    &bf,
		FractionBits:      16,
		ValueBits:         48,
		DatasetCommitment: strings.Repeat("0123456789abcdef", 4),
		Metrics: Metrics{
			N: 4548, SSR: "328032622410886246253461504", SumY: "29880303616", SumY2: "321327481107775488",
		},
		OptimalityResidual: "3342188930924544",
	}
	ssr, sumY, sumY2, err := m.ProvenMetrics()
	if err != nil {
		panic(err)
	}
	m.Metrics.R2, m.Metrics.RMSE, m.Metrics.ResidualSD, err = DeriveMetrics(m.Metrics.N, 5, true, 16, ssr, sumY, sumY2)
	if err != nil {
		panic(err)
	}
	return m
}

func sealed(t testing.TB) *Model {
	t.Helper()
	m := example()
	if err := m.Seal(); err != nil {
		t.Fatal(err)
	}
	return m
}

func marshal(t testing.TB, m *Model) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// raw writes m the way Marshal would but without validating it, for files that must fail
// to load on a check other than their encoding.
func raw(t testing.TB, edit func(*Model)) string {
	t.Helper()
	m := example()
	edit(m)
	b, err := m.file()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
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
	m := sealed(t)
	file := marshal(t, m)
	golden(t, "example.model.json", file)
	if got := sha256Hex(file); got != m.SHA256 {
		t.Errorf("sha256 of the file is %s, the model's identity %s", got, m.SHA256)
	}
	back, err := Unmarshal(file)
	if err != nil {
		t.Fatal(err)
	}
	if back.SHA256 != m.SHA256 {
		t.Errorf("loaded identity %s, sealed %s", back.SHA256, m.SHA256)
	}
	// Canonicalizing twice changes nothing.
	if again := marshal(t, back); !bytes.Equal(again, file) {
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
		{"sorted nested", func(m *Model) { m.Metrics.R2, m.Metrics.ResidualSD, m.Metrics.RMSE = 0.5, 2, 1 },
			`"metrics":{"n":4548,"r2":0.5,"residual_sd":2,"rmse":1,"ssr":"328032622410886246253461504","sum_y":"29880303616","sum_y2":"321327481107775488"},`},
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
			file, err := m.file()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(file, append(c, '\n')) {
				t.Errorf("file is not the canonical encoding and one newline:\n%q", file)
			}
		})
	}
}

func TestUnmarshalRejects(t *testing.T) {
	file := marshal(t, sealed(t))
	text := string(file)
	var indented bytes.Buffer
	if err := json.Indent(&indented, file, "", "  "); err != nil {
		t.Fatal(err)
	}
	// Go's encoder writes the same values in struct order with HTML escapes: still the
	// same model, not its canonical encoding.
	goJSON, err := json.Marshal(example())
	if err != nil {
		t.Fatal(err)
	}
	v1, err := os.ReadFile(filepath.Join("testdata", "v1.model.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"not json", "{", ErrSyntax},
		{"array", "[]", ErrSyntax},
		{"trailing data", text + "{}", ErrSyntax},
		{"duplicate key", strings.Replace(text, `"kind":"ridge",`, `"kind":"ridge","kind":"ols",`, 1), ErrSyntax},
		{"unknown key", strings.Replace(text, `"kind":"ridge",`, `"kind":"ridge","note":1,`, 1), ErrInvalid},
		{"sha256 key", strings.Replace(text, `"value_bits":48,`, `"sha256":"`+strings.Repeat("0", 64)+`","value_bits":48,`, 1), ErrInvalid},
		{"key in other case", strings.Replace(text, `"kind":`, `"Kind":`, 1), ErrInvalid},
		{"missing key", strings.Replace(text, `"label":"days",`, ``, 1), ErrInvalid},
		{"unknown metric", strings.Replace(text, `"n":4548,`, `"f1":1,"n":4548,`, 1), ErrInvalid},
		{"missing metric", strings.Replace(text, `"n":4548,`, ``, 1), ErrInvalid},
		{"wrong type", strings.Replace(text, `"fraction_bits":16`, `"fraction_bits":"16"`, 1), ErrSyntax},
		{"float where int", strings.Replace(text, `"fraction_bits":16`, `"fraction_bits":16.5`, 1), ErrSyntax},

		{"v1 file", string(v1), ErrVersion},
		{"unknown version", raw(t, func(m *Model) { m.Format = "comet.model/v3" }), ErrVersion},

		{"re-indented", indented.String(), ErrNotCanonical},
		{"encoding/json", string(goJSON), ErrNotCanonical},
		{"no final newline", strings.TrimSuffix(text, "\n"), ErrNotCanonical},
		{"two final newlines", text + "\n", ErrNotCanonical},
		{"CRLF", strings.TrimSuffix(text, "\n") + "\r\n", ErrNotCanonical},
		{"leading space", " " + text, ErrNotCanonical},
		{"number respelled", strings.Replace(text, `"lambda":0.5,`, `"lambda":5e-1,`, 1), ErrNotCanonical},
		{"string escaped", strings.Replace(text, `"label":"days"`, `"label":"d\u0061ys"`, 1), ErrNotCanonical},
		{"keys reordered", strings.Replace(text, `"kind":"ridge","label":"days",`, `"label":"days","kind":"ridge",`, 1), ErrNotCanonical},

		{"float weight 100× the proven one", raw(t, func(m *Model) { m.Weights[0] = 100 * 6554.0 / 65536 }), ErrInvalid},
		{"float weight just outside its box", raw(t, func(m *Model) { m.Weights[0] = math.Nextafter(6554.5/65536, 1) }), ErrInvalid},
		{"fixed weight moved", strings.Replace(text, `"6554"`, `"6555"`, 1), ErrInvalid},
		{"float intercept off", raw(t, func(m *Model) { *m.Intercept = -1.26 }), ErrInvalid},
		{"r2 edited", raw(t, func(m *Model) { m.Metrics.R2 = 0.5 }), ErrInvalid},
		{"r2 one ulp off", raw(t, func(m *Model) { m.Metrics.R2 = math.Nextafter(m.Metrics.R2, 1) }), ErrInvalid},
		{"rmse edited", raw(t, func(m *Model) { m.Metrics.RMSE = 1 }), ErrInvalid},
		{"residual_sd edited", raw(t, func(m *Model) { m.Metrics.ResidualSD *= 2 }), ErrInvalid},
		{"ssr doubled", raw(t, func(m *Model) { m.Metrics.SSR = "656065244821772492506923008" }), ErrInvalid},
		{"ssr negative", raw(t, func(m *Model) { m.Metrics.SSR = "-1" }), ErrInvalid},
		{"ssr not an integer", raw(t, func(m *Model) { m.Metrics.SSR = "1.5" }), ErrInvalid},
		{"sum_y2 negative", raw(t, func(m *Model) { m.Metrics.SumY2 = "-4" }), ErrInvalid},
		{"sums impossible", raw(t, func(m *Model) { m.Metrics.SumY = "29880303616000" }), ErrInvalid},
		{"n zero", raw(t, func(m *Model) { m.Metrics.N = 0 }), ErrInvalid},
		{"n edited", raw(t, func(m *Model) { m.Metrics.N = 4549 }), ErrInvalid},

		{"leading zero", raw(t, func(m *Model) { m.WeightsFixed[0] = "06554" }), ErrInvalid},
		{"plus sign", raw(t, func(m *Model) { m.WeightsFixed[0] = "+6554" }), ErrInvalid},
		{"minus zero", raw(t, func(m *Model) { m.WeightsFixed[1] = "-0" }), ErrInvalid},
		{"fraction", raw(t, func(m *Model) { m.WeightsFixed[0] = "6554.0" }), ErrInvalid},
		{"empty decimal", raw(t, func(m *Model) { m.OptimalityResidual = "" }), ErrInvalid},
		{"negative residual", raw(t, func(m *Model) { m.OptimalityResidual = "-3" }), ErrInvalid},
		{"huge decimal", raw(t, func(m *Model) { m.OptimalityResidual = strings.Repeat("9", 200) }), ErrInvalid},
		{"weights length", raw(t, func(m *Model) { m.Weights = m.Weights[:3] }), ErrInvalid},
		{"weights_fixed length", raw(t, func(m *Model) { m.WeightsFixed = append(m.WeightsFixed, "1") }), ErrInvalid},
		{"intercept without flag", raw(t, func(m *Model) { m.FitIntercept = false }), ErrInvalid},
		{"flag without intercept_fixed", raw(t, func(m *Model) { m.InterceptFixed = nil }), ErrInvalid},
		{"lambda for ols", raw(t, func(m *Model) { m.Kind = "ols" }), ErrInvalid},
		{"unknown kind", raw(t, func(m *Model) { m.Kind = "lasso" }), ErrInvalid},
		{"lambda_fixed inconsistent", raw(t, func(m *Model) { m.LambdaFixed = "2147483649" }), ErrInvalid},
		{"bad format bits", raw(t, func(m *Model) { m.FractionBits = 48 }), ErrInvalid},
		{"commitment upper case", raw(t, func(m *Model) { m.DatasetCommitment = strings.ToUpper(m.DatasetCommitment) }), ErrInvalid},
		{"commitment short", raw(t, func(m *Model) { m.DatasetCommitment = "abcd" }), ErrInvalid},
		{"repeated feature", raw(t, func(m *Model) { m.Features[1] = "age" }), ErrInvalid},
		{"label is a feature", raw(t, func(m *Model) { m.Label = "age" }), ErrInvalid},
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

// TestErrorsNameTheProblem pins the parts of the messages that tell a user what to fix.
func TestErrorsNameTheProblem(t *testing.T) {
	file := marshal(t, sealed(t))
	v1, err := os.ReadFile(filepath.Join("testdata", "v1.model.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"not canonical", strings.Replace(string(file), `"kind":"ridge"`, `"kind": "ridge"`, 1), []string{"byte 270", `" \"ridge\"`, "re-write"}},
		{"v1", string(v1), []string{`"comet.model/v1"`, "re-trained"}},
		{"float weight", raw(t, func(m *Model) { m.Weights[0] = 10 }), []string{"weights[0]", "6554/2^16"}},
		{"metric", raw(t, func(m *Model) { m.Metrics.R2 = 0.5 }), []string{"metrics.r2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unmarshal([]byte(tc.in))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestSealRefusesFreeFloats(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Model)
	}{
		{"weight 100×", func(m *Model) { m.Weights[0] *= 100 }},
		{"r2", func(m *Model) { m.Metrics.R2 = 0.9 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := example()
			tc.edit(m)
			if err := m.Seal(); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Seal: %v, want ErrInvalid", err)
			}
		})
	}
}

func TestDeriveMetrics(t *testing.T) {
	bi := big.NewInt
	tests := []struct {
		name             string
		n                int64
		p                int
		intercept        bool
		f                int
		ssr, sumY, sumY2 *big.Int
		r2, rmse, resSD  float64
		err              error
	}{
		// SST = 30 − 10²/4 = 5, SSR = 8: R² = 1 − 8/5, RMSE √2, σ̂ √(8/2).
		{"intercept f0", 4, 2, true, 0, bi(8), bi(10), bi(30), -0.6, math.Sqrt2, 2, nil},
		// The same values at f = 1: ssr·2^-4, ΣY·2^-1, ΣY²·2^-2.
		{"intercept f1", 4, 2, true, 1, bi(128), bi(20), bi(120), -0.6, math.Sqrt2, 2, nil},
		// Through the origin SST is uncentered: 1 − 8/30.
		{"origin", 4, 1, false, 0, bi(8), bi(10), bi(30), 11.0 / 15, math.Sqrt2, math.Sqrt(8.0 / 3), nil},
		{"exact fit", 4, 2, true, 3, bi(0), bi(80), bi(2000), 1, 0, 0, nil},
		{"constant label", 2, 1, true, 0, bi(3), bi(2), bi(2), 0, math.Sqrt(1.5), math.Sqrt(3), nil},
		{"all zero", 3, 1, false, 0, bi(0), bi(0), bi(0), 0, 0, 0, nil},
		{"n equals p", 2, 2, true, 0, bi(2), bi(2), bi(4), 0, 1, 0, nil},
		{"n zero", 0, 1, true, 0, bi(0), bi(0), bi(0), 0, 0, 0, ErrInvalid},
		{"ssr negative", 4, 2, true, 0, bi(-1), bi(10), bi(30), 0, 0, 0, ErrInvalid},
		{"sum_y2 negative", 4, 2, false, 0, bi(1), bi(0), bi(-1), 0, 0, 0, ErrInvalid},
		{"cauchy-schwarz", 2, 1, true, 0, bi(1), bi(3), bi(4), 0, 0, 0, ErrInvalid},
		{"nil", 2, 1, true, 0, nil, bi(3), bi(4), 0, 0, 0, ErrInvalid},
		{"fraction bits", 2, 1, true, 62, bi(1), bi(1), bi(1), 0, 0, 0, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r2, rmse, sd, err := DeriveMetrics(tc.n, tc.p, tc.intercept, tc.f, tc.ssr, tc.sumY, tc.sumY2)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if r2 != tc.r2 || rmse != tc.rmse || sd != tc.resSD {
				t.Errorf("r2 %v rmse %v residual_sd %v, want %v %v %v", r2, rmse, sd, tc.r2, tc.rmse, tc.resSD)
			}
		})
	}
}

// TestDeriveMetricsRounding checks the roundings on values whose float64 arithmetic would
// lose the answer: an SSR of 2^200 + 1 units and a 1 − 10^-30 R².
func TestDeriveMetricsRounding(t *testing.T) {
	e30 := new(big.Int).Exp(big.NewInt(10), big.NewInt(30), nil)
	// Without an intercept SST = ΣY² = 10^30 and SSR = 1: R² = 1 − 10^-30 rounds to 1.
	r2, _, _, err := DeriveMetrics(1, 0, false, 0, big.NewInt(1), big.NewInt(1), e30)
	if err != nil || r2 != 1 {
		t.Errorf("r2 %v (%v), want 1", r2, err)
	}
	// SSR = 10^30 − 1 of SST 10^30: 10^-30, which float64 holds to 16 digits.
	r2, _, _, err = DeriveMetrics(1, 0, false, 0, new(big.Int).Sub(e30, big.NewInt(1)), big.NewInt(1), e30)
	if want := 1e-30; err != nil || r2 != want {
		t.Errorf("r2 %v (%v), want %v", r2, err, want)
	}
	// √(4^100) = 2^100 exactly, at f = 0 and after dividing ssr by 2^(4·16).
	ssr := new(big.Int).Lsh(big.NewInt(1), 200)
	for _, f := range []int{0, 16} {
		_, rmse, _, err := DeriveMetrics(1, 0, false, f, new(big.Int).Lsh(ssr, uint(4*f)), big.NewInt(0), big.NewInt(0))
		if want := 0x1p100; err != nil || rmse != want {
			t.Errorf("f %d: rmse %v (%v), want %v", f, rmse, err, want)
		}
	}
}

func TestNewWeights(t *testing.T) {
	tests := []struct {
		name     string
		f        int
		w        int64
		opt      float64
		want     float64
		wantFail bool
	}{
		{"optimum kept", 16, 6554, 0.1, 0.1, false},
		{"optimum on the box edge kept", 1, 1, 0.75, 0.75, false},
		{"optimum just outside the box", 1, 1, math.Nextafter(0.75, 1), 0.5, false},
		{"optimum far off", 16, 6554, 10, 6554.0 / 65536, false},
		{"optimum not a number", 4, -3, math.NaN(), -3.0 / 16, false},
		{"large W exact", 0, 1<<53 - 1, 0, 1<<53 - 1, false},
		{"W beyond float64 at f = 0", 0, 1<<53 + 1, 0, 0, true},
		{"W beyond float64 at f = 1", 1, 1<<54 + 1, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &train.FixedResult{
				Float: &train.Result{
					Options: train.Options{Kind: train.KindOLS}, N: 10, P: 1, Coef: []float64{tc.opt},
				},
				LambdaFixed: new(big.Int), Weights: []int64{tc.w}, Residual: big.NewInt(7),
				SSR: big.NewInt(100), SumY: big.NewInt(-20), SumY2: big.NewInt(300),
			}
			m, err := New(r, Meta{Features: []string{"x"}, Label: "y", Format: fixedpoint.Format{FractionBits: tc.f, ValueBits: 62}, DatasetCommitment: strings.Repeat("cd", 32)})
			if tc.wantFail {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("New: %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Weights[0] != tc.want {
				t.Errorf("weight %v, want %v", m.Weights[0], tc.want)
			}
			if _, err := Unmarshal(marshal(t, m)); err != nil {
				t.Fatal(err)
			}
		})
	}
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
	onDisk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// What sha256sum model.json prints.
	if got := sha256Hex(onDisk); got != m.SHA256 {
		t.Fatalf("sha256sum of the saved file %s, model %s", got, m.SHA256)
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
	ctx := context.Background()
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
		res, err := train.FitFixed(ctx, data, opts)
		if err != nil {
			t.Fatal(err)
		}
		m, err := New(res, Meta{Features: []string{"x1", "x2"}, Label: "y", Format: ft, DatasetCommitment: strings.Repeat("ab", 32)})
		if err != nil {
			t.Fatal(err)
		}
		file := marshal(t, m)
		if sha256Hex(file) != m.SHA256 {
			t.Errorf("%s: identity %s is not the file's digest", opts.Kind, m.SHA256)
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
		// The float weights are the certified optimum wherever it lies in the box.
		for j, v := range back.Weights {
			if inBox(res.Float.Coef[j], w[j], ft.FractionBits) && v != res.Float.Coef[j] {
				t.Errorf("%s: weights[%d] %v, the optimum %v lies in the box", opts.Kind, j, v, res.Float.Coef[j])
			}
		}
		// The proven metrics are those of the rows at W. W may sit a few units of 2^-f from
		// the float optimum along a direction where the residual is flat, so they are near
		// the float model's, not equal.
		params := append([]int64(nil), res.Weights...)
		if opts.Intercept {
			params = append(params, res.Intercept)
		}
		ssr, sumY, sumY2, err := train.Metrics(ctx, data, opts.Intercept, params)
		if err != nil {
			t.Fatal(err)
		}
		gotSSR, gotY, gotY2, err := back.ProvenMetrics()
		if err != nil {
			t.Fatal(err)
		}
		if gotSSR.Cmp(ssr) != 0 || gotY.Cmp(sumY) != 0 || gotY2.Cmp(sumY2) != 0 {
			t.Errorf("%s: file's ssr %v sum_y %v sum_y2 %v, the rows give %v %v %v", opts.Kind, gotSSR, gotY, gotY2, ssr, sumY, sumY2)
		}
		mt, fl := back.Metrics, res.Float
		if math.Abs(mt.R2-fl.R2) > 1e-4 || math.Abs(mt.RMSE-fl.RMSE) > 1e-2*fl.RMSE || math.Abs(mt.ResidualSD-fl.ResidualSD) > 1e-2*fl.ResidualSD {
			t.Errorf("%s: proven r2 %v rmse %v residual_sd %v, float model %v %v %v", opts.Kind, mt.R2, mt.RMSE, mt.ResidualSD, fl.R2, fl.RMSE, fl.ResidualSD)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add(marshal(f, sealed(f)))
	noIntercept := example()
	noIntercept.FitIntercept, noIntercept.Intercept, noIntercept.InterceptFixed = false, nil, nil
	noIntercept.Metrics.R2, noIntercept.Metrics.RMSE, noIntercept.Metrics.ResidualSD = 0, 0, 0
	if ssr, sumY, sumY2, err := noIntercept.ProvenMetrics(); err == nil {
		noIntercept.Metrics.R2, noIntercept.Metrics.RMSE, noIntercept.Metrics.ResidualSD, _ = DeriveMetrics(4548, 4, false, 16, ssr, sumY, sumY2)
	}
	if err := noIntercept.Seal(); err != nil {
		f.Fatal(err)
	}
	f.Add(marshal(f, noIntercept))
	if v1, err := os.ReadFile(filepath.Join("testdata", "v1.model.json")); err == nil {
		f.Add(v1)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":"comet.model/v2","kind":"ols"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Unmarshal(data)
		if err != nil {
			return
		}
		// Whatever loads is its own canonical file, and its identity is the file's digest.
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("loaded model does not marshal: %v", err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("re-marshalled file differs:\n%q\n%q", out, data)
		}
		if m.SHA256 != sha256Hex(data) {
			t.Fatalf("identity %s, file digest %s", m.SHA256, sha256Hex(data))
		}
	})
}
