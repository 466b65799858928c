package main

import (
	"strings"
	"testing"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/setup"
)

func TestVersion(t *testing.T) {
	code, out, errOut := runComet(t, "--version")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"comet ", "commit ", "gnark      " + circuit.GnarkVersion(), setup.Format, "https://comet-attest.dev/training/v2"} {
		if !strings.Contains(out, want) {
			t.Errorf("--version lacks %q:\n%s", want, out)
		}
	}
}
