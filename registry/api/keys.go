package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/comet-attest/comet/registry/keyset"
	"github.com/comet-attest/comet/registry/wire"
	"github.com/gin-gonic/gin"
)

func (a *API) listCircuits(c *gin.Context) {
	c.JSON(http.StatusOK, mapList(a.keys.Circuits(), "", viewCircuit))
}

func (a *API) circuit(c *gin.Context) (keyset.Circuit, bool) {
	id := c.Param("circuit")
	for _, k := range a.keys.Circuits() {
		if k.ID == id {
			return k, true
		}
	}
	abort(c, http.StatusNotFound, wire.CodeNotFound, "circuit", "no published keys for circuit "+strconv.Quote(id))
	return keyset.Circuit{}, false
}

func (a *API) getCircuit(c *gin.Context) {
	if k, ok := a.circuit(c); ok {
		c.JSON(http.StatusOK, viewCircuit(&k))
	}
}

func (a *API) getCircuitFile(c *gin.Context) {
	k, ok := a.circuit(c)
	if !ok {
		return
	}
	name := c.Param("file")
	if !slices.Contains(wire.CircuitFiles, name) {
		abort(c, http.StatusNotFound, wire.CodeNotFound, "file", "a circuit's files are "+strings.Join(wire.CircuitFiles, ", "))
		return
	}
	path := a.keys.File(k.ID, name)
	if path == "" {
		abort(c, http.StatusNotFound, wire.CodeNotFound, "file", "circuit "+k.ID+" has no "+name)
		return
	}
	// Key files are immutable (content-addressed by the circuit id and, for vk, its hash):
	// the ETag is the circuit id with the file name, so a large pk is never hashed per request.
	etag := `"` + k.ID + "/" + name + `"`
	c.Header("ETag", etag)
	c.Header("Cache-Control", "public, max-age=31536000, immutable")
	if c.GetHeader("If-None-Match") == etag {
		c.Status(http.StatusNotModified)
		return
	}
	// Left to itself, http.ServeFile types a file by its extension through the host's
	// mime.types (where ".pk" is a TeX font) or by sniffing, so one file's type would differ
	// from host to host; ServeFile keeps a type already set.
	contentType := "application/octet-stream"
	if name == "keys.json" {
		contentType = "application/json"
	}
	c.Header("Content-Type", contentType)
	c.FileAttachment(path, k.ID+"."+name)
}
