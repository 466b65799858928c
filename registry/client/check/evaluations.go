package check

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/attest/verify"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/wire"
)

// checkEvaluations checks each logged evaluation of the model as the training proof is
// checked (verify.Verifier.VerifyEvaluation): one line each, named by the evaluation, saying
// what it proves and who proved it. A revoked evaluation fails its line.
func checkEvaluations(ctx context.Context, o Options, verifier *verify.Verifier, sha string, modelJSON []byte) ([]verify.Line, error) {
	c := o.Client
	evs, err := ModelEvaluations(ctx, c, sha)
	if err != nil {
		return nil, err
	}
	lines := make([]verify.Line, 0, len(evs))
	add := func(l verify.Line) {
		lines = append(lines, l)
		o.print(checkLine(l))
	}
	for _, ev := range evs {
		name := "evaluation " + ev.ID
		fail := func(err error) { add(verify.Line{Name: name, Status: verify.Failed, Detail: err.Error()}) }
		env, err := envelope.Parse(ev.Envelope)
		if err != nil {
			fail(err)
			continue
		}
		pb, err := c.EvaluationProof(ctx, ev.ID)
		if err != nil {
			return nil, err
		}
		mb, err := c.EvaluationManifest(ctx, ev.ID)
		if err != nil {
			return nil, err
		}
		// The evaluation's own log bundle: without it nothing says the registry logged what
		// it signed.
		rawLogged, err := c.Bundle(ctx, ev.AttestationID)
		if err != nil {
			return nil, fmt.Errorf("evaluation %s: log bundle: %w", ev.ID, err)
		}
		logged, err := bundle.Parse(rawLogged)
		if err != nil {
			fail(fmt.Errorf("log bundle: %w", err))
			continue
		}
		e, err := verifier.VerifyEvaluation(ctx, verify.EvaluationFiles{Envelope: env, Bundle: pb, Manifest: mb, Model: modelJSON, Logged: logged,
			Keys: loadKeys[circuit.Keyed](o.Keys, func(ctx context.Context) error { return fetchEvalKeys(ctx, c, o.Keys, pb) })}, sha)
		switch {
		case err != nil:
			fail(err)
		case ev.Revoked:
			reason := "revoked"
			if r, err := c.Revocation(ctx, ev.AttestationID); err == nil {
				reason = fmt.Sprintf("revoked at %s: %s", r.RevokedAt.Format(time.RFC3339), r.Reason)
			}
			fail(fmt.Errorf("%s (it proved: %s)", reason, EvaluationSummary(e)))
		default:
			add(verify.Line{Name: name, Status: verify.Passed, Detail: EvaluationSummary(e)})
		}
	}
	return lines, nil
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
