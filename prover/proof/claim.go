package proof

import (
	"math/big"

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/train"
)

// Claim is what a verified bundle establishes, in the terms an attestation states it: the
// values a registry signs and a client compares with what it signed.
type Claim struct {
	// BundleSHA256 is the SHA-256 of the bundle's bytes.
	BundleSHA256 string
	Circuits     map[string]CircuitID
	ModelSHA256  string
	Provider     string
	Dataset      commitment.Digest
	Header       commitment.Header
	// Kind is what the statement is about: ridge when the proven Λ is positive, OLS
	// otherwise, whatever the model file asked for (Requested).
	Kind, Requested string
	Intercept       bool
	LambdaFixed     *big.Int
	Tau             *big.Int
	Metrics         ProvenMetrics
	Guarantee       Guarantee
}

// ProvenMetrics are the training metrics the proof makes public, with the figures they
// determine (model.DeriveMetrics).
type ProvenMetrics struct {
	N                    int64
	SSR, SumY, SumY2     *big.Int
	R2, RMSE, ResidualSD float64
}

// Claim returns what the report's bundle establishes, or nil unless every check passed.
func (r *Report) Claim() *Claim { return r.claim }

func newClaim(b *Bundle, st *statement, m *model.Model, g Guarantee) *Claim {
	kind := string(train.KindOLS)
	if g.Ridge() {
		kind = string(train.KindRidge)
	}
	return &Claim{
		BundleSHA256: b.Digest(),
		Circuits:     map[string]CircuitID{"chunk": b.Circuits["chunk"], "final": b.Circuits["final"]},
		ModelSHA256:  m.SHA256,
		Provider:     st.provider,
		Dataset:      b.DatasetCommitment,
		Header:       st.header,
		Kind:         kind,
		Requested:    m.Kind,
		Intercept:    st.shape.Intercept,
		LambdaFixed:  new(big.Int).Set(st.lambda),
		Tau:          new(big.Int).Set(st.tau),
		Metrics: ProvenMetrics{N: int64(st.header.N), SSR: st.ssr, SumY: st.sumY, SumY2: st.sumY2,
			R2: m.Metrics.R2, RMSE: m.Metrics.RMSE, ResidualSD: m.Metrics.ResidualSD},
		Guarantee: g,
	}
}
