package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/registry/jobs"
	"github.com/comet-attest/comet/registry/keyset"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
	"github.com/riverqueue/river/rivertype"
)

type dashboardData struct {
	*service.Dashboard
	Statuses  []statusCount
	JobStates []statusCount
	Chart     dayChart
}

type statusCount struct {
	Name string
	N    int64
	// AtLeast says the count stopped at a cap.
	AtLeast bool
}

// dayChart is the submissions-per-day bar chart, laid out here so that the template only
// places what it is given (inline SVG: no script, no style attribute).
type dayChart struct {
	Width, Height int
	Bars          []dayBar
	Max           int
	Total         int
}

type dayBar struct {
	X, Y, W, H int
	N          int
	Label      string // the day, for the axis
	Title      string // the day and count, for a tooltip and screen readers
}

const chartW, chartH, chartPad = 560, 160, 20

func newDayChart(days []service.DayCount) dayChart {
	c := dayChart{Width: chartW, Height: chartH + chartPad}
	for _, d := range days {
		c.Max = max(c.Max, d.N)
		c.Total += d.N
	}
	if len(days) == 0 {
		return c
	}
	step := chartW / len(days)
	for i, d := range days {
		h := 0
		if c.Max > 0 {
			h = d.N * (chartH - 10) / c.Max
		}
		if d.N > 0 {
			h = max(h, 2)
		}
		c.Bars = append(c.Bars, dayBar{X: i*step + 2, Y: chartH - h, W: step - 4, H: h, N: d.N,
			Label: d.Day.Format("01-02"), Title: fmt.Sprintf("%s: %d submission(s)", d.Day.Format("2006-01-02"), d.N)})
	}
	return c
}

func (s *Site) dashboard(w http.ResponseWriter, r *http.Request, sess *service.Session) {
	d, err := s.cfg.Admin.Admin.Dashboard(r.Context(), sess.Principal)
	if err != nil {
		s.adminError(w, r, sess, err)
		return
	}
	data := dashboardData{Dashboard: d, Chart: newDayChart(d.PerDay)}
	for _, st := range []store.SubmissionStatus{store.StatusReceived, store.StatusVerifying, store.StatusLogged, store.StatusRejected} {
		data.Statuses = append(data.Statuses, statusCount{Name: string(st), N: d.Counts.Submissions[st]})
	}
	for _, st := range jobs.States() {
		data.JobStates = append(data.JobStates, statusCount{Name: st, N: int64(d.Jobs[st]), AtLeast: d.Jobs[st] >= d.JobsCap})
	}
	s.adminPage(w, r, sess, http.StatusOK, "admin/dashboard", "Admin dashboard", data)
}

type providersData struct {
	Accounts []service.Account
	Status   string
	Next     string
}

func (s *Site) providers(w http.ResponseWriter, r *http.Request, sess *service.Session) {
	q := r.URL.Query()
	as, next, err := s.cfg.Admin.Admin.Accounts(r.Context(), sess.Principal, store.ProviderStatus(q.Get("status")), store.Page{Limit: 100, Cursor: q.Get("cursor")})
	if err != nil {
		s.adminError(w, r, sess, err)
		return
	}
	s.adminPage(w, r, sess, http.StatusOK, "admin/providers", "Providers and evaluators", providersData{Accounts: as, Status: q.Get("status"), Next: next})
}

func (s *Site) setProvider(w http.ResponseWriter, r *http.Request, sess *service.Session) {
	id, action := r.PathValue("id"), service.ProviderAction(r.PostForm.Get("action"))
	p, err := s.cfg.Admin.Admin.Service().SetProvider(r.Context(), sess.Principal, id, action, strings.TrimSpace(r.PostForm.Get("reason")))
	if err != nil {
		s.adminError(w, r, sess, err)
		return
	}
	s.done(w, r, sess, "/admin/providers", "%s %s is now %s.", p.Role, p.ID, p.Status)
}

func (s *Site) issueKey(w http.ResponseWriter, r *http.Request, sess *service.Session) {
	id := r.PathValue("id")
	label := strings.TrimSpace(r.PostForm.Get("label"))
	if label == "" {
		label = "issued in the admin console"
	}
	raw, k, err := s.cfg.Admin.Admin.Service().IssueKey(r.Context(), sess.Principal, id, label)
	if err != nil {
		s.adminError(w, r, sess, err)
		return
	}
	s.adminPage(w, r, sess, http.StatusOK, "admin/result", "New API key", resultData{
		Message: fmt.Sprintf("API key %s issued to %s. Copy it now: it is shown only this once, and the registry keeps only its hash.", k.ID, id),
		Secret:  raw, Back: "/admin/providers"})
}

