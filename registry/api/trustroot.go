package api

import (
	"net/http"
	"strconv"

	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/registry/wire"
	"github.com/gin-gonic/gin"
)

func (a *API) getTrustRoot(c *gin.Context) {
	var latest *trustroot.Root
	if a.trustRoots != nil {
		latest = a.trustRoots.Latest()
	}
	if latest == nil {
		abort(c, http.StatusNotFound, wire.CodeNotFound, "", "no trust root configured")
		return
	}
	raw, _ := latest.Marshal()
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/json", raw)
}

func (a *API) getTrustRootVersion(c *gin.Context) {
	n, err := strconv.ParseInt(c.Param("version"), 10, 64)
	if err != nil || n < 1 {
		abort(c, http.StatusBadRequest, wire.CodeBadRequest, "version", "trust root versions are positive integers")
		return
	}
	var raw []byte
	ok := false
	if a.trustRoots != nil {
		raw, ok = a.trustRoots.Version(n)
	}
	if !ok {
		abort(c, http.StatusNotFound, wire.CodeNotFound, "version", "no trust root version "+c.Param("version"))
		return
	}
	immutable(c, "application/json", raw)
}
