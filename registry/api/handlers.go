package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/comet-attest/comet/internal/hexdigest"
	"github.com/comet-attest/comet/internal/strictjson"
	"github.com/comet-attest/comet/registry/wire"

	"github.com/comet-attest/comet/internal/jsontype"
	"github.com/comet-attest/comet/registry/store"
	"github.com/gin-gonic/gin"
)

func (a *API) healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

func (a *API) readyz(c *gin.Context) {
	ctx := c.Request.Context()
	err := a.rec.Ping(ctx)
	if err == nil && a.ready != nil {
		err = a.ready(ctx)
	}
	if err != nil {
		abort(c, http.StatusServiceUnavailable, wire.CodeUnavailable, "", "not ready: "+err.Error())
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// decode reads a JSON body strictly into dst: unknown fields, trailing data and wrong types

// are 400s naming the field.

func (a *API) decode(c *gin.Context, dst any) bool {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		a.fail(c, err)
		return false
	}
	if !utf8.Valid(body) {
		abort(c, http.StatusBadRequest, wire.CodeBadRequest, "", fmt.Sprintf("the body is not valid UTF-8 (first bad byte at offset %d)", invalidUTF8At(body)))
		return false
	}
	err = strictjson.Unmarshal(body, dst)
	if err == nil {
		if field, msg := checkBodyStrings(reflect.ValueOf(dst), ""); field != "" {
			abort(c, http.StatusBadRequest, wire.CodeBadRequest, field, field+" "+msg)
			return false
		}
		return true
	}
	var typeErr *json.UnmarshalTypeError
	var keyErr *strictjson.KeyError
	field := ""
	msg := err.Error()
	switch {
	case errors.As(err, &keyErr):
		field, msg = keyErr.Path, err.Error()
	case errors.As(err, &typeErr):
		field = typeErr.Field
		msg, _ = jsontype.Describe(err, "")
		if field == "" {
			msg = "the request body " + msg
		}
	case len(bytes.TrimSpace(body)) == 0:
		msg = "empty body: a JSON object is required"
	}
	abort(c, http.StatusBadRequest, wire.CodeBadRequest, field, msg)
	return false
}

// invalidUTF8At is the offset of the first byte of b that is not valid UTF-8.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// requireObject fails unless raw is a JSON object, naming field.

func requireObject(c *gin.Context, field string, raw json.RawMessage) bool {
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		abort(c, http.StatusBadRequest, wire.CodeBadRequest, field, field+" must be a JSON object")
		return false
	}
	return true
}

func hexParam(c *gin.Context, name string) (string, bool) {
	v := c.Param(name)
	if !hexdigest.Valid(v) {
		abort(c, http.StatusBadRequest, wire.CodeBadRequest, name, name+" must be 64 lower-case hex characters")
		return "", false
	}
	return v, true
}

func page(c *gin.Context) (store.Page, bool) {
	p := store.Page{Cursor: c.Query("cursor")}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > store.MaxPageLimit {
			abort(c, http.StatusBadRequest, wire.CodeBadRequest, "limit", fmt.Sprintf("limit must be an integer from 1 to %d", store.MaxPageLimit))
			return p, false
		}
		p.Limit = n
	}
	return p, true
}

// immutable answers with body under a strong ETag, or 304 when the client has it.

func immutable(c *gin.Context, contentType string, body []byte) {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	c.Header("ETag", etag)
	c.Header("Cache-Control", "public, max-age=31536000, immutable")
	for _, t := range strings.Split(c.GetHeader("If-None-Match"), ",") {
		if t = strings.TrimSpace(t); t == etag || t == "*" {
			c.Status(http.StatusNotModified)
			return
		}
	}
	c.Data(http.StatusOK, contentType, body)
}

func immutableJSON(c *gin.Context, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		abort(c, http.StatusInternalServerError, wire.CodeInternal, "", "internal error")
		return
	}
	immutable(c, "application/json; charset=utf-8", b)
}

// modelFeaturizer is the featurizer a lookup shows: the signed one once the model is

// attested, else the one the shown submission's manifest declares, which is what the

// registry signs if that submission passes.

// getSubmittedPart serves the proof bundle or the manifest of a model's latest submission:

// the public material a client needs to check the proof itself.

// getTrustRootVersion serves one version of the chain; a version never changes once issued.

// optionalReason reads {"reason": ...} when there is a body.