func (s *Site) revokeKey(w http.ResponseWriter, r *http.Request, sess *service.Session) {
	id := r.PathValue("id")
	if err := s.cfg.Admin.Admin.Service().RevokeKey(r.Context(), sess.Principal, id); err != nil {
		s.adminError(w, r, sess, err)
		return
	}
	s.done(w, r, sess, "/admin/providers", "API key %s is revoked.", id)
}

type modelsData struct {
	Filter store.ModelFilter
	Models []store.Model
	Next   string
	Query  string // the filter as a query string, for the next page's link
}

func (s *Site) models(w http.ResponseWriter, r *http.Request, sess *service.Session) {
	q := r.URL.Query()
	f := store.ModelFilter{SHA256Prefix: strings.ToLower(strings.TrimSpace(q.Get("sha256"))), ProviderID: strings.TrimSpace(q.Get("provider")),
		DatasetCommitment: strings.TrimSpace(q.Get("dataset")), Name: strings.TrimSpace(q.Get("name"))}
	ms, next, err := s.cfg.Admin.Admin.SearchModels(r.Context(), sess.Principal, f, store.Page{Limit: 50, Cursor: q.Get("cursor")})
	if err != nil {
		s.adminError(w, r, sess, err)
		return
	}
	q.Del("cursor")
	s.adminPage(w, r, sess, http.StatusOK, "admin/models", "Models", modelsData{Filter: f, Models: ms, Next: next, Query: q.Encode()})
}

func (s *Site) model(w http.ResponseWriter, r *http.Request, sess *service.Session) {
	d, err := s.cfg.Admin.Admin.ModelDetail(r.Context(), sess.Principal, r.PathValue("sha256"))
	if err != nil {
		s.adminError(w, r, sess, err)
		return
	}
	v := d.View
	data := adminModelData{ModelDetail: d, Status: "no submission", FailedCheck: deref(v.FailedCheck), Message: deref(v.Message), Reason: deref(v.RevocationReason)}
	if v.Status != nil {
		data.Status = string(*v.Status)
	}
	s.adminPage(w, r, sess, http.StatusOK, "admin/model", "Model "+v.SHA256[:min(12, len(v.SHA256))], data)
}

// adminModelData is a model's detail with the view's optional strings read out for the template.
type adminModelData struct {
	*service.ModelDetail
	Status, FailedCheck, Message, Reason string
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (s *Site) revokeModel(w http.ResponseWriter, r *http.Request, sess *service.Session) {
	sha := r.PathValue("sha256")
	rev, err := s.cfg.Admin.Admin.RevokeModel(r.Context(), sess.Principal, sha, r.PostForm.Get("reason"))
	if err != nil {
		s.adminError(w, r, sess, err)
		return
	}
	s.done(w, r, sess, "/admin/models/"+sha, "The attestation of model %s is revoked (revocation %s); it is appended to the log shortly.", sha, rev.ID)
}

type jobsData struct {
	Jobs   []jobView
	States []string
	State  string
	Kind   string
	Next   string
}

func (s *Site) jobs(w http.ResponseWriter, r *http.Request, sess *service.Session) {
	q := r.URL.Query()
	p := jobs.ListParams{State: q.Get("state"), Kind: strings.TrimSpace(q.Get("kind")), Limit: 50, Cursor: q.Get("cursor")}
	if p.State != "" && !slices.Contains(jobs.States(), p.State) {
		s.adminError(w, r, sess, &service.InvalidError{Field: "state", Err: fmt.Errorf("state must be one of %s", strings.Join(jobs.States(), ", "))})
		return
	}
	js, next, err := s.cfg.Admin.Admin.Jobs(r.Context(), sess.Principal, p)
	if err != nil {
		s.adminError(w, r, sess, err)
		return
	}
	views := make([]jobView, 0, len(js))
	for _, j := range js {
		v := jobView{JobRow: j, CanRetry: jobs.CanRetry(j.State), CanCancel: jobs.CanCancel(j.State)}
		if n := len(j.Errors); n > 0 {
			v.LastError = j.Errors[n-1].Error
		}
		views = append(views, v)
	}
	s.adminPage(w, r, sess, http.StatusOK, "admin/jobs", "Jobs", jobsData{Jobs: views, States: jobs.States(), State: p.State, Kind: p.Kind, Next: next})
}

// jobView is a job with its latest error, the one an operator acts on.
type jobView struct {
	*rivertype.JobRow
	LastError           string
	CanRetry, CanCancel bool
}

func (s *Site) controlJob(w http.ResponseWriter, r *http.Request, sess *service.Session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		s.adminError(w, r, sess, &service.InvalidError{Field: "id", Err: fmt.Errorf("job id %q is not a positive integer", r.PathValue("id"))})
		return
	}
	op := s.cfg.Admin.Admin.RetryJob
	switch r.PathValue("op") {
	case "retry":
	case "cancel":
		op = s.cfg.Admin.Admin.CancelJob
	default:
		s.notFound(w, r, "There is no such job action.")
		return
	}
	j, err := op(r.Context(), sess.Principal, id)
	if err != nil {
		s.adminError(w, r, sess, err)
		return
	}
	s.done(w, r, sess, "/admin/jobs", "Job %d (%s) is now %s.", j.ID, j.Kind, j.State)
}

