package verify

import (
	"fmt"
	"strings"
	"time"

	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/prover/proof"
	f_log "github.com/transparency-dev/formats/log"
)

// Status is the outcome of one check.
type Status string

const (
	Passed     Status = "passed"
	Failed     Status = "failed"
	NotChecked Status = "not checked"
)

// Names of the checks, in the order Verify reports them.
const (
	CheckTrustRoot         = "trust root"
	CheckEnvelopeSignature = "envelope signature"
	CheckStatement         = "statement"
	CheckKeyValidity       = "registry key valid at signing"
	CheckSubject           = "subject is the model"
	CheckProvider          = "provider"
	CheckVerifyingKey      = "circuits pinned"
	CheckCeremony          = "key ceremony"
	CheckProof             = "zero-knowledge proof"
	CheckProofClaim        = "proof matches the attestation"
	CheckGuarantee         = "what the proof guarantees"
	CheckRevocation        = "attestation not revoked"
	CheckLeaf              = "leaf matches envelope"
	CheckCheckpoint        = "checkpoint signature"
	CheckWitnesses         = "witness quorum"
	CheckInclusion         = "inclusion in log"
	CheckConsistency       = "consistency with bundled checkpoint"
	CheckPrior             = "consistency with prior checkpoint"
	CheckAnchor            = "anchor"
)

// Line is one check in a report.
type Line struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
}

// Report is what Verify found.
type Report struct {
	Lines []Line

	// Filled as far as the checks got.
	EnvelopeDigest [32]byte
	SignedBy       string // registry key id
	Subject        statement.Subject
	Training       *statement.Training
	// Proven is what the checked proof establishes; nil unless the proof was checked.
	Proven      *proof.Claim
	Index       uint64
	Checkpoint  *f_log.Checkpoint
	WitnessedAt time.Time // zero unless a witness quorum cosigned
	// Evidence holds proof of log misbehaviour found on the way.
	Evidence []*SplitView
	// AnchorEvidence holds checkpoints the log signed that contradict the chain.
	AnchorEvidence []*AnchorMismatch
}

// Line returns the line of the named check.
func (r *Report) Line(name string) (Line, bool) {
	for _, l := range r.Lines {
		if l.Name == name {
			return l, true
		}
	}
	return Line{}, false
}

// Passed reports whether no check failed.
func (r *Report) Passed() bool {
	for _, l := range r.Lines {
		if l.Status == Failed {
			return false
		}
	}
	return true
}

// String renders one check per line.
func (r *Report) String() string {
	var sb strings.Builder
	for _, l := range r.Lines {
		fmt.Fprintf(&sb, "%-38s %-11s %s\n", l.Name, l.Status, l.Detail)
	}
	return sb.String()
}

func (r *Report) add(name string, s Status, detail string) {
	r.Lines = append(r.Lines, Line{Name: name, Status: s, Detail: detail})
}
