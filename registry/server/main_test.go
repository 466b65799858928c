package server_test

import (
	"os"
	"testing"

	"github.com/comet-attest/comet/registry/registrytest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	registrytest.Cleanup() // the material is shared by every test in this binary
	os.Exit(code)
}
