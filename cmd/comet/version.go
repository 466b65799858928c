package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/comet-attest/comet/attest/statement"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/prover/ceremony"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/featurize"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/proof"
	"github.com/comet-attest/comet/prover/setup"
)

// versionText is what `comet --version` prints: which build this is and which formats it
// reads and writes, so that a bug report or a mismatch between two machines names both.
func versionText() string {
	module, commit := "(devel)", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		module = bi.Main.Version
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty {
			commit += " (modified)"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "comet %s\n", module)
	fmt.Fprintf(&b, "commit     %s\n", commit)
	fmt.Fprintf(&b, "go         %s\n", runtime.Version())
	fmt.Fprintf(&b, "gnark      %s (%s, Groth16 over BN254)\n", circuit.GnarkVersion(), circuit.Version)
	fmt.Fprintf(&b, "formats    %s\n", strings.Join([]string{
		commitment.ManifestFormat, model.Version, proof.BundleFormat, setup.Format, ceremony.Format,
		trustroot.Format, featurize.RecordFormat,
	}, ", "))
	fmt.Fprintf(&b, "predicates %s, %s\n", statement.TrainingPredicateType, statement.RevocationPredicateType)
	return b.String()
}
