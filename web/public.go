package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/internal/hexdigest"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/registry/store"
	"github.com/comet-attest/comet/registry/stored"
)

// PublicConfig is what the public pages read. Without Records the site serves the search
// form only, and every record page answers 404 (a site built for a test of other pages).
type PublicConfig struct {
	// Records are the store's reads; *store.Store provides them.
	Records PublicRecords
	// Registry is the registry's service; *service.Service provides it.
	Registry PublicRegistry
	// LogOrigin is the log's origin line: a checkpoint's signatures by other names are
	// witness cosignatures.
	LogOrigin string
}

// PublicRecords is what the public pages read from the store directly.
type PublicRecords interface {
	ModelView(ctx context.Context, sha256 string) (*store.ModelView, error)
	PublicModelFile(ctx context.Context, sha256, providerID string) (*store.ModelFile, error)
	Provider(ctx context.Context, id string) (*store.Provider, error)
	Revoked(ctx context.Context, attestationID string) (bool, error)
	Anchors(ctx context.Context, limit int) ([]store.Anchor, error)
	AnchorCovering(ctx context.Context, index int64) (*store.Anchor, error)
	PublicAttestations(ctx context.Context, p store.Page) ([]store.PublicModel, string, error)
	ProviderModels(ctx context.Context, providerID string, p store.Page) ([]store.PublicModel, string, error)
	ModelsByPrefix(ctx context.Context, prefix string, limit int) ([]store.PublicModel, error)
}

// PublicRegistry is what the public pages ask of the registry's rules: what GET
// /v1/models/{sha256}/evaluations and GET /v1/log/checkpoint serve.
type PublicRegistry interface {
	ModelEvaluations(ctx context.Context, sha256 string, p store.Page) ([]store.Evaluation, string, error)
	Checkpoint(ctx context.Context) ([]byte, error)
}

const (
	pageSize       = 20
	minPrefix      = 8
	maxPrefixMatch = 50
	logAnchors     = 10
	modelEvals     = 50
)

func (s *Site) publicRoutes() {
	if reg := s.cfg.Public.Registry; reg != nil {
		s.cfg.Public.Registry = &cachedRegistry{PublicRegistry: reg, now: time.Now}
	}
	s.mux.HandleFunc("GET /{$}", s.home)
	s.mux.HandleFunc("GET /models/{sha256}", s.modelPage)
	s.mux.HandleFunc("GET /providers/{id}", s.providerPage)
	s.mux.HandleFunc("GET /log", s.logPage)
}

// homeData is the home page: the search form, what a search found, and the recent
// attestations.
type homeData struct {
	Query   string
	Error   string
	Matches []store.PublicModel
	// Searched is set when Matches answers a prefix search.
	Searched bool
	Recent   []store.PublicModel
	Next     string
	// Paged is set on a page after the first.
	Paged bool
}

