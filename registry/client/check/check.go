package check

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/clientstate"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/attest/verify"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/registry/client"
)

// ErrFailed marks a verification whose checks ran and did not all pass, as opposed to one
// that could not run (a registry that cannot be reached, bad input).
var ErrFailed = errors.New("check failed")

// Kinds of report line.
const (
	KindNote       = "note"       // which trust root, and how it was chosen
	KindCheck      = "check"      // one check of attest/verify, or one evaluation
	KindFeaturizer = "featurizer" // the featurizer the statement names
	KindEvidence   = "evidence"   // proof of log misbehaviour
	KindVerdict    = "verdict"    // the closing line of a verification that passed
)

// Line is one line of the report as `comet verify` prints it.
type Line struct {
	Kind string `json:"kind"`
	// Check is the check of a KindCheck line.
	Check *verify.Line `json:"check,omitempty"`
	Text  string       `json:"text"`
}

// checkLine is how a check is printed: the columns `comet verify` always had.
func checkLine(l verify.Line) Line {
	return Line{Kind: KindCheck, Check: &l, Text: fmt.Sprintf("%-38s %-11s %s", l.Name, l.Status, l.Detail)}
}

// Options say how to verify and where the client keeps what it remembers.
type Options struct {
	// Registry is the registry's base URL: it names the pinned trust root, and the log's
	// tiles are under it.
	Registry string
	// Client talks to the registry; nil verifies offline (what Evidence holds, no
	// evaluations).
	Client *client.Client
	// State keeps the pinned trust root and the newest checkpoint verified.
	State clientstate.Store
	// Keys keeps the verifying keys fetched from the registry.
	Keys Keys
	// TrustRoot is a root the user chose, TrustRootFrom says how (for the note); nil uses
	// the one pinned in State, pinned on first use.
	TrustRoot     *trustroot.Root
	TrustRootFrom string
	// Confirm is asked before the registry's root is pinned on first use; an error
	// refuses it. Nil accepts (the CLI says so in its note).
	Confirm func(ctx context.Context, r *trustroot.Root) error
	// Anchor reads the anchor contract the root pins; nil leaves the anchor not checked.
	Anchor func(ctx context.Context, r *trustroot.Root) (verify.AnchorReader, error)

	Provider      string
	SingleParty   bool
	RequireAnchor bool
	// Waive names the required checks the user accepts did not run (WaivableNames).
	Waive []string
	// Print is given each line as soon as it is known; nil prints nothing.
	Print func(Line)
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

func (o *Options) print(l Line) {
	if o.Print != nil {
		o.Print(l)
	}
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Evidence is what one verification checks.
type Evidence struct {
	Model  *model.Model
	Root   *trustroot.Root
	Bundle *bundle.Bundle
	// Policy holds what was fetched or read besides the bundle (revocations, the prior
	// checkpoint); Run adds what Options ask.
	Policy []verify.PolicyOption
	// Proofs checks the proof; nil leaves it not checked.
	Proofs verify.ProofChecker
	// Evaluations are the model's logged evaluations offline (online, Run fetches them).
	Evaluations []Evaluation
	Notes       []string
}

// waivable are the checks that must run unless the user waives them by name: what the
// attestation is about (the proof) and whether it still stands (the revocation list).
var waivable = []struct{ name, check, what string }{
	{"proof", verify.CheckProof, "the zero-knowledge proof"},
	{"revocation", verify.CheckRevocation, "the revocation list"},
}

// WaiveEvaluations accepts failed evaluation checks: the model's training attestation still
// verifies, and the closing line says which evaluations failed.
const WaiveEvaluations = "evaluations"

// WaivableNames are the names Options.Waive accepts.
func WaivableNames() []string {
	names := make([]string, len(waivable), len(waivable)+1)
	for i, w := range waivable {
		names[i] = w.name
	}
	return append(names, WaiveEvaluations)
}

// Format names the version of Result.
const Format = "comet.verify/v1"

// Result is what `comet verify --json` prints (docs/attestation.md): every check with its
// status and detail, what was waived, and the verdict the exit status gives.
type Result struct {
	Format      string `json:"format"`
	ModelSHA256 string `json:"model_sha256"`
	TrustRoot   struct {
		Version int64  `json:"version"`
		SHA256  string `json:"sha256"`
	} `json:"trust_root"`
	Notes      []string      `json:"notes"`
	Checks     []verify.Line `json:"checks"`
	Passed     int           `json:"passed"`
	NotChecked int           `json:"not_checked"`
	Failed     int           `json:"failed"`
	// Waived are the required checks that did not run and that the user accepted by name.
	Waived []string `json:"waived"`
	// Failures are the failed checks and the required checks that did not run unwaived.
	Failures []string `json:"failures"`
	Verified bool     `json:"verified"`
}

// Run checks e, remembers its checkpoint when it verified, checks the model's evaluations
// (online), prints every line and judges. The result is nil only when the checks could not
// run; the error wraps ErrFailed when they ran and the result is not verified.
func Run(ctx context.Context, o Options, e *Evidence) (*Result, error) {
	for _, n := range e.Notes {
		o.print(Line{Kind: KindNote, Text: n})
	}
	vopts := []verify.Option{verify.WithProgress(func(l verify.Line) { o.print(checkLine(l)) })}
	if e.Proofs != nil {
		vopts = append(vopts, verify.WithProofChecker(e.Proofs))
	}
	if o.Anchor != nil {
		rd, err := o.Anchor(ctx, e.Root)
		if err != nil {
			return nil, err
		}
		vopts = append(vopts, verify.WithAnchorReader(rd))
	}
	verifier, err := verify.NewVerifier(e.Root, vopts...)
	if err != nil {
		return nil, err
	}
	popts := append([]verify.PolicyOption{verify.WithModelSHA256(e.Model.SHA256)}, e.Policy...)
	if o.SingleParty {
		popts = append(popts, verify.AllowSingleParty())
	}
	if o.Provider != "" {
		popts = append(popts, verify.WithProvider(o.Provider))
	}
	if o.RequireAnchor {
		popts = append(popts, verify.RequireAnchor())
	}
	policy, err := verify.NewPolicy(popts...)
	if err != nil {
		return nil, err
	}
	rep, verr := verifier.Verify(ctx, e.Bundle, policy)
	if rep == nil {
		return nil, verr
	}
	if cp, ok := rep.Line(verify.CheckCheckpoint); ok && cp.Status == verify.Passed {
		if pr, _ := rep.Line(verify.CheckPrior); pr.Status != verify.Failed {
			if err := (clientstate.State{Store: o.State}).Remember(ctx, e.Root, e.Bundle.Checkpoint); err != nil {
				return nil, err
			}
		}
	}
	res := judge(e, rep, o)
	evs := e.Evaluations
	if o.Client != nil {
		if evs, err = FetchEvaluations(ctx, o.Client, e.Model.SHA256); err != nil {
			return nil, err
		}
	}
	modelJSON, err := e.Model.Marshal()
	if err != nil {
		return nil, err
	}
	res.addEvaluations(checkEvaluations(ctx, o, verifier, evs, e.Model.SHA256, modelJSON), slices.Contains(o.Waive, WaiveEvaluations))
	if line, ok := featurizerLine(rep); ok {
		o.print(Line{Kind: KindFeaturizer, Text: line})
	}
	for _, l := range anchorEvidence(rep) {
		o.print(Line{Kind: KindEvidence, Text: l})
	}
	if !res.Verified {
		return res, fmt.Errorf("%w: %s", ErrFailed, strings.Join(res.Failures, "; "))
	}
	closing := fmt.Sprintf("model %s: every check passed (%d passed, %d not checked)", e.Model.SHA256, res.Passed, res.NotChecked)
	if len(res.Waived) > 0 {
		closing += "; waived: " + strings.Join(res.Waived, ", ")
	}
	o.print(Line{Kind: KindVerdict, Text: closing})
	return res, nil
}

// judge reads the report: a failed check fails, and so does a required one that did not
// run unless it was waived by name.
func judge(e *Evidence, rep *verify.Report, o Options) *Result {
	res := &Result{Format: Format, ModelSHA256: e.Model.SHA256, Notes: e.Notes, Checks: rep.Lines, Waived: []string{}, Failures: []string{}}
	if res.Notes == nil {
		res.Notes = []string{}
	}
	res.TrustRoot.Version, res.TrustRoot.SHA256 = e.Root.Version, e.Root.Fingerprint()
	for _, l := range rep.Lines {
		switch l.Status {
		case verify.Failed:
			res.Failed++
			res.Failures = append(res.Failures, l.Name+": "+l.Detail)
		case verify.Passed:
			res.Passed++
		default:
			res.NotChecked++
		}
	}
	for _, w := range waivable {
		l, ok := rep.Line(w.check)
		if !ok || l.Status != verify.NotChecked {
			continue
		}
		if slices.Contains(o.Waive, w.name) {
			res.Waived = append(res.Waived, w.what+" (--waive "+w.name+")")
		} else {
			res.Failures = append(res.Failures, w.check+": not checked ("+l.Detail+"; --waive "+w.name+" accepts that)")
		}
	}
	if l, _ := rep.Line(verify.CheckCeremony); o.SingleParty && l.Status == verify.NotChecked {
		res.Waived = append(res.Waived, "a single-party key setup (--allow-single-party-setup)")
	}
	res.Verified = len(res.Failures) == 0
	return res
}

// addEvaluations adds the evaluation lines to the result; a failed one fails verification
// unless waived.
func (r *Result) addEvaluations(lines []verify.Line, waived bool) {
	r.Checks = append(r.Checks, lines...)
	for _, l := range lines {
		if l.Status == verify.Passed {
			r.Passed++
			continue
		}
		r.Failed++
		if waived {
			r.Waived = append(r.Waived, l.Name+" (--waive "+WaiveEvaluations+")")
		} else {
			r.Failures = append(r.Failures, l.Name+": "+l.Detail)
		}
	}
	r.Verified = len(r.Failures) == 0
}

// anchorEvidence shows what proves that the log contradicted the chain or itself: the
// signed checkpoints and the roots, one printed line each.
func anchorEvidence(rep *verify.Report) []string {
	var sb strings.Builder
	for _, e := range rep.AnchorEvidence {
		fmt.Fprintf(&sb, "\nevidence: the log signed root %x at size %d; contract %s (tx %s) holds %x. The signed checkpoint:\n%s",
			e.Presented, e.Size, e.Receipt.Contract, e.Receipt.TxHash, e.Anchored, e.Checkpoint)
	}
	for _, e := range rep.Evidence {
		fmt.Fprintf(&sb, "\nevidence: %s. Smaller checkpoint:\n%s\nLarger checkpoint:\n%s", e.Reason, e.Smaller, e.Larger)
	}
	if sb.Len() == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n")
}
