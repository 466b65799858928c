package verify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/fixedpoint"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/setup"
)

// ErrNotPinned reports a circuit or verifying key that the trust root does not pin.
var ErrNotPinned = errors.New("not pinned by the trust root")

// ProofChecker verifies the zero-knowledge proof behind an attestation: that the proof,
// made for provider, verifies against verifying keys whose hashes pins (circuit id →
// verifying-key SHA-256, the trust root's) gives. It returns what the proof establishes and
// the manifest it was checked with; Verify then ties both to the signed statement.
// ProofFiles is the checker of proof material at hand.
type ProofChecker interface {
	CheckProof(ctx context.Context, pins map[string]string, provider string) (*ProvenClaim, error)
}

// ProvenClaim is what a checked proof establishes.
type ProvenClaim struct {
	Claim    *proof.Claim
	Manifest *commitment.Manifest
	// Checks is how many checks the proof verifier made.
	Checks int
}

// ProofFiles checks a proof bundle with the model file and the manifest it names. Keys loads
// the verifying keys of a shape from wherever the caller keeps them (a directory, a
// download); whatever it returns is used only when its hashes are the pinned ones.
type ProofFiles struct {
	Bundle, Manifest, Model []byte
	Keys                    func(ctx context.Context, shape circuit.Shape) (*setup.Keys, error)
}

// CheckProof implements ProofChecker.
func (p ProofFiles) CheckProof(ctx context.Context, pins map[string]string, provider string) (*ProvenClaim, error) {
	b, err := proof.ParseBundle(p.Bundle)
	if err != nil {
		return nil, err
	}
	man, err := commitment.ParseManifest(p.Manifest)
	if err != nil {
		return nil, err
	}
	m, err := model.Unmarshal(p.Model)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{string(circuit.ChunkCircuit), string(circuit.FinalCircuit)} {
		if err := pinned(pins, name, b.Circuits[name].ID, b.Circuits[name].VKSHA256); err != nil {
			return nil, err
		}
	}
	keys, err := p.Keys(ctx, b.Shape)
	if err != nil {
		return nil, fmt.Errorf("verifying keys: %w", err)
	}
	for _, k := range []*setup.Circuit{&keys.Chunk, &keys.Final} {
		if err := pinned(pins, "loaded", k.ID, k.VKSHA256); err != nil {
			return nil, fmt.Errorf("verifying keys: %w", err)
		}
	}
	rep, err := proof.Verify(ctx, b, proof.Inputs{Model: m, Manifest: man, Provider: provider}, keys)
	if err != nil {
		return nil, err
	}
	return &ProvenClaim{Claim: rep.Claim(), Manifest: man, Checks: len(rep.Checks)}, nil
}

func pinned(pins map[string]string, name, id, vk string) error {
	want, ok := pins[id]
	switch {
	case !ok:
		return fmt.Errorf("%s circuit %s: %w", name, id, ErrNotPinned)
	case want != vk:
		return fmt.Errorf("%s circuit %s: verifying key %s, the trust root pins %s: %w", name, id, vk, want, ErrNotPinned)
	}
	return nil
}

