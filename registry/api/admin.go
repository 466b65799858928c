package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/comet-attest/comet/registry/jobs"
	"github.com/comet-attest/comet/registry/service"
	"github.com/comet-attest/comet/registry/store"
	"github.com/comet-attest/comet/registry/wire"
	"github.com/gin-gonic/gin"
)

func (a *API) requireAdmin(c *gin.Context) {
	if err := service.RequireAdmin(principal(c)); err != nil {
		a.fail(c, err)
	}
}

func (a *API) listJobs(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	lp := jobs.ListParams{State: c.Query("state"), Kind: c.Query("kind"), Limit: p.Limit, Cursor: p.Cursor}
	if lp.State != "" && !slices.Contains(jobs.States(), lp.State) {
		abort(c, http.StatusBadRequest, wire.CodeBadRequest, "state", "state must be one of "+strings.Join(jobs.States(), ", "))
		return
	}
	js, next, err := a.jobs.List(c.Request.Context(), lp)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := wire.List[wire.Job]{Items: make([]wire.Job, 0, len(js)), NextCursor: next}
	for _, j := range js {
		out.Items = append(out.Items, viewJob(j))
	}
	c.JSON(http.StatusOK, out)
}

func (a *API) getJob(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		abort(c, http.StatusBadRequest, wire.CodeBadRequest, "id", "job id must be a positive integer")
		return
	}
	j, err := a.jobs.Job(c.Request.Context(), id)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewJob(j))
}

func (a *API) listAudit(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	evs, next, err := a.rec.AuditEvents(c.Request.Context(), c.Query("subject"), p)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, mapList(evs, next, func(e *store.AuditEvent) wire.AuditEvent {
		return wire.AuditEvent{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Subject: e.Subject, Detail: e.Detail}
	}))
}
