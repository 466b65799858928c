// Command comet is the one binary of Comet: the provider's dataset, training and proving
// tools, the registry server, and the client's lookup and verification.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gin-gonic/gin"

	"github.com/comet-attest/comet/registry/client/check"
)

func main() {
	// gin's mode is a process global: the binary, not the API package, chooses it.
	gin.SetMode(gin.ReleaseMode)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err))
}

// errCheckFailed marks a verification whose checks ran and did not all pass: exit status 1,
// as opposed to 2 for input that could not be used at all.
var errCheckFailed = check.ErrFailed

// exitCode prints err as one line on stderr and maps it to the exit status.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	msg := strings.Join(strings.Fields(err.Error()), " ")
	fmt.Fprintln(os.Stderr, "comet: "+msg)
	if errors.Is(err, errCheckFailed) {
		return 1
	}
	return 2
}
