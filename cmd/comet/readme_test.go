package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/comet-attest/comet/internal/shareddata"
)

// docBlock returns the shell block of a document of the repository (README.md,
// docs/legal.md) that follows the marker "<!-- tested: NAME -->".
func docBlock(t *testing.T, doc, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", doc))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- tested: " + regexp.QuoteMeta(name) + " -->\n```sh\n(.*?)\n```").FindSubmatch(raw)
	if m == nil {
		t.Fatalf("%s has no block marked %q", doc, name)
	}
	return string(m[1])
}

// TestREADMEFlow runs the README's whole flow verbatim in bash, with the comet binary on
// PATH, in an empty directory beside ../shared: what a new user pastes must work.
func TestREADMEFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("the README's flow as processes: builds, sets up keys, proves, serves (40 s)")
	}
	got := runBlock(t, docBlock(t, "README.md", "readme-flow"))
	for _, want := range []string{"logged: attestation", "status       logged", "every check passed"} {
		if !strings.Contains(got, want) {
			t.Errorf("the README's flow printed no %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "every check passed"); n != 2 {
		t.Errorf("%d verifications passed, want the online and the offline one:\n%s", n, got)
	}
}

// runBlock runs a documented shell block verbatim in bash, with the comet binary on PATH and
// a registry address of its own, in an empty directory beside ../shared, as a new user pastes
// it; env adds variables. It fails the test, with the output and the server's log, unless the
// block succeeds within 5 minutes, and returns the output.
func runBlock(t *testing.T, block string, env ...string) string {
	t.Helper()
	bin := buildComet(t)
	root := t.TempDir()
	work := filepath.Join(root, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(shareddata.Path(t, "data")), filepath.Join(root, "shared")); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	cmd := exec.Command("bash", "-euo", "pipefail", "-c", block)
	cmd.Dir = work
	cmd.Env = append(append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"COMET_SERVER_ADDR="+addr, "COMET_REGISTRY=http://"+addr, "XDG_STATE_HOME="+filepath.Join(root, "state"), "COMET_API_KEY="), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the background server goes with the group
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(5 * time.Minute):
		err = errTimeout
	}
	if err != nil {
		serveLog, _ := os.ReadFile(filepath.Join(work, "serve.log"))
		t.Fatalf("the documented flow: %v\n%s\nserve.log:\n%s", err, out.String(), serveLog)
	}
	return out.String()
}

var errTimeout = errors.New("timed out after 5 minutes")
