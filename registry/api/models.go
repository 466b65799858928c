package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/comet-attest/comet/registry/store"
	"github.com/comet-attest/comet/registry/wire"
	"github.com/gin-gonic/gin"
)

// modelView reads what the registry holds of the model the path's hash names, or answers
// the error.
func (a *API) modelView(c *gin.Context) (*store.ModelView, bool) {
	sha, ok := hexParam(c, "sha256")
	if !ok {
		return nil, false
	}
	v, err := a.rec.ModelView(c.Request.Context(), sha)
	if err != nil {
		a.fail(c, err)
		return nil, false
	}
	return v, true
}

func (a *API) getModel(c *gin.Context) {
	v, ok := a.modelView(c)
	if !ok {
		return
	}
	out := viewModel(v)
	out.Featurizer = a.modelFeaturizer(c.Request.Context(), v)
	c.JSON(http.StatusOK, out)
}

func (a *API) modelFeaturizer(ctx context.Context, v *store.ModelView) *wire.LookupFeaturizer {
	var f *wire.LookupFeaturizer
	var err error
	switch {
	case v.AttestationID != nil:
		f, err = featurizerOfEnvelope(v.Envelope)
	case v.SubmissionID != nil:
		f, err = featurizerOfManifest(v.Manifest)
	}
	if err != nil {
		// Every stored envelope and manifest was checked when it was written, so this is the
		// registry's own fault; the lookup still answers, so that status and revocation stay
		// visible, and the log says what went wrong.
		a.logger.ErrorContext(ctx, "lookup: stored featurizer unreadable", slog.String("model", v.SHA256), slog.Any("error", err))
		return nil
	}
	return f
}

func (a *API) getModelFile(c *gin.Context) {
	sha, ok := hexParam(c, "sha256")
	if !ok {
		return
	}
	m, err := a.rec.Model(c.Request.Context(), sha)
	if err != nil {
		a.fail(c, err)
		return
	}
	immutable(c, "application/json", m.Body)
}

func (a *API) getSubmittedPart(c *gin.Context) {
	v, ok := a.modelView(c)
	if !ok {
		return
	}
	if v.SubmissionID == nil {
		abort(c, http.StatusNotFound, wire.CodeNotFound, "", "model "+v.SHA256+" has no submission")
		return
	}
	sub, err := a.rec.Submission(c.Request.Context(), *v.SubmissionID)
	if err != nil {
		a.fail(c, err)
		return
	}
	body := sub.Proof
	if strings.HasSuffix(c.FullPath(), "/manifest") {
		body = sub.Manifest
	}
	immutable(c, "application/json", body)
}