// TrainingClaim is the training predicate that a checked proof and its manifest state, all
// but IssuedAt: the registry signs exactly this, and the verifier requires the signed
// predicate to equal it.
func TrainingClaim(c *proof.Claim, man *commitment.Manifest) statement.Training {
	f := c.Header.FractionBits
	return statement.Training{
		Dataset:    datasetOf(man, c.Dataset.String(), c.Header),
		Featurizer: featurizerOf(man),
		Model: statement.Model{
			Kind: c.Kind, Intercept: c.Intercept,
			LambdaFixed: c.LambdaFixed.String(), Lambda: fixedpoint.Decimal(c.LambdaFixed, 2*f),
			TauFixed: c.Tau.String(), Tau: fixedpoint.Decimal(c.Tau, 3*f),
		},
		Metrics: statement.Metrics{
			N: c.Metrics.N, SSR: c.Metrics.SSR.String(), SumY: c.Metrics.SumY.String(), SumY2: c.Metrics.SumY2.String(),
			R2: number(c.Metrics.R2), RMSE: number(c.Metrics.RMSE), ResidualSD: number(c.Metrics.ResidualSD),
		},
		Guarantee: statement.Guarantee{RelativeGradient: number(c.Guarantee.RelativeGradient),
			DistanceBound: c.Guarantee.Distance, LossGapBound: c.Guarantee.LossGap},
		Proof: statement.Proof{
			BundleSHA256: c.BundleSHA256,
			Chunk:        circuitOf(c.Circuits[string(circuit.ChunkCircuit)]),
			Final:        circuitOf(c.Circuits[string(circuit.FinalCircuit)]),
		},
		Provider: c.Provider,
	}
}

// EvaluationClaim is the evaluation predicate that a checked evaluation bundle and its test
// manifest state, all but IssuedAt, as TrainingClaim is for training.
func EvaluationClaim(b *proof.EvalBundle, man *commitment.Manifest) statement.Evaluation {
	m := b.Metrics
	count := func(v *int64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatInt(*v, 10)
	}
	ratio := func(v *float64) string {
		if v == nil {
			return ""
		}
		return number(*v)
	}
	return statement.Evaluation{
		TestSet:    datasetOf(man, b.DatasetCommitment.String(), b.Header),
		Featurizer: featurizerOf(man),
		Task:       string(b.Shape.Task),
		Metrics: statement.EvalMetrics{N: m.N, TP: count(m.TP), FP: count(m.FP), TN: count(m.TN), FN: count(m.FN),
			Accuracy: ratio(m.Accuracy), Precision: ratio(m.Precision), Recall: ratio(m.Recall), F1: ratio(m.F1),
			AUCLower: ratio(m.AUCLower), AUCUpper: ratio(m.AUCUpper), SSR: ratio(m.SSR), R2: ratio(m.R2), RMSE: ratio(m.RMSE)},
		Evaluator: b.Evaluator,
		Circuit: statement.EvalCircuit{Shape: b.Shape.String(),
			Chunk: circuitOf(b.Circuits[string(circuit.EvalChunkCircuit)]),
			Final: circuitOf(b.Circuits[string(circuit.EvalFinalCircuit)])},
		BundleSHA256: b.Digest(),
	}
}

func datasetOf(man *commitment.Manifest, c string, h commitment.Header) statement.Dataset {
	return statement.Dataset{Commitment: c, Header: h, FileDigest: man.FileDigest, Public: man.Public, SHA256: man.SHA256}
}

func featurizerOf(man *commitment.Manifest) *statement.Featurizer {
	fz := man.Featurizer
	if fz == nil {
		return nil
	}
	out := &statement.Featurizer{Name: fz.Name, Version: fz.Version, Params: fz.Params,
		SpecSHA256: fz.SpecSHA256, CorpusDigest: fz.CorpusDigest, CorpusSHA256: fz.CorpusSHA256}
	if len(out.Params) == 0 {
		out.Params = nil // omitted in the signed JSON: read back as nil
	}
	return out
}

func circuitOf(c proof.CircuitID) statement.Circuit {
	return statement.Circuit{ID: c.ID, VerifyingKeySHA256: c.VKSHA256}
}

