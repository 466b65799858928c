package proof

import (
	"context"
	"errors"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/prover/train"
)

// small is the shape the soundness tests prove with: 20 rows of 2 features in chunks of 8
// (3 chunks, the last one padded), ridge with an intercept.
var small = dataSpec{
	label: "y", exclude: []string{"id"}, format: fixedpoint.Format{FractionBits: 12, ValueBits: 24}, chunkRows: 8,
	train: train.Options{Kind: train.KindRidge, Lambda: 0.5, Intercept: true}, salt: 1,
}

type proven struct {
	*pipeline
	keys   *setup.Keys
	bundle *Bundle
	work   string
}

func proveSmall(t *testing.T, seed uint64, salt byte) *proven {
	t.Helper()
	dir := t.TempDir()
	spec := small
	spec.salt = salt
	p := commitAndTrain(t, synthetic(t, dir, 20, seed), spec)
	k := keysFor(t, p.shape(), setup.Proving)
	work := filepath.Join(dir, "work")
	var last Progress
	b, err := Prove(context.Background(), k, p.request(), Options{WorkDir: work, Progress: func(pr Progress) { last = pr }})
	if err != nil {
		t.Fatal(err)
	}
	if last.Done != 4 || last.Total != 4 || last.Reused != 0 {
		t.Fatalf("progress %+v, want 4 of 4 proofs, none reused", last)
	}
	return &proven{pipeline: p, keys: k, bundle: b, work: work}
}

func verifyKeys(t *testing.T, s circuit.Shape) *setup.Keys {
	return keysFor(t, s, setup.Verifying)
}

// inputs are the honest verifier's inputs of p: its model, its manifest, its provider.
func (p *pipeline) inputs() Inputs {
	return Inputs{Model: p.model, Manifest: p.manifest, Provider: testProvider}
}

