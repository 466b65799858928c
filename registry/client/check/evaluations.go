package check

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/attest/verify"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/wire"
)

// Evaluation is one logged evaluation of a model as a client holds it: what the registry
// serves for it, or what comet bundle fetch wrote (Evidence.Evaluations offline).
type Evaluation struct {
	ID       string
	Envelope []byte
	// Logged is the evaluation attestation's client bundle (leaf, inclusion, checkpoint).
	Logged []byte
	// Proof and Manifest are the evaluation bundle and the test set's manifest.
	Proof, Manifest []byte
	// Revocation is the signed revocation when the registry says it revoked the evaluation.
	Revocation []byte
}

// FetchEvaluations fetches everything about each logged evaluation of the model.
func FetchEvaluations(ctx context.Context, c *client.Client, sha string) ([]Evaluation, error) {
	evs, err := ModelEvaluations(ctx, c, sha)
	if err != nil {
		return nil, err
	}
	out := make([]Evaluation, 0, len(evs))
	for _, ev := range evs {
		e := Evaluation{ID: ev.ID, Envelope: ev.Envelope}
		for _, part := range []struct {
			dst   *[]byte
			fetch func(context.Context, string) ([]byte, error)
			id    string
		}{{&e.Proof, c.EvaluationProof, ev.ID}, {&e.Manifest, c.EvaluationManifest, ev.ID}, {&e.Logged, c.Bundle, ev.AttestationID}} {
			if *part.dst, err = part.fetch(ctx, part.id); err != nil {
				return nil, fmt.Errorf("evaluation %s: %w", ev.ID, err)
			}
		}
		if ev.Revoked {
			r, err := c.Revocation(ctx, ev.AttestationID)
			if err != nil {
				return nil, fmt.Errorf("evaluation %s: its revocation: %w", ev.ID, err)
			}
			e.Revocation = r.Envelope
		}
		out = append(out, e)
	}
	return out, nil
}

// checkEvaluations checks each evaluation as the training proof is checked
// (verify.Verifier.VerifyEvaluation, with its log bundle): one line each, named by the
// evaluation, saying what it proves and who proved it. A revoked evaluation fails its line,
// and so does one the registry calls revoked without a valid signed revocation.
func checkEvaluations(ctx context.Context, o Options, verifier *verify.Verifier, evs []Evaluation, sha string, modelJSON []byte) []verify.Line {
	lines := make([]verify.Line, 0, len(evs))
	for _, ev := range evs {
		l := verify.Line{Name: "evaluation " + ev.ID, Status: verify.Failed}
		e, err := checkEvaluation(ctx, o, verifier, ev, sha, modelJSON)
		switch {
		case err != nil:
			l.Detail = err.Error()
		case ev.Revocation != nil:
			l.Detail = "revoked"
			env, err := envelope.Parse(ev.Revocation)
			var rev *statement.Revocation
			if err == nil {
				var signed *dsse.Envelope
				if signed, err = envelope.Parse(ev.Envelope); err == nil {
					rev, err = verifier.Revocation(ctx, signed, env)
				}
			}
			if err != nil {
				l.Detail = fmt.Sprintf("the registry says it is revoked, but its revocation does not verify (%v)", err)
			} else {
				l.Detail = fmt.Sprintf("revoked at %s: %s (it proved: %s)", rev.RevokedAt.Format(time.RFC3339), rev.Reason, EvaluationSummary(e))
			}
		default:
			l.Status, l.Detail = verify.Passed, EvaluationSummary(e)
		}
		lines = append(lines, l)
		o.print(checkLine(l))
	}
	return lines
}

func checkEvaluation(ctx context.Context, o Options, verifier *verify.Verifier, ev Evaluation, sha string, modelJSON []byte) (*statement.Evaluation, error) {
	env, err := envelope.Parse(ev.Envelope)
	if err != nil {
		return nil, err
	}
	logged, err := bundle.Parse(ev.Logged)
	if err != nil {
		return nil, fmt.Errorf("log bundle: %w", err)
	}
	fetch := func(context.Context) error { return errors.New("offline: keys are read from the keys directory only") }
	if o.Client != nil {
		fetch = func(ctx context.Context) error { return FetchEvalKeys(ctx, o.Client, o.Keys, ev.Proof) }
	}
	return verifier.VerifyEvaluation(ctx, verify.EvaluationFiles{Envelope: env, Bundle: ev.Proof, Manifest: ev.Manifest, Model: modelJSON,
		Logged: logged, Keys: loadKeys[circuit.Keyed](o.Keys, fetch)}, sha)
}

// EvaluationSummary says in plain words what an evaluation statement claims, with every
// metric it carries.
func EvaluationSummary(e *statement.Evaluation) string {
	m := e.Metrics
	var sb strings.Builder
	rows := fmt.Sprintf("%d rows", m.N)
	if m.N == 1 {
		rows = "1 row"
	}
	fmt.Fprintf(&sb, "held out on %s of test set %s", rows, e.TestSet.Commitment)
	if f := e.Featurizer; f != nil {
		fmt.Fprintf(&sb, " (featurizer %s/%s)", f.Name, f.Version)
	}
	if e.Task == statement.TaskRegression {
		fmt.Fprintf(&sb, ": R² %s, RMSE %s, SSR %s", m.R2, m.RMSE, m.SSR)
	} else {
		fmt.Fprintf(&sb, ": accuracy %s, precision %s, recall %s, F1 %s, AUC ≥ %s (≤ %s); tp %s, fp %s, tn %s, fn %s",
			m.Accuracy, m.Precision, m.Recall, m.F1, m.AUCLower, m.AUCUpper, m.TP, m.FP, m.TN, m.FN)
	}
	fmt.Fprintf(&sb, " (proven by %s, circuit %s)", e.Evaluator, e.Circuit.Shape)
	return sb.String()
}

// ModelEvaluations lists every logged evaluation of a model, page by page.
func ModelEvaluations(ctx context.Context, c *client.Client, sha string) ([]wire.Evaluation, error) {
	var all []wire.Evaluation
	p := client.Page{Limit: 500}
	for {
		l, err := c.ModelEvaluations(ctx, sha, p)
		if err != nil {
			return nil, fmt.Errorf("evaluations of %s: %w", sha, err)
		}
		all = append(all, l.Items...)
		if l.NextCursor == "" {
			return all, nil
		}
		p.Cursor = l.NextCursor
	}
}
