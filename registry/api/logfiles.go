package api

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/comet-attest/comet/registry/wire"

	"github.com/gin-gonic/gin"
)

// c2spPath matches the public files of a tlog-tiles log: the checkpoint, hash tiles
// tile/<L>/<N> and entry bundles tile/entries/<N>, where N is a path of three-digit groups
// ("x001/234") and a partial tile ends in ".p/<W>". Nothing else in the log directory (its
// private ".state" above all) is ever served.
var c2spPath = regexp.MustCompile(`^(checkpoint|tile/(entries|[0-9]{1,2})/(x[0-9]{3}/)*[0-9]{3}(\.p/[0-9]{1,3})?)$`)

func (a *API) getLogFile(c *gin.Context) {
	rel := strings.TrimPrefix(c.Request.URL.Path, "/v1/log/")
	if !c2spPath.MatchString(rel) {
		abort(c, http.StatusNotFound, wire.CodeNotFound, "", "not a tlog-tiles path")
		return
	}
	b, err := os.ReadFile(filepath.Join(a.logDir, filepath.FromSlash(rel)))
	if os.IsNotExist(err) {
		abort(c, http.StatusNotFound, wire.CodeNotFound, "", rel+": not found")
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	switch {
	case rel == "checkpoint":
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "text/plain; charset=utf-8", b)
	case strings.Contains(rel, ".p/"):
		// A partial tile is replaced by the full one as the log grows.
		c.Header("Cache-Control", "public, max-age=60")
		c.Data(http.StatusOK, "application/octet-stream", b)
	default:
		immutable(c, "application/octet-stream", b)
	}
}
