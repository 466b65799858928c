package server_test

import (
	"github.com/gin-gonic/gin"
	"os"
	"testing"

	"github.com/comet-attest/comet/registry/registrytest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode) // as main does: no route listing per test server
	code := m.Run()
	registrytest.Cleanup() // the material is shared by every test in this binary
	os.Exit(code)
}