func TestProveVerify(t *testing.T) {
	p := proveSmall(t, 1, 1)
	r, err := Verify(context.Background(), p.bundle, p.inputs(), verifyKeys(t, p.shape()))
	if err != nil {
		for _, c := range r.Checks {
			t.Log(c.Name, c.Passed, c.Detail)
		}
		t.Fatal(err)
	}
	if len(r.Checks) < 10 {
		t.Fatalf("only %d checks", len(r.Checks))
	}
	c := r.Claim()
	if c == nil || c.ModelSHA256 != p.model.SHA256 || c.Provider != testProvider || c.Kind != "ridge" || c.Guarantee.Distance == "" {
		t.Fatalf("claim %+v", c)
	}
	// The bundle survives its JSON encoding.
	data, err := p.bundle.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	b2, err := ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(context.Background(), b2, p.inputs(), verifyKeys(t, p.shape())); err != nil {
		t.Fatal(err)
	}
	again, err := b2.Marshal()
	if err != nil || string(again) != string(data) {
		t.Fatalf("re-encoding changed the bundle (%v)", err)
	}

	// A second run over the same work directory reuses every chunk proof.
	var last Progress
	b3, err := Prove(context.Background(), p.keys, p.request(), Options{WorkDir: p.work, Progress: func(pr Progress) { last = pr }})
	if err != nil {
		t.Fatal(err)
	}
	if last.Reused != 3 || last.Done != 4 {
		t.Fatalf("resumed run: %+v, want the 3 chunk proofs reused", last)
	}
	if b3.Chunks[2].AccOut != p.bundle.Chunks[2].AccOut {
		t.Fatal("resumed run changed the accumulators")
	}
	if _, err := Verify(context.Background(), b3, p.inputs(), verifyKeys(t, p.shape())); err != nil {
		t.Fatal(err)
	}

	// A chunk proof lost or corrupted in the work directory is made again.
	if err := os.Remove(chunkFile(p.work, 1)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chunkFile(p.work, 2), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Prove(context.Background(), p.keys, p.request(), Options{WorkDir: p.work, Progress: func(pr Progress) { last = pr }}); err != nil {
		t.Fatal(err)
	}
	if last.Reused != 1 {
		t.Fatalf("after losing two chunk proofs: %+v, want 1 reused", last)
	}
}

// reseal changes the model's fixed weight j by delta (its float with it) and re-seals it, as a
// provider would who edits the model file.
func reseal(t *testing.T, m *model.Model, j int, delta int64) *model.Model {
	t.Helper()
	return edit(t, m, func(c *model.Model) {
		w, _ := new(big.Int).SetString(c.WeightsFixed[j], 10)
		w.Add(w, big.NewInt(delta))
		c.WeightsFixed[j] = w.String()
		c.Weights[j], _ = new(big.Float).SetMantExp(new(big.Float).SetInt(w), -c.FractionBits).Float64()
	})
}

// edit applies change to a copy of m and re-seals it.
func edit(t *testing.T, m *model.Model, change func(*model.Model)) *model.Model {
	t.Helper()
	c := *m
	c.WeightsFixed = append([]string(nil), m.WeightsFixed...)
	c.Weights = append([]float64(nil), m.Weights...)
	change(&c)
	if err := c.Seal(); err != nil {
		t.Fatal(err)
	}
	return &c
}

// TestSoundness tampers with an honest proof in every way the issue lists; each must fail to
// verify, or be refused by the prover with a clear error.
func TestSoundness(t *testing.T) {
	var verifyFailsFor func(t *testing.T, b *Bundle, in Inputs, keys *setup.Keys)
	p := proveSmall(t, 2, 2)
	other := proveSmall(t, 3, 3) // another dataset of the same shape
	vk := verifyKeys(t, p.shape())
	clone := func() *Bundle {
		data, err := p.bundle.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseBundle(data)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	verifyFails := func(t *testing.T, b *Bundle, m *model.Model, man *commitment.Manifest, keys *setup.Keys) {
		t.Helper()
		verifyFailsFor(t, b, Inputs{Model: m, Manifest: man, Provider: testProvider}, keys)
	}
	verifyFailsFor = func(t *testing.T, b *Bundle, in Inputs, keys *setup.Keys) {
		t.Helper()
		r, err := Verify(context.Background(), b, in, keys)
		if err == nil || r.OK() {
			t.Fatal("tampered proof verified")
		}
		if !errors.Is(err, ErrVerify) {
			t.Fatalf("error %v is not ErrVerify", err)
		}
		t.Logf("refused: %v", err)
	}
	t.Run("weight changed by one unit", func(t *testing.T) {
		for _, delta := range []int64{1, -1} {
			m := reseal(t, p.model, 0, delta)
			b := clone()
			b.ModelSHA256 = m.SHA256
			b.Weights[0] = Int{new(big.Int).Add(b.Weights[0].Int, big.NewInt(delta))}
			verifyFails(t, b, m, p.manifest, vk)
		}
	})
	t.Run("model edited, bundle not", func(t *testing.T) {
		verifyFails(t, clone(), reseal(t, p.model, 1, 1), p.manifest, vk)
	})
	t.Run("tau below the proven one", func(t *testing.T) {
		b := clone()
		b.Tau = Int{new(big.Int).Sub(b.Tau.Int, big.NewInt(1))}
		verifyFails(t, b, p.model, p.manifest, vk)
	})
	t.Run("replayed by another provider", func(t *testing.T) {
		// Provider B takes A's public bundle and model and submits them as its own.
		verifyFailsFor(t, clone(), Inputs{Model: p.model, Manifest: p.manifest, Provider: "provider-b"}, vk)
		b := clone()
		b.Provider = "provider-b"
		verifyFailsFor(t, b, Inputs{Model: p.model, Manifest: p.manifest, Provider: "provider-b"}, vk)
	})
	t.Run("replayed with an edited float weight", func(t *testing.T) {
		// B edits a float weight within the box of the proven integer, so the model file
		// is valid, and re-points the bundle at it.
		m := edit(t, p.model, func(c *model.Model) { c.Weights[0] = math.Nextafter(c.Weights[0], math.Inf(1)) })
		b := clone()
		b.ModelSHA256 = m.SHA256
		verifyFails(t, b, m, p.manifest, vk)
		verifyFailsFor(t, b, Inputs{Model: m, Manifest: p.manifest, Provider: "provider-b"}, vk)
	})
	t.Run("float weight far from the proven one", func(t *testing.T) {
		c := *p.model
		c.Weights = append([]float64(nil), p.model.Weights...)
		c.Weights[0] *= 100
		if err := c.Seal(); !errors.Is(err, model.ErrInvalid) {
			t.Fatalf("Seal of a model with weights[0] 100 times W_0/2^f = %v, want model.ErrInvalid", err)
		}
	})
	t.Run("bundle tau other than the model's residual", func(t *testing.T) {
		b := clone()
		b.Tau = Int{new(big.Int).Lsh(big.NewInt(1), 200)}
		verifyFails(t, b, p.model, p.manifest, vk)
	})
	t.Run("metrics edited in the bundle", func(t *testing.T) {
		b := clone()
		b.Metrics.SSR = Int{new(big.Int).Add(b.Metrics.SSR.Int, big.NewInt(1))}
		verifyFails(t, b, p.model, p.manifest, vk)
	})
	t.Run("chunk dropped", func(t *testing.T) {
		b := clone()
		b.Chunks = append(b.Chunks[:1], b.Chunks[2:]...)
		verifyFails(t, b, p.model, p.manifest, vk)
	})
	t.Run("chunk duplicated", func(t *testing.T) {
		b := clone()
		b.Chunks[2] = b.Chunks[1]
		verifyFails(t, b, p.model, p.manifest, vk)
	})
	t.Run("chunks reordered", func(t *testing.T) {
		b := clone()
		b.Chunks[0], b.Chunks[1] = b.Chunks[1], b.Chunks[0]
		verifyFails(t, b, p.model, p.manifest, vk)
	})
	t.Run("chunks reordered with indices rewritten", func(t *testing.T) {
		b := clone()
		b.Chunks[0], b.Chunks[1] = b.Chunks[1], b.Chunks[0]
		b.Chunks[0].Index, b.Chunks[1].Index = 0, 1
		verifyFails(t, b, p.model, p.manifest, vk)
	})
	t.Run("public input edited", func(t *testing.T) {
		b := clone()
		b.Chunks[1].Public[0][31] ^= 1
		verifyFails(t, b, p.model, p.manifest, vk)
	})
	t.Run("accumulator edited along the chain", func(t *testing.T) {
		b := clone()
		b.Chunks[1].AccOut[31] ^= 1
		b.Chunks[2].AccIn = b.Chunks[1].AccOut
		b.Chunks[1].Public[len(b.Chunks[1].Public)-1] = b.Chunks[1].AccOut
		b.Chunks[2].Public[len(b.Chunks[2].Public)-2] = b.Chunks[2].AccIn
		verifyFails(t, b, p.model, p.manifest, vk)
	})
	t.Run("proof from another dataset", func(t *testing.T) {
		b := clone()
		b.Chunks[1] = other.bundle.Chunks[1]
		verifyFails(t, b, p.model, p.manifest, vk)
	})
	t.Run("whole bundle of another dataset", func(t *testing.T) {
		verifyFails(t, other.bundle, p.model, p.manifest, vk)
	})
	t.Run("final proof of another dataset", func(t *testing.T) {
		b := clone()
		b.Final = other.bundle.Final
		verifyFails(t, b, p.model, p.manifest, vk)
	})
	t.Run("proof from another circuit shape", func(t *testing.T) {
		s := p.shape()
		s.ChunkRows = 16
		verifyFails(t, clone(), p.model, p.manifest, verifyKeys(t, s))
	})
	t.Run("keys of another shape claimed as this one", func(t *testing.T) {
		s := p.shape()
		s.ChunkRows = 16
		k := *verifyKeys(t, s)
		k.Shape = p.shape()
		verifyFails(t, clone(), p.model, p.manifest, &k)
	})

	prove := func(req Request) error {
		_, err := Prove(context.Background(), p.keys, req, Options{})
		return err
	}
	t.Run("different salt", func(t *testing.T) {
		req := p.request()
		req.Salt[0] ^= 1
		if err := prove(req); !errors.Is(err, ErrData) {
			t.Fatalf("Prove = %v, want ErrData", err)
		}
	})
	t.Run("one value changed", func(t *testing.T) {
		req := p.request()
		req.Rows = CSVSource(rewriteCSV(t, p.csv, "-changed", func(l []string) {
			l[5] = strings.Replace(l[5], ",", ",1", 1)
		}), p.manifest)
		if err := prove(req); !errors.Is(err, ErrData) {
			t.Fatalf("Prove = %v, want ErrData", err)
		}
	})
	t.Run("row moved to another chunk", func(t *testing.T) {
		req := p.request()
		req.Rows = CSVSource(rewriteCSV(t, p.csv, "-moved", func(l []string) {
			row := l[3]
			copy(l[3:9], l[4:10])
			l[9] = row // row 3 of chunk 0 is now row 9, in chunk 1
		}), p.manifest)
		if err := prove(req); !errors.Is(err, ErrData) {
			t.Fatalf("Prove = %v, want ErrData", err)
		}
	})
	t.Run("residual below the true one", func(t *testing.T) {
		req := p.request()
		res, _ := new(big.Int).SetString(p.model.OptimalityResidual, 10)
		if res.Sign() == 0 {
			t.Fatal("residual 0: the test needs weights that are not exact")
		}
		req.Model = edit(t, p.model, func(c *model.Model) { c.OptimalityResidual = res.Sub(res, big.NewInt(1)).String() })
		if err := prove(req); !errors.Is(err, ErrTau) {
			t.Fatalf("Prove = %v, want ErrTau", err)
		}
	})
	t.Run("metrics other than the rows'", func(t *testing.T) {
		req := p.request()
		req.Model = reseal(t, p.model, 0, 1) // the weights change, the stated sums do not
		res, _ := new(big.Int).SetString(p.model.OptimalityResidual, 10)
		req.Model = edit(t, req.Model, func(c *model.Model) { c.OptimalityResidual = res.Lsh(res, 20).String() })
		if err := prove(req); !errors.Is(err, ErrMetrics) {
			t.Fatalf("Prove = %v, want ErrMetrics", err)
		}
	})
	t.Run("no provider", func(t *testing.T) {
		req := p.request()
		req.Provider = ""
		if err := prove(req); !errors.Is(err, ErrStatement) {
			t.Fatalf("Prove = %v, want ErrStatement", err)
		}
	})
	t.Run("keys of another shape", func(t *testing.T) {
		s := p.shape()
		s.ChunkRows = 16
		_, err := Prove(context.Background(), keysFor(t, s, setup.Proving), p.request(), Options{})
		if !errors.Is(err, setup.ErrMismatch) {
			t.Fatalf("Prove = %v, want setup.ErrMismatch", err)
		}
	})
	t.Run("parameters that could wrap", func(t *testing.T) {
		req := p.request()
		req.Model = edit(t, p.model, func(c *model.Model) { c.OptimalityResidual = new(big.Int).Lsh(big.NewInt(1), 251).String() })
		if err := prove(req); !errors.Is(err, circuit.ErrBounds) {
			t.Fatalf("Prove = %v, want circuit.ErrBounds", err)
		}
	})
}
