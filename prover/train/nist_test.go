package train

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/comet-attest/comet/internal/shareddata"
)

type nistCertified struct {
	Datasets map[string]struct {
		File             string   `json:"file"`
		Intercept        bool     `json:"intercept"`
		PolynomialDegree *int     `json:"polynomial_degree"`
		DesignColumns    []string `json:"design_columns"`
		DataLines        [2]int   `json:"data_lines"`
		Certified        struct {
			Parameters []struct {
				Name     string `json:"name"`
				Estimate string `json:"estimate"`
				StdDev   string `json:"std_dev"`
			} `json:"parameters"`
			ResidualSD string `json:"residual_sd"`
			RSquared   string `json:"r_squared"`
		} `json:"certified"`
	} `json:"datasets"`
}

// readNISTData parses the data section (1-based inclusive line range) of a StRD .dat file:
// whitespace-separated numbers, the response first.
func readNISTData(t *testing.T, path string, lines [2]int) [][]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]float64
	sc := bufio.NewScanner(f)
	for ln := 1; sc.Scan(); ln++ {
		if ln < lines[0] || ln > lines[1] {
			continue
		}
		var row []float64
		for _, field := range strings.Fields(sc.Text()) {
			v, err := strconv.ParseFloat(field, 64)
			if err != nil {
				t.Fatalf("%s line %d: %v", path, ln, err)
			}
			row = append(row, v)
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) != lines[1]-lines[0]+1 {
		t.Fatalf("%s: %d data rows, want %d", path, len(rows), lines[1]-lines[0]+1)
	}
	return rows
}

// lre is the log relative error -log10(|est−cert|/|cert|), or -log10|est| when cert is 0,
// capped at 15 (the certified values have 15 significant digits).
func lre(est float64, cert string) float64 {
	c, err := strconv.ParseFloat(cert, 64)
	if err != nil {
		return math.NaN()
	}
	var v float64
	if c == 0 {
		v = -math.Log10(math.Abs(est))
	} else {
		v = -math.Log10(math.Abs(est-c) / math.Abs(c))
	}
	return math.Min(v, 15)
}

func TestNISTCertified(t *testing.T) {
	root := shareddata.Path(t, "data", "nist-strd")
	raw, err := os.ReadFile(filepath.Join(root, "certified.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cert nistCertified
	if err := json.Unmarshal(raw, &cert); err != nil {
		t.Fatal(err)
	}
	if len(cert.Datasets) != 11 {
		t.Fatalf("certified.json has %d datasets, want 11", len(cert.Datasets))
	}
	names := make([]string, 0, len(cert.Datasets))
	for name := range cert.Datasets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ds := cert.Datasets[name]
		t.Run(name, func(t *testing.T) {
			rows := readNISTData(t, filepath.Join(root, ds.File), ds.DataLines)
			y := make([]float64, len(rows))
			for i, r := range rows {
				y[i] = r[0]
			}
			var x Matrix
			if ds.PolynomialDegree != nil && len(rows[0]) == 2 {
				xs := make([]float64, len(rows))
				for i, r := range rows {
					xs[i] = r[1]
				}
				x = Polynomial(xs, *ds.PolynomialDegree)
			} else {
				feats := make([][]float64, len(rows))
				for i, r := range rows {
					feats[i] = r[1:]
				}
				if x, err = NewMatrix(feats); err != nil {
					t.Fatal(err)
				}
			}
			if want := len(ds.DesignColumns); x.Cols+boolToInt(ds.Intercept) != want {
				t.Fatalf("design has %d columns, certified.json lists %d", x.Cols+boolToInt(ds.Intercept), want)
			}
			res, err := Fit(context.Background(), x, y, Options{Kind: KindOLS, Intercept: ds.Intercept})
			if err != nil {
				t.Fatal(err)
			}
			est, se := res.Coef, res.CoefSE
			if ds.Intercept {
				est = append([]float64{res.Intercept}, est...)
				se = append([]float64{res.InterceptSE}, se...)
			}
			worstCoef, worstSD := math.Inf(1), math.Inf(1)
			for j, p := range ds.Certified.Parameters {
				if l := lre(est[j], p.Estimate); !(l >= 12) {
					t.Errorf("%s = %.15g, certified %s: LRE %.2f < 12", p.Name, est[j], p.Estimate, l)
				} else {
					worstCoef = math.Min(worstCoef, l)
				}
				if l := lre(se[j], p.StdDev); !(l >= 10) {
					t.Errorf("sd(%s) = %.15g, certified %s: LRE %.2f < 10", p.Name, se[j], p.StdDev, l)
				} else {
					worstSD = math.Min(worstSD, l)
				}
			}
			lSD := lre(res.ResidualSD, ds.Certified.ResidualSD)
			lR2 := lre(res.R2, ds.Certified.RSquared)
			if !(lSD >= 10) {
				t.Errorf("residual SD %.15g, certified %s: LRE %.2f < 10", res.ResidualSD, ds.Certified.ResidualSD, lSD)
			}
			if !(lR2 >= 10) {
				t.Errorf("R² %.15g, certified %s: LRE %.2f < 10", res.R2, ds.Certified.RSquared, lR2)
			}
			t.Logf("%-8s worst LRE: coefficients %5.2f  std devs %5.2f  residual SD %5.2f  R² %5.2f  (cond %.2g, %d refinements)",
				name, worstCoef, worstSD, lSD, lR2, res.Cond, res.Refinements)
		})
	}
}
