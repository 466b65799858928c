package api

import (
	"net/http"
	"strconv"

	"github.com/comet-attest/comet/registry/store"
	"github.com/comet-attest/comet/registry/wire"
	"github.com/gin-gonic/gin"
)

func (a *API) getConsistency(c *gin.Context) {
	from, err1 := strconv.ParseUint(c.Query("from"), 10, 64)
	to, err2 := strconv.ParseUint(c.Query("to"), 10, 64)
	if err1 != nil || err2 != nil {
		abort(c, http.StatusBadRequest, wire.CodeBadRequest, "from", "from and to must be tree sizes (unsigned integers)")
		return
	}
	hs, err := a.reg.Consistency(c.Request.Context(), from, to)
	if err != nil {
		a.fail(c, err)
		return
	}
	if hs == nil {
		hs = [][]byte{}
	}
	c.JSON(http.StatusOK, wire.Consistency{From: from, To: to, Hashes: hs})
}

func (a *API) listAnchors(c *gin.Context) {
	as, err := a.rec.Anchors(c.Request.Context(), store.MaxPageLimit)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, mapList(as, "", func(x *store.Anchor) wire.Anchor {
		return wire.Anchor{TreeSize: x.TreeSize, Root: x.Root, Status: string(x.Status), TxHash: x.TxHash, BlockNumber: x.BlockNumber,
			Finality: x.Finality, Error: x.Error, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt}
	}))
}
