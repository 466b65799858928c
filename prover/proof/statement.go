package proof

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"unicode/utf8"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
)

// ErrStatement means the manifest, the model and the provider do not make a statement that
// can be proven: they disagree with each other, or the bounds could wrap.
var ErrStatement = errors.New("cannot state the claim")

// providerTag separates provider digests from every other SHA-256 in Comet.
const providerTag = "comet/provider/v1\x00"

// maxProviderBytes bounds a provider identity; the registry's ids are far shorter.
const maxProviderBytes = 256

// ProviderDigest is the provider identity a proof is bound to: SHA-256 of "comet/provider/v1",
// a zero byte, and the provider's id as the registry knows it (docs/proof.md).
func ProviderDigest(id string) [32]byte {
	return sha256.Sum256([]byte(providerTag + id))
}

func checkProvider(id string) error {
	switch {
	case id == "":
		return errors.New("no provider: a proof is bound to the provider's id (comet prove --provider)")
	case len(id) > maxProviderBytes || !utf8.ValidString(id):
		return fmt.Errorf("provider id %q is not valid UTF-8 of at most %d bytes", id, maxProviderBytes)
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("provider id %q holds a control character", id)
		}
	}
	return nil
}

// statement is the public claim: the shape, the dataset, the model's integers, tau, the
// proven training sums, and what the final proof is bound to.
type statement struct {
	shape   circuit.Shape
	header  commitment.Header
	chunks  []fr.Element
	weights []*big.Int
	lambda  *big.Int
	tau     *big.Int
	// ssr, sumY and sumY2 are the training sums the model file states; the proof makes
	// them public and the verifier compares.
	ssr, sumY, sumY2 *big.Int
	provider         string
	binding          circuit.Binding
	// boundBits is the bit length of CheckBounds' bound.
	boundBits int
}

// boundStatement is newStatement bound to the provider's id, as Prove and Verify need it.
func boundStatement(man *commitment.Manifest, m *model.Model, provider string) (*statement, error) {
	if err := checkProvider(provider); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	st, err := newStatement(man, m)
	if err != nil {
		return nil, err
	}
	st.provider = provider
	st.binding.Provider = ProviderDigest(provider)
	return st, nil
}

// newStatement derives the claim from a manifest and a model, and runs the bound check, the
// one place where parameters that could wrap are refused. tau is always the model's
// optimality_residual: a proof of a looser bound would attest a model that says one thing
// while its proof says another.
func newStatement(man *commitment.Manifest, m *model.Model) (*statement, error) {
	if err := man.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	if err := m.Verify(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	if err := agree(man, m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	w, err := weights(m)
	if err != nil {
		return nil, err
	}
	lambda, ok := new(big.Int).SetString(m.LambdaFixed, 10)
	if !ok {
		return nil, fmt.Errorf("%w: lambda_fixed %q", ErrStatement, m.LambdaFixed)
	}
	tau, ok := new(big.Int).SetString(m.OptimalityResidual, 10)
	if !ok {
		return nil, fmt.Errorf("%w: optimality_residual %q", ErrStatement, m.OptimalityResidual)
	}
	ssr, sumY, sumY2, err := m.ProvenMetrics()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	st := &statement{shape: circuit.ShapeOf(man.Header, m.FitIntercept), header: man.Header, weights: w,
		lambda: lambda, tau: tau, ssr: ssr, sumY: sumY, sumY2: sumY2}
	if st.binding.Model, st.chunks, err = modelAndChunks(man, m); err != nil {
		return nil, err
	}
	st.boundBits, err = circuit.CheckBounds(circuit.Statement{Shape: st.shape, N: man.N, Weights: w, Lambda: lambda, Tau: tau})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	return st, nil
}

// weights are the model's fixed-point weights in the circuits' order, the intercept's last.
func weights(m *model.Model) ([]*big.Int, error) {
	w, intercept, err := m.FixedWeights()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	if intercept != nil {
		w = append(w, intercept)
	}
	return w, nil
}

// modelAndChunks are the model file's digest, which a final proof is bound to, and the
// manifest's chunk commitments as field elements.
func modelAndChunks(man *commitment.Manifest, m *model.Model) ([32]byte, []fr.Element, error) {
	var sum [32]byte
	digest, err := hex.DecodeString(m.SHA256)
	if err != nil || len(digest) != 32 {
		return sum, nil, fmt.Errorf("%w: model sha256 %q", ErrStatement, m.SHA256)
	}
	copy(sum[:], digest)
	chunks := make([]fr.Element, len(man.ChunkCommitments))
	for i, d := range man.ChunkCommitments {
		if chunks[i], err = d.Element(); err != nil {
			return sum, nil, fmt.Errorf("%w: chunk %d: %w", ErrStatement, i, err)
		}
	}
	return sum, chunks, nil
}

// agree checks that the model was trained on the manifest's dataset, in its format and with
// its columns and row count.
func agree(man *commitment.Manifest, m *model.Model) error {
	switch {
	case m.DatasetCommitment != man.Commitment.String():
		return fmt.Errorf("the model was trained on dataset %s, the manifest commits to %s", m.DatasetCommitment, man.Commitment)
	case m.FractionBits != man.FractionBits || m.ValueBits != man.ValueBits:
		return fmt.Errorf("model format f=%d b=%d, manifest f=%d b=%d", m.FractionBits, m.ValueBits, man.FractionBits, man.ValueBits)
	case len(m.Features) != man.D:
		return fmt.Errorf("model has %d features, the dataset %d", len(m.Features), man.D)
	case m.Label != man.Label:
		return fmt.Errorf("label %q in the model, %q in the manifest", m.Label, man.Label)
	case m.Metrics.N != int64(man.N):
		return fmt.Errorf("the model's metrics.n is %d, the manifest's n is %d", m.Metrics.N, man.N)
	}
	for j := range m.Features {
		if m.Features[j] != man.Features[j] {
			return fmt.Errorf("feature %d is %q in the model and %q in the manifest", j, m.Features[j], man.Features[j])
		}
	}
	return nil
}

// chunkPublic is chunk i's public input vector, in the circuit's field order.
func (st *statement) chunkPublic(i int, accIn, accOut fr.Element) []fr.Element {
	out := []fr.Element{st.chunks[i], fr.NewElement(uint64(i)), fr.NewElement(uint64(st.header.ChunkLen(i)))}
	out = append(out, elements(st.weights)...)
	return append(out, accIn, accOut)
}

// finalPublic is the final circuit's public input vector: Acc, the feature weights, Λ, tau,
// the training sums and the binding halves.
func (st *statement) finalPublic(acc fr.Element) []fr.Element {
	out := append([]fr.Element{acc}, elements(st.weights[:st.shape.Features])...)
	out = append(out, elements([]*big.Int{st.lambda, st.tau, st.ssr, st.sumY, st.sumY2})...)
	h := st.binding.Halves()
	return append(out, h[:]...)
}

func elements(v []*big.Int) []fr.Element {
	out := make([]fr.Element, len(v))
	for j, w := range v {
		out[j].SetBigInt(w)
	}
	return out
}
