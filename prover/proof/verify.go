package proof

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/setup"
)

// ErrVerify means at least one required check failed; the Report says which.
var ErrVerify = errors.New("proof verification failed")

// Check is one line of a verification report.
type Check struct {
	Name   string
	Passed bool
	Detail string
}

// Report lists every check Verify made, in order. A check that could not run because an
// earlier one failed is listed as not passed, never as passed.
type Report struct {
	Checks []Check
	claim  *Claim
}

// OK reports whether every check passed.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if !c.Passed {
			return false
		}
	}
	return len(r.Checks) > 0
}

// Failure is the first check that did not pass, nil when every one did: the cause, where the
// checks after it may only say that they did not run.
func (r *Report) Failure() *Check {
	for i := range r.Checks {
		if !r.Checks[i].Passed {
			return &r.Checks[i]
		}
	}
	return nil
}

// Failed names the checks that did not pass.
func (r *Report) Failed() []string {
	var out []string
	for _, c := range r.Checks {
		if !c.Passed {
			out = append(out, c.Name)
		}
	}
	return out
}

// result is the report with ErrVerify naming the first failure, if any.
func (r *Report) result() (*Report, error) {
	if r.OK() {
		return r, nil
	}
	if c := r.Failure(); c != nil {
		return r, fmt.Errorf("%w: %s: %s", ErrVerify, c.Name, c.Detail)
	}
	return r, ErrVerify
}

// notChecked adds the checks that cannot run after a failure, as failed, and returns the
// result.
func (r *Report) notChecked(names ...string) (*Report, error) {
	for _, n := range names {
		r.add(n, errors.New("not checked: an earlier check failed"), "")
	}
	return r.result()
}

func (r *Report) add(name string, err error, detail string) bool {
	c := Check{Name: name, Passed: err == nil, Detail: detail}
	if err != nil {
		c.Detail = err.Error()
	}
	r.Checks = append(r.Checks, c)
	return err == nil
}

// Inputs are what a verifier takes from elsewhere than the bundle: the model file and the
// manifest it names, and the provider the proof must be bound to (the one submitting it, or
// the one an attestation names).
type Inputs struct {
	Model    *model.Model
	Manifest *commitment.Manifest
	Provider string
}

// Verify checks the bundle b against the model, the manifest and the provider, with
// verifying keys the caller trusts (never keys that came with the bundle). It needs no data
// and no salt. The report lists each check; the error is nil only when all of them pass.
func Verify(ctx context.Context, b *Bundle, in Inputs, keys *setup.Keys) (*Report, error) {
	r := &Report{}
	done, notChecked := r.result, r.notChecked
	if !r.add("bundle structure", b.validate(), BundleFormat) {
		return notChecked("statement: manifest, model and bounds", "chunk proofs verify", "final proof verifies")
	}
	m, man := in.Model, in.Manifest
	st, err := boundStatement(man, m, in.Provider)
	if !r.add("statement: manifest, model and bounds", err, fmt.Sprintf("C = %s, model %s, n = %d, d = %d", man.Commitment, m.SHA256, man.N, man.D)) {
		return notChecked("chunk proofs verify", "final proof verifies")
	}
	r.add("bit bounds: no wrap-around", nil, fmt.Sprintf("every sum < 2^%d < 2^%d", st.boundBits, circuit.GapBits-1))
	r.add("bundle is bound to this model file", equal("model sha256", b.ModelSHA256, m.SHA256), "sha256 "+m.SHA256)
	r.add("bundle is bound to this provider", equal("provider", b.Provider, st.provider), st.provider)
	r.add("bundle names this dataset", sameDataset(b.Header, b.DatasetCommitment, b.ChunkCommitments, man), fmt.Sprintf("C recomputed from the header and %d chunk commitments", len(man.ChunkCommitments)))
	r.add("bundle carries the model's weights, lambda, tau and metrics", bundleStatement(b, st),
		fmt.Sprintf("tau = optimality_residual = %s (units 2^-%d)", st.tau, 3*st.shape.FractionBits))
	r.add("circuit shape", shapeCheck(b, st, keys), st.shape.String())
	vkErr := vkCheck(b, keys)
	r.add("verifying keys are the trusted ones", vkErr, fmt.Sprintf("chunk %s, final %s", keys.Chunk.VKSHA256, keys.Final.VKSHA256))
	chainErr := chain(b.Chunks, b.Final, st.header, circuit.ZeroAccumulator(st.shape))
	r.add("chunk proofs form one chain over every chunk in order", chainErr, fmt.Sprintf("%d chunks", len(st.chunks)))
	if vkErr != nil || chainErr != nil || !r.OK() {
		return notChecked("chunk proofs verify", "final proof verifies")
	}
	r.add("chunk proofs verify", chunkProofs(ctx, b.Chunks, keys.Chunk, st.chunkPublic), fmt.Sprintf("%d Groth16 proofs", len(b.Chunks)))
	acc, _ := b.Final.Acc.Element()
	public := st.finalPublic(acc)
	err = equalPublic("final", b.Final.Public, public)
	if err == nil {
		err = verifyProof(keys.Final.VK, b.Final.Proof.Proof, public)
	}
	r.add("final proof verifies", err, fmt.Sprintf("|X^T(Xw - y) + lambda w|_inf <= %s / 2^%d; ssr, sum_y, sum_y2 as the model states; bound to the model file and the provider",
		st.tau, 3*st.shape.FractionBits))
	if r.OK() {
		r.claim = newClaim(b, st, m, guarantee(st))
	}
	return done()
}

func equal(what, got, want string) error {
	if got != want {
		return fmt.Errorf("%s %s, want %s", what, got, want)
	}
	return nil
}

