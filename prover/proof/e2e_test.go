package proof

import (
	"context"
	"testing"
	"time"

	"github.com/comet-attest/comet/internal/shareddata"
	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/prover/train"
)

// TestEndToEnd takes real datasets from CSV to a verified proof: commit, train, set up keys,
// prove, encode, parse and verify, with only the manifest, the model and the verifying keys
// on the verifier's side.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("proves a dataset end to end (5 s)")
	}
	tmp := t.TempDir()
	cases := []struct {
		name string
		csv  func() string
		spec dataSpec
	}{
		{"NIST Longley (OLS, intercept)", func() string {
			return shareddata.NISTCSV(t, "Longley", tmp, "y", "x1", "x2", "x3", "x4", "x5", "x6")
		}, dataSpec{label: "y", format: fixedpoint.Default, chunkRows: 16, train: train.Options{Kind: train.KindOLS, Intercept: true}, salt: 11}},
		{"NIST Norris (ridge, intercept)", func() string {
			return shareddata.NISTCSV(t, "Norris", tmp, "y", "x")
		}, dataSpec{label: "y", format: fixedpoint.Default, chunkRows: 16, train: train.Options{Kind: train.KindRidge, Lambda: 1, Intercept: true}, salt: 12}},
	}
	if !testing.Short() {
		cases = append(cases, struct {
			name string
			csv  func() string
			spec dataSpec
		}{"FJC confirmation days (OLS, intercept, 4,548 rows)", func() string {
			return shareddata.Path(t, "data", "legal", "fjc_confirmation_days.csv")
		}, dataSpec{label: "days_nomination_to_confirmation", exclude: []string{"nid", "sequence"}, format: fixedpoint.Format{FractionBits: 16, ValueBits: 32},
			chunkRows: 512, train: train.Options{Kind: train.KindOLS, Intercept: true}, salt: 13}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			p := commitAndTrain(t, c.csv(), c.spec)
			start := time.Now()
			keys := keysFor(t, p.shape(), setup.Proving)
			setupTime := time.Since(start)
			start = time.Now()
			b, err := Prove(ctx, keys, p.request(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			proveTime := time.Since(start)
			data, err := b.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := ParseBundle(data)
			if err != nil {
				t.Fatal(err)
			}
			start = time.Now()
			r, err := Verify(ctx, parsed, p.inputs(), keysFor(t, p.shape(), setup.Verifying))
			if err != nil {
				for _, c := range r.Checks {
					t.Log(c.Name, c.Passed, c.Detail)
				}
				t.Fatal(err)
			}
			t.Logf("n=%d d=%d %s: %d chunks, %d chunk constraints; setup %v, prove %v (%.0f row-features/s), verify %v, bundle %d bytes, tau %s",
				p.manifest.N, p.manifest.D, p.shape(), len(b.Chunks), keys.Chunk.Constraints, setupTime.Round(time.Millisecond),
				proveTime.Round(time.Millisecond), float64(p.manifest.N*p.manifest.D)/proveTime.Seconds(),
				time.Since(start).Round(time.Millisecond), len(data), b.Tau)
		})
	}
}