// number writes a float64 as the shortest decimal that reads back as it; "inf" for +Inf.
func number(x float64) string {
	if math.IsInf(x, 1) {
		return "inf"
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// checkProof runs the proof checker and requires what it proves to be what the registry
// signed, field by field: a proof of another model, provider, dataset, tolerance or penalty,
// or a weaker proof of the same model, fails here.
func (v *Verifier) checkProof(ctx context.Context, x *run, subj statement.Subject, tr *statement.Training) {
	if v.proofs == nil {
		x.skip(CheckProof, "no proof material (give the proof, manifest and keys, or verify online)")
		x.skip(CheckProofClaim, "needs the proof")
		x.skip(CheckGuarantee, "signed, not checked: "+guaranteeText(tr))
		return
	}
	pc, err := v.proofs.CheckProof(ctx, v.root.VKPins(), tr.Provider)
	if err != nil {
		x.fail(CheckProof, errors.New(oneLine(err.Error())))
		x.skip(CheckProofClaim, "needs the proof")
		x.skip(CheckGuarantee, "signed, not checked: "+guaranteeText(tr))
		return
	}
	x.pass(CheckProof, fmt.Sprintf("%d checks; %d chunk proofs and the final proof against keys the trust root pins",
		pc.Checks, pc.Manifest.Header.Chunks()))
	x.r.Proven = pc.Claim
	want := TrainingClaim(pc.Claim, pc.Manifest)
	if err := sameClaim(subj, tr, pc.Claim, want); err != nil {
		x.fail(CheckProofClaim, err)
		x.skip(CheckGuarantee, "the proof does not match the attestation")
		return
	}
	x.pass(CheckProofClaim, fmt.Sprintf("bundle sha256:%s, circuits, model, provider, dataset, λ, tau, metrics, guarantee and featurizer as signed", pc.Claim.BundleSHA256))
	x.pass(CheckGuarantee, pc.Claim.Guarantee.Summary(pc.Claim.Requested))
}

// sameClaim names the first part of the signed predicate that the proof does not state.
func sameClaim(subj statement.Subject, tr *statement.Training, c *proof.Claim, want statement.Training) error {
	differ := func(what string, got, proven any) error {
		return fmt.Errorf("%s: the attestation says %v, the proof %v", what, got, proven)
	}
	switch {
	case subj.SHA256 != c.ModelSHA256:
		return differ("model", subj.SHA256, c.ModelSHA256)
	case tr.Proof.BundleSHA256 != want.Proof.BundleSHA256:
		return differ("proof bundle sha256", tr.Proof.BundleSHA256, want.Proof.BundleSHA256)
	case tr.Proof != want.Proof:
		return differ("circuits", tr.Proof, want.Proof)
	case tr.Provider != want.Provider:
		return differ("provider", tr.Provider, want.Provider)
	case tr.Dataset != want.Dataset:
		return differ("dataset", tr.Dataset, want.Dataset)
	case tr.Model != want.Model:
		return differ("model kind, λ or tau", tr.Model, want.Model)
	case tr.Metrics != want.Metrics:
		return differ("training metrics", tr.Metrics, want.Metrics)
	case tr.Guarantee != want.Guarantee:
		return differ("guarantee", tr.Guarantee, want.Guarantee)
	case !sameFeaturizer(tr.Featurizer, want.Featurizer):
		return differ("featurizer", tr.Featurizer, want.Featurizer)
	}
	return nil
}

func sameFeaturizer(a, b *statement.Featurizer) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Name != b.Name || a.Version != b.Version || a.SpecSHA256 != b.SpecSHA256 || a.CorpusDigest != b.CorpusDigest ||
		a.CorpusSHA256 != b.CorpusSHA256 || len(a.Params) != len(b.Params) {
		return false
	}
	for k, v := range a.Params {
		if b.Params[k] != v {
			return false
		}
	}
	return true
}

// guaranteeText says what the signed statement claims the proof guarantees.
func guaranteeText(tr *statement.Training) string {
	g := tr.Guarantee
	s := fmt.Sprintf("%s, λ = %s, tau = %s, relative gradient %s", tr.Model.Kind, tr.Model.Lambda, tr.Model.Tau, g.RelativeGradient)
	if g.DistanceBound != "" {
		s += fmt.Sprintf(", ‖w − w*‖₂ <= %s, objective within %s of its minimum", g.DistanceBound, g.LossGapBound)
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
