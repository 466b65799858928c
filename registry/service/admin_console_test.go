package service_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/registry/keyset"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
)

// The console's reads and actions over a real store, log and queue: two logged models, an
// honest anchor and a forged one, and each action leaving its audit record.
func TestAdminConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("the console over a real store, log, queue and a forged anchor (3 s)")
	}
	e := newEnv(t, nil)
	ctx := context.Background()
	set, err := keyset.Open(filepath.Join(t.TempDir(), "keys"), keyset.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := service.NewAdmin(e.svc, e.queue, set)
	if err != nil {
		t.Fatal(err)
	}
	var shas []string
	var jobIDs []int64
	for i := 1; i <= 2; i++ {
		s := e.submit(t, i, nil)
		if err := e.svc.ProcessSubmission(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		shas, jobIDs = append(shas, s.ModelSHA256), append(jobIDs, *s.JobID)
		if i == 1 {
			e.logSize(t, 1)
			raw, cp, err := e.log.Checkpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.st.InTx(ctx, func(tx *store.Tx) error {
				return tx.Create(ctx, &store.Anchor{TreeSize: int64(cp.Size), Root: fmt.Sprintf("%x", cp.Hash), Checkpoint: string(raw),
					Status: store.AnchorAccepted, TxHash: "0xabc"})
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.logSize(t, 2)
	raw, _, err := e.log.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A forged anchor: the latest checkpoint's size and signature lines, another root.
	lines := strings.SplitN(string(raw), "\n", 4)
	forged := lines[0] + "\n" + lines[1] + "\n" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" + "\n" + lines[3]
	if err := e.st.InTx(ctx, func(tx *store.Tx) error {
		return tx.Create(ctx, &store.Anchor{TreeSize: 2, Root: "00", Checkpoint: forged, Status: store.AnchorSubmitted, TxHash: "0xdef"})
	}); err != nil {
		t.Fatal(err)
	}

	if _, err := a.Dashboard(ctx, e.prov); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("a provider read the dashboard: %v", err)
	}
	d, err := a.Dashboard(ctx, e.admin)
	if err != nil {
		t.Fatal(err)
	}
	if d.Counts.Models != 2 || d.Counts.Attested != 2 || d.Counts.Submissions[store.StatusLogged] != 2 || d.Counts.Providers[store.ProviderApproved] != 1 {
		t.Errorf("counts %+v", d.Counts)
	}
	if len(d.PerDay) != service.ChartDays || d.PerDay[service.ChartDays-1].N != 2 || d.PerDay[0].N != 0 {
		t.Errorf("per day %+v", d.PerDay)
	}
	if d.Checkpoint == nil || d.Checkpoint.Size != 2 || strings.Join(d.Checkpoint.Signers, ",") != "comet.test/log" || d.Anchor == nil || d.Anchor.TxHash != "0xdef" {
		t.Errorf("checkpoint %+v, %s; anchor %+v", d.Checkpoint, d.CheckpointErr, d.Anchor)
	}
	if d.Jobs["available"] != 2 {
		t.Errorf("jobs %v", d.Jobs)
	}

	lv, err := a.Log(ctx, e.admin)
	if err != nil {
		t.Fatal(err)
	}
	if len(lv.Anchors) != 2 || lv.Anchors[0].OK || !strings.Contains(lv.Anchors[0].Consistent, "another root") ||
		!lv.Anchors[1].OK || !strings.HasPrefix(lv.Anchors[1].Consistent, "consistent with size 2") {
		t.Errorf("anchors %+v", lv.Anchors)
	}

	for _, tc := range []struct {
		f    store.ModelFilter
		want int
		err  bool
	}{
		{f: store.ModelFilter{}, want: 2},
		{f: store.ModelFilter{SHA256Prefix: shas[0][:8]}, want: 1},
		{f: store.ModelFilter{Name: "MODEL.J"}, want: 2},
		{f: store.ModelFilter{Name: "%"}, want: 0},
		{f: store.ModelFilter{ProviderID: "acme-legal", DatasetCommitment: e.fix.ModelSHA256}, want: 0},
		{f: store.ModelFilter{SHA256Prefix: "XYZ"}, err: true},
	} {
		ms, _, err := a.SearchModels(ctx, e.admin, tc.f, store.Page{})
		var inv *service.InvalidError
		if tc.err != errors.As(err, &inv) || (!tc.err && (err != nil || len(ms) != tc.want)) {
			t.Errorf("search %+v: %d models, %v; want %d", tc.f, len(ms), err, tc.want)
		}
	}

	md, err := a.ModelDetail(ctx, e.admin, shas[0])
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, s := range md.Submissions[0].Steps {
		actions = append(actions, s.Action)
	}
	if got := strings.Join(actions, " "); got != "submission.create attestation.sign attestation.log" || md.Anchor == nil || md.Anchor.TxHash != "0xabc" {
		t.Errorf("steps %q, anchor %+v", got, md.Anchor)
	}
	if _, err := a.ModelDetail(ctx, e.admin, strings.Repeat("0", 64)); !errors.Is(err, service.ErrNotFound) {
		t.Errorf("detail of no model: %v", err)
	}
	if _, err := a.RevokeModel(ctx, e.admin, shas[0], "data withdrawn"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RevokeModel(ctx, e.admin, shas[0], "again"); !errors.Is(err, service.ErrConflict) {
		t.Errorf("revoke twice: %v", err)
	}
	if md, _ := a.ModelDetail(ctx, e.admin, shas[0]); md.View.RevocationReason == nil || len(md.Revocation) != 1 || md.Revocation[0].Action != "attestation.revoke" {
		t.Errorf("after revoking: %+v", md.Revocation)
	}

	// The verification jobs were never worked (the queue is not started): cancel and retry.
	if j, err := a.CancelJob(ctx, e.admin, jobIDs[0]); err != nil || j.State != "cancelled" {
		t.Fatalf("cancel: %+v, %v", j, err)
	}
	if _, err := a.CancelJob(ctx, e.admin, jobIDs[0]); !errors.Is(err, service.ErrConflict) {
		t.Errorf("cancel twice: %v", err)
	}
	if j, err := a.RetryJob(ctx, e.admin, jobIDs[0]); err != nil || j.State != "available" {
		t.Errorf("retry: %+v, %v", j, err)
	}
	if _, err := a.RetryJob(ctx, e.admin, 999999); !errors.Is(err, service.ErrNotFound) {
		t.Errorf("retry of no job: %v", err)
	}
	if _, err := a.RetryJob(ctx, e.prov, jobIDs[0]); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("a provider retried a job: %v", err)
	}

	shape, err := a.PublishKeys(ctx, e.admin, setup.Dir(e.fix.KeysDir, e.fix.Shape))
	if err != nil || shape != e.fix.Shape.String() || len(set.Circuits()) != 2 {
		t.Fatalf("publish: %q, %v", shape, err)
	}
	evs, _, err := a.Audit(ctx, e.admin, store.AuditFilter{Actor: e.admin.Actor()}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	actions = nil
	for _, ev := range evs {
		actions = append(actions, ev.Action+" "+ev.Subject)
	}
	want := []string{"circuit_keys.publish shape:" + shape, fmt.Sprintf("job.retry job:%d", jobIDs[0]), fmt.Sprintf("job.cancel job:%d", jobIDs[0]),
		"attestation.revoke attestation:" + *md.View.AttestationID, "provider.approve provider:acme-legal"}
	if strings.Join(actions, "\n") != strings.Join(want, "\n") {
		t.Errorf("the admin's audit trail, newest first:\n%s\nwant\n%s", strings.Join(actions, "\n"), strings.Join(want, "\n"))
	}
	if evs, _, _ := a.Audit(ctx, e.admin, store.AuditFilter{Action: "job."}, store.Page{}); len(evs) != 2 {
		t.Errorf("audit of every job action: %+v", evs)
	}
}