type circuitsData struct {
	Circuits []keyset.Circuit
}

func (s *Site) circuits(w http.ResponseWriter, r *http.Request, sess *service.Session) {
	s.adminPage(w, r, sess, http.StatusOK, "admin/circuits", "Circuit keys", circuitsData{Circuits: s.cfg.Admin.Keys.Circuits()})
}

func (s *Site) publishKeys(w http.ResponseWriter, r *http.Request, sess *service.Session) {
	shape, err := s.cfg.Admin.Admin.PublishKeys(r.Context(), sess.Principal, strings.TrimSpace(r.PostForm.Get("dir")))
	if err != nil {
		s.adminError(w, r, sess, err)
		return
	}
	s.done(w, r, sess, "/admin/circuits", "The keys of shape %s are published: GET /v1/keys lists them now.", shape)
}

func (s *Site) generateKeys(w http.ResponseWriter, r *http.Request, sess *service.Session) {
	f := r.PostForm
	var sh circuit.Shape
	for _, field := range []struct {
		name string
		into *int
	}{{"d", &sh.Features}, {"chunk_rows", &sh.ChunkRows}, {"value_bits", &sh.ValueBits}, {"fraction_bits", &sh.FractionBits}} {
		n, err := strconv.Atoi(strings.TrimSpace(f.Get(field.name)))
		if err != nil {
			s.adminError(w, r, sess, &service.InvalidError{Field: field.name, Err: fmt.Errorf("%q is not a whole number", f.Get(field.name))})
			return
		}
		*field.into = n
	}
	sh.Intercept = f.Get("intercept") == "on"
	shape, err := s.cfg.Admin.Admin.GenerateKeys(r.Context(), sess.Principal, sh)
	if err != nil {
		s.adminError(w, r, sess, err)
		return
	}
	s.done(w, r, sess, "/admin/circuits", "Keys of shape %s were generated by a single-party setup and are published.", shape)
}

func (s *Site) adminLogPage(w http.ResponseWriter, r *http.Request, sess *service.Session) {
	v, err := s.cfg.Admin.Admin.Log(r.Context(), sess.Principal)
	if err != nil {
		s.adminError(w, r, sess, err)
		return
	}
	s.adminPage(w, r, sess, http.StatusOK, "admin/log", "Log and anchors", v)
}

type auditData struct {
	Filter store.AuditFilter
	Events []store.AuditEvent
	Next   string
	Query  string
}

func (s *Site) audit(w http.ResponseWriter, r *http.Request, sess *service.Session) {
	q := r.URL.Query()
	f := store.AuditFilter{Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")), Subject: strings.TrimSpace(q.Get("subject"))}
	evs, next, err := s.cfg.Admin.Admin.Audit(r.Context(), sess.Principal, f, store.Page{Limit: 100, Cursor: q.Get("cursor")})
	if err != nil {
		s.adminError(w, r, sess, err)
		return
	}
	q.Del("cursor")
	s.adminPage(w, r, sess, http.StatusOK, "admin/audit", "Audit log", auditData{Filter: f, Events: evs, Next: next, Query: q.Encode()})
}

type sessionsData struct {
	Sessions []store.AdminSession
	Current  string
}

func (s *Site) sessions(w http.ResponseWriter, r *http.Request, sess *service.Session) {
	ss, err := s.cfg.Admin.Sessions.List(r.Context(), sess.Principal)
	if err != nil {
		s.adminError(w, r, sess, err)
		return
	}
	s.adminPage(w, r, sess, http.StatusOK, "admin/sessions", "Admin sessions", sessionsData{Sessions: ss, Current: sess.ID})
}

func (s *Site) revokeSession(w http.ResponseWriter, r *http.Request, sess *service.Session) {
	id := r.PathValue("id")
	if err := s.cfg.Admin.Sessions.Revoke(r.Context(), sess.Principal, id); err != nil {
		s.adminError(w, r, sess, err)
		return
	}
	s.done(w, r, sess, "/admin/sessions", "Session %s is ended.", id)
}
