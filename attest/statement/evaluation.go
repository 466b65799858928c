package statement

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
)

// Evaluation tasks, as the evaluation circuits name them (prover/circuit.Task).
const (
	TaskClassification = "classification"
	TaskRegression     = "regression"
)

// EvalMetrics are the proven held-out metrics under the evaluation bundle's names. Counts are
// canonical decimal integers and ratios decimal strings, so that no float rounding changes
// what was signed; the other task's fields are absent.
type EvalMetrics struct {
	N int64 `json:"n"`
	// Classification, at the decision threshold; the AUC bounded from both sides by the
	// counts between the public thresholds.
	TP        string `json:"tp,omitempty"`
	FP        string `json:"fp,omitempty"`
	TN        string `json:"tn,omitempty"`
	FN        string `json:"fn,omitempty"`
	Accuracy  string `json:"accuracy,omitempty"`
	Precision string `json:"precision,omitempty"`
	Recall    string `json:"recall,omitempty"`
	F1        string `json:"f1,omitempty"`
	AUCLower  string `json:"auc_lower,omitempty"`
	AUCUpper  string `json:"auc_upper,omitempty"`
	// Regression, in the label's units.
	SSR  string `json:"ssr,omitempty"`
	R2   string `json:"r2,omitempty"`
	RMSE string `json:"rmse,omitempty"`
}

// EvalCircuit names the evaluation circuits the proof was checked with.
type EvalCircuit struct {
	// Shape is the evaluation shape's name (prover/circuit.EvalShape.String).
	Shape string  `json:"shape"`
	Chunk Circuit `json:"chunk_circuit"`
	Final Circuit `json:"final_circuit"`
}

// Evaluation is the predicate of an evaluation attestation: the subject model's proven
// quality on a committed test set. It says nothing of how the test set relates to the
// training set (docs/attestation.md).
type Evaluation struct {
	TestSet    Dataset     `json:"test_set"`
	Featurizer *Featurizer `json:"featurizer,omitempty"`
	Task       string      `json:"task"`
	Metrics    EvalMetrics `json:"metrics"`
	// Evaluator is the registry identity the proof is bound to: a provider or an evaluator.
	Evaluator    string      `json:"evaluator"`
	Circuit      EvalCircuit `json:"circuit"`
	BundleSHA256 string      `json:"bundle_sha256"`
	IssuedAt     time.Time   `json:"issued_at"`
}

// Validate checks every field's syntax, and that the metrics are the task's and add up.
func (e *Evaluation) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	e.TestSet.validate("test_set", add)
	if f := e.Featurizer; f != nil {
		f.validate(add)
	}
	m := e.Metrics
	if m.N != int64(e.TestSet.Header.N) {
		add(fmt.Errorf("%w: metrics.n %d, test_set.header.n %d", ErrInvalid, m.N, e.TestSet.Header.N))
	}
	classification := map[string]string{"tp": m.TP, "fp": m.FP, "tn": m.TN, "fn": m.FN, "accuracy": m.Accuracy, "precision": m.Precision,
		"recall": m.Recall, "f1": m.F1, "auc_lower": m.AUCLower, "auc_upper": m.AUCUpper}
	regression := map[string]string{"ssr": m.SSR, "r2": m.R2, "rmse": m.RMSE}
	var stated, absent map[string]string
	switch e.Task {
	case TaskClassification:
		stated, absent = classification, regression
		add(m.checkCounts())
	case TaskRegression:
		stated, absent = regression, classification
	default:
		add(fmt.Errorf("%w: task %q is neither %q nor %q", ErrInvalid, e.Task, TaskClassification, TaskRegression))
	}
	for name, v := range stated {
		switch name {
		case "tp", "fp", "tn", "fn":
		default:
			add(checkFloat("metrics."+name, v))
		}
	}
	for name, v := range absent {
		if v != "" {
			add(fmt.Errorf("%w: metrics.%s is not a %s metric", ErrInvalid, name, e.Task))
		}
	}
	if e.Evaluator == "" {
		add(fmt.Errorf("%w: evaluator is empty", ErrInvalid))
	}
	if e.Circuit.Shape == "" {
		add(fmt.Errorf("%w: circuit.shape is empty", ErrInvalid))
	}
	for name, c := range map[string]Circuit{"chunk": e.Circuit.Chunk, "final": e.Circuit.Final} {
		add(checkHex("circuit."+name+"_circuit.id", c.ID))
		add(checkHex("circuit."+name+"_circuit.verifying_key_sha256", c.VerifyingKeySHA256))
	}
	add(checkHex("bundle_sha256", e.BundleSHA256))
	if e.IssuedAt.IsZero() {
		add(fmt.Errorf("%w: issued_at is missing", ErrInvalid))
	}
	return errors.Join(errs...)
}

// checkCounts requires the four confusion counts to be canonical and to add up to n: a
// statement whose counts do not could not come from a proof.
func (m EvalMetrics) checkCounts() error {
	var sum int64
	for name, v := range map[string]string{"tp": m.TP, "fp": m.FP, "tn": m.TN, "fn": m.FN} {
		if err := checkInteger("metrics."+name, v, false); err != nil {
			return err
		}
		c, err := strconv.ParseInt(v, 10, 64)
		if err != nil || c > m.N {
			return fmt.Errorf("%w: metrics.%s %s is more than n = %d", ErrInvalid, name, v, m.N)
		}
		sum += c
	}
	if sum != m.N {
		return fmt.Errorf("%w: metrics: tp + fp + tn + fn = %d, n = %d", ErrInvalid, sum, m.N)
	}
	return nil
}

// NewEvaluation builds the evaluation statement about a model file; subject is the model's,
// exactly as in its training attestation.
func NewEvaluation(subject Subject, e Evaluation) (*intoto.Statement, error) {
	if err := subject.Validate(); err != nil {
		return nil, err
	}
	e.IssuedAt = e.IssuedAt.UTC().Truncate(time.Second)
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return build(subject, EvaluationPredicateType, e)
}

// ParseEvaluation decodes and validates an evaluation statement.
func ParseEvaluation(payload []byte) (Subject, *Evaluation, error) {
	subj, pred, err := Parse(payload, EvaluationPredicateType)
	if err != nil {
		return Subject{}, nil, err
	}
	e := &Evaluation{}
	if err := decodeStrict(pred, e); err != nil {
		return Subject{}, nil, err
	}
	if err := e.Validate(); err != nil {
		return Subject{}, nil, err
	}
	return subj, e, nil
}
