package service

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/registry/jobs"
	"github.com/comet-attest/comet/registry/store"
	"github.com/riverqueue/river/rivertype"
	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// KeyPublisher publishes circuit keys while the registry runs; *keyset.Set provides it.
type KeyPublisher interface {
	Publish(ctx context.Context, dir string) (string, error)
	Generate(ctx context.Context, keyed circuit.Keyed) (string, error)
}

// Admin is what the admin console does and reads, each for an admin principal only: the
// service's rules, with the job queue and the key set beside them.
type Admin struct {
	svc  *Service
	jobs *jobs.Queue
	keys KeyPublisher
}

// NewAdmin returns the console's side of the service.
func NewAdmin(svc *Service, q *jobs.Queue, keys KeyPublisher) (*Admin, error) {
	if svc == nil || q == nil || keys == nil {
		return nil, errors.New("service: the admin console needs the service, the job queue and the key set")
	}
	return &Admin{svc: svc, jobs: q, keys: keys}, nil
}

// Service is the service the console acts through.
func (a *Admin) Service() *Service { return a.svc }

// Dashboard is the registry at a glance.
type Dashboard struct {
	Counts *store.Counts
	// Jobs counts River's jobs by state, each up to JobsCap.
	Jobs    map[string]int
	JobsCap int
	// Checkpoint is the log's latest, nil when it cannot be read (CheckpointErr says why).
	Checkpoint    *Checkpoint
	CheckpointErr string
	Anchor        *store.Anchor // the latest, or nil
	// PerDay counts submissions in each of the last ChartDays days, oldest first.
	PerDay []DayCount
}

// DayCount is the number of submissions made on one UTC day.
type DayCount struct {
	Day time.Time
	N   int
}

// ChartDays is how many days the dashboard's chart covers.
const ChartDays = 14

// Checkpoint is a signed checkpoint with who signed it: the log, and any witnesses that
// cosigned.
type Checkpoint struct {
	Raw     string
	Origin  string
	Size    uint64
	Root    []byte
	Signers []string // the names on the note's signature lines, the log's first
}

// parseCheckpoint reads a signed note: the checkpoint's body, a blank line, and one
// "— name base64" line per signature. The log checked the signatures when it made the note;
// this reads what they say for display.
func parseCheckpoint(raw []byte) (*Checkpoint, error) {
	body, sigs, ok := bytes.Cut(raw, []byte("\n\n"))
	if !ok {
		return nil, errors.New("checkpoint: no signature lines")
	}
	var cp f_log.Checkpoint
	if _, err := cp.Unmarshal(append(body[:len(body):len(body)], '\n')); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	out := &Checkpoint{Raw: string(raw), Origin: cp.Origin, Size: cp.Size, Root: cp.Hash}
	for _, line := range strings.Split(strings.TrimSpace(string(sigs)), "\n") {
		name, sig, ok := strings.Cut(strings.TrimPrefix(line, "— "), " ")
		if !ok || !strings.HasPrefix(line, "— ") {
			return nil, fmt.Errorf("checkpoint: signature line %q", line)
		}
		if _, err := base64.StdEncoding.DecodeString(sig); err != nil {
			return nil, fmt.Errorf("checkpoint: signature of %s: %w", name, err)
		}
		out.Signers = append(out.Signers, name)
	}
	return out, nil
}

// Dashboard reads the dashboard (admin only).
func (a *Admin) Dashboard(ctx context.Context, by *Principal) (*Dashboard, error) {
	if err := RequireAdmin(by); err != nil {
		return nil, err
	}
	st := a.svc.store
	d := &Dashboard{JobsCap: jobs.CountCap()}
	var err error
	if d.Counts, err = st.Counts(ctx); err != nil {
		return nil, err
	}
	if d.Jobs, err = a.jobs.Counts(ctx); err != nil {
		return nil, err
	}
	if d.Checkpoint, err = a.checkpoint(ctx); err != nil {
		d.CheckpointErr = err.Error()
	}
	as, err := st.Anchors(ctx, 1)
	if err != nil {
		return nil, err
	}
	if len(as) > 0 {
		d.Anchor = &as[0]
	}
	today := a.svc.clock().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(ChartDays - 1))
	times, err := st.SubmissionTimes(ctx, first)
	if err != nil {
		return nil, err
	}
	d.PerDay = make([]DayCount, ChartDays)
	for i := range d.PerDay {
		d.PerDay[i].Day = first.AddDate(0, 0, i)
	}
	for _, t := range times {
		if i := int(t.UTC().Sub(first) / (24 * time.Hour)); i >= 0 && i < ChartDays {
			d.PerDay[i].N++
		}
	}
	return d, nil
}

func (a *Admin) checkpoint(ctx context.Context) (*Checkpoint, error) {
	raw, err := a.svc.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	return parseCheckpoint(raw)
}

// LogView is the log's latest checkpoint and every anchor, each checked against it.
type LogView struct {
	Checkpoint *Checkpoint
	Anchors    []AnchorView
}