// sameDataset checks that a bundle's header, dataset commitment and chunk commitments are the
// manifest's.
func sameDataset(h commitment.Header, c commitment.Digest, chunks []commitment.Digest, man *commitment.Manifest) error {
	if h != man.Header {
		return fmt.Errorf("bundle header %+v, manifest %+v", h, man.Header)
	}
	if c != man.Commitment {
		return fmt.Errorf("bundle dataset %s, manifest %s", c, man.Commitment)
	}
	if len(chunks) != len(man.ChunkCommitments) {
		return fmt.Errorf("bundle lists %d chunk commitments, the manifest %d", len(chunks), len(man.ChunkCommitments))
	}
	for i := range man.ChunkCommitments {
		if chunks[i] != man.ChunkCommitments[i] {
			return fmt.Errorf("chunk commitment %d differs from the manifest's", i)
		}
	}
	// man.Validate (in newStatement) recomputed C from the manifest's header and chunks, and
	// the bundle's are equal to them.
	return nil
}

func bundleStatement(b *Bundle, st *statement) error {
	for j := range st.weights {
		if b.Weights[j].Cmp(st.weights[j]) != 0 {
			return fmt.Errorf("weight %d is %s in the bundle, %s in the model", j, b.Weights[j], st.weights[j])
		}
	}
	if b.LambdaFixed.Cmp(st.lambda) != 0 {
		return fmt.Errorf("lambda_fixed %s in the bundle, %s in the model", b.LambdaFixed, st.lambda)
	}
	if b.Tau.Cmp(st.tau) != 0 {
		return fmt.Errorf("tau %s in the bundle, the model's optimality_residual is %s", b.Tau, st.tau)
	}
	for _, c := range []struct {
		name      string
		got, want *big.Int
	}{{"ssr", b.Metrics.SSR.Int, st.ssr}, {"sum_y", b.Metrics.SumY.Int, st.sumY}, {"sum_y2", b.Metrics.SumY2.Int, st.sumY2}} {
		if c.got.Cmp(c.want) != 0 {
			return fmt.Errorf("metrics.%s %s in the bundle, %s in the model", c.name, c.got, c.want)
		}
	}
	return nil
}

func shapeCheck(b *Bundle, st *statement, keys *setup.Keys) error {
	switch {
	case b.Shape != st.shape:
		return fmt.Errorf("bundle shape %s, the manifest and model make %s", b.Shape, st.shape)
	case keys.Keyed() != circuit.Keyed(st.shape):
		return fmt.Errorf("%w: trusted keys are for %s, the statement needs %s", setup.ErrMismatch, keys.Keyed(), st.shape)
	}
	return nil
}

func vkCheck(b *Bundle, keys *setup.Keys) error {
	for _, c := range []circuit.Circuit{circuit.ChunkCircuit, circuit.FinalCircuit} {
		got, want := b.Circuits[string(c)], keys.Circuit(c)
		if got.ID != want.ID || got.VKSHA256 != want.VKSHA256 {
			return fmt.Errorf("%s circuit: bundle names %s with vk %s, the trusted key is %s with vk %s", c, got.ID, got.VKSHA256, want.ID, want.VKSHA256)
		}
	}
	return nil
}

// chain checks the accumulator chain: chunk i is at position i with m_i rows, chunk 0 starts
// from the zero accumulator, each chunk starts where the one before ended, and the final
// proof opens the last. With the proofs, this makes every chunk count exactly once.
func chain(chunks []ChunkProof, final FinalProof, h commitment.Header, zero circuit.Accumulator) error {
	if len(chunks) != h.Chunks() {
		return fmt.Errorf("%d chunk proofs, the header has %d chunks", len(chunks), h.Chunks())
	}
	prev := commitment.DigestOf(zero.Commitment())
	for i, c := range chunks {
		switch {
		case c.Index != i:
			return fmt.Errorf("position %d holds chunk %d", i, c.Index)
		case c.Rows != h.ChunkLen(i):
			return fmt.Errorf("chunk %d claims %d rows, the header gives %d", i, c.Rows, h.ChunkLen(i))
		case c.AccIn != prev:
			return fmt.Errorf("chunk %d does not continue chunk %d's running sum", i, i-1)
		}
		prev = c.AccOut
	}
	if final.Acc != prev {
		return errors.New("the final proof does not open the last chunk's running sum")
	}
	return nil
}

// equalPublic compares a bundle's listed public inputs with the ones the verifier rebuilt.
func equalPublic(what string, listed []commitment.Digest, public []fr.Element) error {
	if !sameDigests(listed, public) {
		return fmt.Errorf("%s: the bundle's public inputs differ from the statement's", what)
	}
	return nil
}

// chunkProofs verifies every chunk proof with key against the public inputs public rebuilds
// from the manifest, the model and the chain; it reports every failing chunk.
func chunkProofs(ctx context.Context, chunks []ChunkProof, key setup.Circuit, public func(i int, in, out fr.Element) []fr.Element) error {
	var bad []string
	for i, c := range chunks {
		if err := ctx.Err(); err != nil {
			return err
		}
		in, err1 := c.AccIn.Element()
		out, err2 := c.AccOut.Element()
		if err := errors.Join(err1, err2); err != nil {
			bad = append(bad, fmt.Sprintf("chunk %d: %v", i, err))
			continue
		}
		want := public(i, in, out)
		if err := equalPublic(fmt.Sprintf("chunk %d", i), c.Public, want); err != nil {
			bad = append(bad, err.Error())
			continue
		}
		if err := verifyProof(key.VK, c.Proof.Proof, want); err != nil {
			bad = append(bad, fmt.Sprintf("chunk %d: %v", i, err))
		}
	}
	if len(bad) > 0 {
		if len(bad) > 5 {
			bad = append(bad[:5], fmt.Sprintf("and %d more", len(bad)-5))
		}
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}