func (s *Site) home(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := homeData{Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	status := http.StatusOK
	rec := s.cfg.Public.Records
	if d.Query != "" {
		q := strings.ToLower(d.Query)
		switch {
		case hexdigest.Valid(q):
			http.Redirect(w, r, "/models/"+q, http.StatusSeeOther)
			return
		case !isHex(q):
			d.Error = "A model is looked up by the SHA-256 of its model file: 64 hexadecimal digits (0-9, a-f), or at least 8 of its first digits. What you entered has other characters."
		case len(q) < minPrefix:
			d.Error = fmt.Sprintf("Enter at least %d hexadecimal digits of the SHA-256 (you entered %d), or all 64.", minPrefix, len(q))
		case len(q) > 64:
			d.Error = fmt.Sprintf("A SHA-256 has 64 hexadecimal digits; you entered %d.", len(q))
		default:
			d.Searched = true
			if rec != nil {
				m, err := rec.ModelsByPrefix(ctx, q, maxPrefixMatch)
				if err != nil {
					s.fail(w, r, err)
					return
				}
				d.Matches = m
			}
		}
		if d.Error != "" {
			status = http.StatusBadRequest
		}
	}
	if rec != nil && d.Error == "" {
		cursor := r.URL.Query().Get("cursor")
		d.Paged = cursor != ""
		recent, next, err := rec.PublicAttestations(ctx, store.Page{Limit: pageSize, Cursor: cursor})
		if errors.Is(err, store.ErrBadCursor) {
			s.badRequest(w, r, "This page link is not one this site made: its cursor is unknown. Start again from the first page.")
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Recent, d.Next = recent, next
	}
	title := "Comet"
	if d.Error != "" {
		title = "Search: not a model hash"
	}
	s.render(w, r, status, "home", Page{Title: title, Nav: "home", Data: d})
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// badRequest answers 400 with a page saying what is wrong.
func (s *Site) badRequest(w http.ResponseWriter, r *http.Request, what string) {
	s.render(w, r, http.StatusBadRequest, "error", Page{Title: "Bad request", Data: what})
}

// modelData is a model's page. Proven are what the registry checked and signed (the
// attestation's predicate); claimed are what the provider says and nobody checked.
type modelData struct {
	SHA256 string
	// Claimed.
	Name         string
	ProviderID   string
	ProviderName string
	Label        string
	FileKind     string
	// Status is none, received, verifying, logged or rejected.
	Status      string
	FailedCheck string
	Message     string

	Attested      bool
	AttestationID string
	IssuedAt      time.Time
	KeyID         string
	LogIndex      *int64
	Training      *statement.Training
	Guarantee     string

	Revoked          bool
	RevocationReason string
	RevokedAt        time.Time
	RevocationIndex  *int64

	// DatasetCommitment and Header are proven when Attested, and otherwise what the
	// submission's manifest says.
	DatasetCommitment string
	Header            *commitment.Header
	Featurizer        *featurizerView

	Weights []weightRow
	Chart   *chart

	Evaluations []evalView
	MoreEvals   bool

	Checkpoint *checkpointView
	InLog      bool
	Anchor     *store.Anchor
	LogError   string
}

type featurizerView struct {
	Name, Version, SpecSHA256, CorpusDigest string
	Params                                  []param
}

type param struct{ Key, Value string }

func (s *Site) modelPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sha := r.PathValue("sha256")
	rec := s.cfg.Public.Records
	if !hexdigest.Valid(sha) {
		s.notFound(w, r, "A model's address is /models/ followed by the 64 lower-case hexadecimal digits of its SHA-256; this one is not.")
		return
	}
	if rec == nil {
		s.notFound(w, r, "No model "+sha+" is registered here.")
		return
	}
	v, err := rec.ModelView(ctx, sha)
	if errors.Is(err, store.ErrNotFound) {
		s.notFound(w, r, "No model "+sha+" is registered here.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := modelData{SHA256: v.SHA256, Name: v.Name, ProviderID: v.ProviderID, DatasetCommitment: v.DatasetCommitment, Status: "none"}
	if v.Status != nil {
		d.Status = string(*v.Status)
		d.FailedCheck, d.Message = deref(v.FailedCheck), deref(v.Message)
	}
	if v.AttestationID != nil {
		d.Attested, d.AttestationID, d.LogIndex, d.KeyID = true, *v.AttestationID, v.LogIndex, deref(v.KeyID)
		if v.IssuedAt != nil {
			d.IssuedAt = *v.IssuedAt
		}
		tr, err := stored.Training(v.Envelope)
		if err != nil {
			s.fail(w, r, fmt.Errorf("model %s: %w", sha, err))
			return
		}
		d.Training, d.Guarantee = tr, guaranteeText(tr)
		d.DatasetCommitment = tr.Dataset.Commitment
		h := tr.Dataset.Header
		d.Header = &h
		if f := tr.Featurizer; f != nil {
			d.Featurizer = &featurizerView{Name: f.Name, Version: f.Version, SpecSHA256: f.SpecSHA256, CorpusDigest: f.CorpusDigest, Params: params(f.Params)}
		}
	} else if len(v.Manifest) > 0 {
		// Not attested: the submitted manifest's header and featurizer, claimed.
		if m, err := commitment.ParseManifest(v.Manifest); err == nil {
			h := m.Header
			d.Header = &h
			if f := m.Featurizer; f != nil {
				d.Featurizer = &featurizerView{Name: f.Name, Version: f.Version, SpecSHA256: f.SpecSHA256, CorpusDigest: f.CorpusDigest, Params: params(f.Params)}
			}
		}
	}
	if v.RevocationID != nil {
		d.Revoked, d.RevocationReason, d.RevocationIndex = true, deref(v.RevocationReason), v.RevocationLogIndex
		if v.RevokedAt != nil {
			d.RevokedAt = *v.RevokedAt
		}
	}
	mf, err := rec.PublicModelFile(ctx, sha, v.ProviderID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.ProviderName = mf.ProviderName
	if mod, err := parseModelFile(mf.Body); err == nil {
		d.Label, d.FileKind = mod.Label, mod.Kind
		d.Weights = weightsOf(mod)
		d.Chart = newChart(d.Weights)
		if d.Training != nil {
			d.Guarantee += looseDistance(d.Training.Guarantee.DistanceBound, d.Weights)
		}
	} else {
		s.cfg.Logger.ErrorContext(ctx, "model page: stored model file unreadable", "model", sha, "error", err)
	}
	if reg := s.cfg.Public.Registry; reg != nil {
		evs, next, err := reg.ModelEvaluations(ctx, sha, store.Page{Limit: modelEvals})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.MoreEvals = next != ""
		for i := range evs {
			ev, err := s.evaluationView(ctx, &evs[i])
			if err != nil {
				s.fail(w, r, err)
				return
			}
			d.Evaluations = append(d.Evaluations, ev)
		}
		if d.LogIndex != nil {
			if raw, err := reg.Checkpoint(ctx); err == nil {
				cp := parseCheckpoint(raw, s.cfg.Public.LogOrigin)
				d.Checkpoint = &cp
				d.InLog = cp.Size > uint64(*d.LogIndex)
			} else {
				d.LogError = "The log's checkpoint could not be read just now."
			}
			a, err := rec.AnchorCovering(ctx, *d.LogIndex)
			switch {
			case err == nil:
				d.Anchor = a
			case !errors.Is(err, store.ErrNotFound):
				s.fail(w, r, err)
				return
			}
		}
	}
	s.render(w, r, http.StatusOK, "model", Page{Title: "Model " + clean(d.Name), Nav: "home", Data: d})
}

func params(m map[string]string) []param {
	out := make([]param, 0, len(m))
	for k, v := range m {
		out = append(out, param{k, v})
	}
	// Sorted, so that the page is the same each time.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Key < out[j-1].Key; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// guaranteeText says in words what the attestation's predicate says the proof guarantees,
// as comet verify does (attest/verify).
func guaranteeText(tr *statement.Training) string {
	g := tr.Guarantee
	s := fmt.Sprintf("every entry of the training objective's gradient at these weights (%s, λ = %s) is at most tau = %s in absolute value", tr.Model.Kind, tr.Model.Lambda, tr.Model.Tau)
	switch g.RelativeGradient {
	case "", "inf":
	default:
		s += fmt.Sprintf(", %s relative to the scale of the data", g.RelativeGradient)
	}
	if g.DistanceBound != "" {
		s += fmt.Sprintf(". So the weights are within %s (Euclidean distance, in the model's units) of the exact ridge optimum, and the objective is within %s of its minimum", g.DistanceBound, g.LossGapBound)
	}
	return s + "."
}

// looseDistance says in plain words when the proven distance to the optimum exceeds the
// weights' own size: true, but no bound a reader can use (the gradient bound tau, scaled by
// the largest value the format allows, can be far above the weights), so that a visitor does
// not read it as one.
func looseDistance(bound string, ws []weightRow) string {
	b, err := strconv.ParseFloat(bound, 64)
	if err != nil || len(ws) == 0 {
		return ""
	}
	var sq float64
	for _, w := range ws {
		sq += w.Value * w.Value
	}
	norm := math.Sqrt(sq)
	if b <= norm {
		return ""
	}
	return fmt.Sprintf(" That distance is larger than the weights themselves (their Euclidean norm is %s), so it bounds nothing a reader can use; the relative gradient says how close to optimal the weights are.",
		strconv.FormatFloat(norm, 'g', 4, 64))
}

// evalView is one proven evaluation of the model.
type evalView struct {
	ID             string
	EvaluatorID    string
	TestCommitment string
	Task           string
	Metrics        statement.EvalMetrics
	IssuedAt       time.Time
	LogIndex       *int64
	Revoked        bool
}

func (s *Site) evaluationView(ctx context.Context, ev *store.Evaluation) (evalView, error) {
	v := evalView{ID: ev.ID, EvaluatorID: ev.EvaluatorID, TestCommitment: ev.TestCommitment, LogIndex: ev.LogIndex}
	if ev.IssuedAt != nil {
		v.IssuedAt = *ev.IssuedAt
	}
	if len(ev.Envelope) > 0 {
		st, err := stored.Evaluation(ev.Envelope)
		if err != nil {
			return v, fmt.Errorf("evaluation %s: %w", ev.ID, err)
		}
		v.Task, v.Metrics, v.EvaluatorID = st.Task, st.Metrics, st.Evaluator
		v.IssuedAt = st.IssuedAt
	}
	if ev.AttestationID != nil {
		var err error
		if v.Revoked, err = s.cfg.Public.Records.Revoked(ctx, *ev.AttestationID); err != nil {
			return v, err
		}
	}
	return v, nil
}

// providerData is a provider's page: what anyone may know of it (never its contact or
// keys) and its models.
type providerData struct {
	ID, Name, Status, Role string
	Since                  time.Time
	Models                 []store.PublicModel
	Next                   string
	Paged                  bool
}

func (s *Site) providerPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	rec := s.cfg.Public.Records
	if rec == nil || !validProviderID(id) {
		s.notFound(w, r, "No provider has this id.")
		return
	}
	p, err := rec.Provider(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		s.notFound(w, r, "No provider "+id+" is registered here.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cursor := r.URL.Query().Get("cursor")
	models, next, err := rec.ProviderModels(ctx, id, store.Page{Limit: pageSize, Cursor: cursor})
	if errors.Is(err, store.ErrBadCursor) {
		s.badRequest(w, r, "This page link is not one this site made: its cursor is unknown. Start again from the provider's first page.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := providerData{ID: p.ID, Name: p.DisplayName, Status: string(p.Status), Role: string(p.Role), Since: p.CreatedAt,
		Models: models, Next: next, Paged: cursor != ""}
	if d.Role == "" {
		d.Role = string(store.RoleProvider)
	}
	s.render(w, r, http.StatusOK, "provider", Page{Title: "Provider " + clean(p.DisplayName), Nav: "home", Data: d})
}

// validProviderID is the shape registry/service accepts; anything else names no provider,
// and is not worth a query.
func validProviderID(id string) bool {
	if len(id) < 3 || len(id) > 64 || id[0] == '-' || id[len(id)-1] == '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// checkpointView is the log's checkpoint, parsed from its signed note.
type checkpointView struct {
	Origin     string
	Size       uint64
	RootHash   string
	Note       string
	Signatures []string // the names that signed
	Witnesses  int      // signatures by other names than the log's
}

// parseCheckpoint reads a signed checkpoint note (C2SP tlog-checkpoint, signed-note): its
// first three lines, and the names of its signature lines. The note is the log's own.
func parseCheckpoint(raw []byte, origin string) checkpointView {
	cp := checkpointView{Note: string(raw)}
	body, sigs, _ := strings.Cut(string(raw), "\n\n")
	lines := strings.Split(body, "\n")
	if len(lines) >= 3 {
		cp.Origin, cp.RootHash = lines[0], lines[2]
		fmt.Sscanf(lines[1], "%d", &cp.Size)
	}
	for _, l := range strings.Split(sigs, "\n") {
		rest, ok := strings.CutPrefix(l, "— ")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, " ")
		cp.Signatures = append(cp.Signatures, name)
		if name != origin && name != cp.Origin {
			cp.Witnesses++
		}
	}
	return cp
}

type logData struct {
	Checkpoint *checkpointView
	Error      string
	Anchors    []store.Anchor
}

func (s *Site) logPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var d logData
	if reg := s.cfg.Public.Registry; reg != nil {
		raw, err := reg.Checkpoint(ctx)
		if err != nil {
			s.cfg.Logger.WarnContext(ctx, "log page: checkpoint", "error", err)
			d.Error = "The log has not published a checkpoint yet, or it could not be read just now."
		} else {
			cp := parseCheckpoint(raw, s.cfg.Public.LogOrigin)
			d.Checkpoint = &cp
		}
	}
	if rec := s.cfg.Public.Records; rec != nil {
		as, err := rec.Anchors(ctx, logAnchors)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Anchors = as
	}
	s.render(w, r, http.StatusOK, "log", Page{Title: "Transparency log", Nav: "log", Data: d})
}

// weightRow is one weight of the model file, for the chart and its table.
type weightRow struct {
	Feature string
	Value   float64
}

func weightsOf(m *modelFile) []weightRow {
	out := make([]weightRow, 0, len(m.Weights)+1)
	for i, w := range m.Weights {
		name := fmt.Sprintf("feature %d", i+1)
		if i < len(m.Features) {
			name = m.Features[i]
		}
		out = append(out, weightRow{Feature: name, Value: w})
	}
	if m.FitIntercept && m.Intercept != nil {
		out = append(out, weightRow{Feature: "(intercept)", Value: *m.Intercept})
	}
	return out
}

// chart is a horizontal bar chart of the weights, drawn on the server as SVG: one bar per
// weight from a zero line, positive to the right.
type chart struct {
	Width, Height float64
	ZeroX, LabelX float64
	Bars          []chartBar
}

type chartBar struct {
	Label    string
	Value    string
	X, Y, W  float64
	H        float64
	TextY    float64
	ValueX   float64
	Negative bool
}

const (
	chartWidth  = 480.0
	chartLabel  = 130.0 // width of the label column
	chartRow    = 24.0
	chartBarH   = 16.0
	chartMargin = 8.0
)

func newChart(ws []weightRow) *chart {
	if len(ws) == 0 {
		return nil
	}
	maxAbs := 0.0
	for _, w := range ws {
		maxAbs = max(maxAbs, abs(w.Value))
	}
	c := &chart{Width: chartWidth, Height: float64(len(ws))*chartRow + 8, LabelX: chartLabel - 4}
	// Room right of the bars for the value text: positive values after their bar,
	// negative ones after the zero line.
	const valueRoom = 70.0
	plot := chartWidth - chartLabel - 2*chartMargin - valueRoom
	c.ZeroX = chartLabel + chartMargin + plot/2
	half := plot / 2
	for i, w := range ws {
		b := chartBar{Label: w.Feature, Value: fmt.Sprintf("%.6g", w.Value), Y: 4 + float64(i)*chartRow + (chartRow-chartBarH)/2, H: chartBarH}
		b.TextY = b.Y + chartBarH*0.75
		length := 0.0
		if maxAbs > 0 {
			length = abs(w.Value) / maxAbs * half
		}
		b.W = max(length, 1)
		if w.Value < 0 {
			// The value goes on the other side of the zero line, clear of the labels.
			b.Negative, b.X = true, c.ZeroX-b.W
			b.ValueX = c.ZeroX + 4
		} else {
			b.X = c.ZeroX
			b.ValueX = c.ZeroX + b.W + 4
		}
		c.Bars = append(c.Bars, b)
	}
	return c
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// pageLink is the address of the next page of a list.
func pageLink(path, cursor string) string {
	return path + "?" + url.Values{"cursor": {cursor}}.Encode()
}