// AnchorView is an anchor with the outcome of checking that its checkpoint is a prefix of
// the latest one.
type AnchorView struct {
	store.Anchor
	// Consistent is "consistent", or what is wrong; empty when the anchored checkpoint is
	// the latest one.
	Consistent string
	OK         bool
}

// Log reads the log's checkpoint and anchors (admin only), and checks each anchored
// checkpoint's consistency with the latest checkpoint by a proof from the log: the check a
// client makes, made here so that an operator sees a fork before a client does.
func (a *Admin) Log(ctx context.Context, by *Principal) (*LogView, error) {
	if err := RequireAdmin(by); err != nil {
		return nil, err
	}
	cp, err := a.checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	as, err := a.svc.store.Anchors(ctx, store.MaxPageLimit)
	if err != nil {
		return nil, err
	}
	v := &LogView{Checkpoint: cp}
	for _, an := range as {
		av := AnchorView{Anchor: an}
		av.Consistent, av.OK = a.consistent(ctx, an, cp)
		v.Anchors = append(v.Anchors, av)
	}
	return v, nil
}

func (a *Admin) consistent(ctx context.Context, an store.Anchor, latest *Checkpoint) (string, bool) {
	old, err := parseCheckpoint([]byte(an.Checkpoint))
	if err != nil {
		return err.Error(), false
	}
	switch {
	case old.Size > latest.Size:
		return fmt.Sprintf("anchored size %d is larger than the log's %d", old.Size, latest.Size), false
	case old.Size == latest.Size:
		if !bytes.Equal(old.Root, latest.Root) {
			return "same size as the latest checkpoint but another root", false
		}
		return "the latest checkpoint", true
	case old.Size == 0:
		return "consistent (empty)", true
	}
	hashes, err := a.svc.Consistency(ctx, old.Size, latest.Size)
	if err != nil {
		return "no consistency proof: " + err.Error(), false
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, old.Size, latest.Size, hashes, old.Root, latest.Root); err != nil {
		return "inconsistent: " + err.Error(), false
	}
	return fmt.Sprintf("consistent with size %d (%d hashes)", latest.Size, len(hashes)), true
}

// RetryJob makes a job available again (admin only), audit-logged in the same transaction.
func (a *Admin) RetryJob(ctx context.Context, by *Principal, id int64) (*rivertype.JobRow, error) {
	return a.controlJob(ctx, by, id, "job.retry", a.jobs.Retry)
}

// CancelJob cancels a job (admin only), audit-logged in the same transaction.
func (a *Admin) CancelJob(ctx context.Context, by *Principal, id int64) (*rivertype.JobRow, error) {
	return a.controlJob(ctx, by, id, "job.cancel", a.jobs.Cancel)
}

func (a *Admin) controlJob(ctx context.Context, by *Principal, id int64, action string,
	op func(context.Context, *store.Tx, int64) (*rivertype.JobRow, error)) (*rivertype.JobRow, error) {
	if err := RequireAdmin(by); err != nil {
		return nil, err
	}
	var j *rivertype.JobRow
	err := a.svc.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if j, err = op(ctx, tx, id); err != nil {
			if errors.Is(err, jobs.ErrNotFound) {
				return fmt.Errorf("%w: job %d", ErrNotFound, id)
			}
			return err
		}
		return audit(ctx, tx, a.svc.clock(), by.Actor(), action, fmt.Sprintf("job:%d", id), j.Kind+" now "+string(j.State))
	})
	return j, err
}

// Jobs lists River's jobs (admin only).
func (a *Admin) Jobs(ctx context.Context, by *Principal, p jobs.ListParams) ([]*rivertype.JobRow, string, error) {
	if err := RequireAdmin(by); err != nil {
		return nil, "", err
	}
	return a.jobs.List(ctx, p)
}

// PublishKeys publishes the keys of a shape from a directory on the server (admin only).
func (a *Admin) PublishKeys(ctx context.Context, by *Principal, dir string) (string, error) {
	return a.publish(ctx, by, "from "+dir, func() (string, error) { return a.keys.Publish(ctx, dir) })
}

// GenerateKeys makes the keys of a shape on the server with a single-party setup and
// publishes them (admin only; refused where a ceremony is required).
func (a *Admin) GenerateKeys(ctx context.Context, by *Principal, keyed circuit.Keyed) (string, error) {
	return a.publish(ctx, by, "generated by a single-party setup", func() (string, error) { return a.keys.Generate(ctx, keyed) })
}

func (a *Admin) publish(ctx context.Context, by *Principal, how string, do func() (string, error)) (string, error) {
	if err := RequireAdmin(by); err != nil {
		return "", err
	}
	shape, err := do()
	if err != nil {
		return "", err
	}
	// The keys are files, published by a rename: the audit record follows it, and a crash
	// between the two leaves published keys without their record, never the reverse.
	err = a.svc.store.InTx(ctx, func(tx *store.Tx) error {
		return audit(ctx, tx, a.svc.clock(), by.Actor(), "circuit_keys.publish", "shape:"+shape, how)
	})
	return shape, err
}
