package main

import (
	"fmt"
	"io"

	"github.com/comet-attest/comet/registry/client/check"
	"github.com/comet-attest/comet/registry/wire"
)

// printLookupFeaturizer shows the featurizer of a lookup and where it comes from: until the
// model is attested it is only what the submitted manifest declares.
func printLookupFeaturizer(out io.Writer, l *wire.ModelLookup) {
	f := l.Featurizer
	if f == nil {
		return
	}
	source := "as signed in the attestation"
	if l.Attestation == nil {
		source = "as the submitted manifest declares, not attested"
	}
	corpus := "digest " + f.CorpusDigest + " (keyed from the dataset's salt)"
	if f.CorpusSHA256 != "" {
		corpus += ", sha256:" + f.CorpusSHA256
	}
	fmt.Fprintf(out, "featurizer   %s version %s (%s)\n", f.Name, f.Version, source)
	fmt.Fprintf(out, "  spec       sha256:%s\n", f.SpecSHA256)
	fmt.Fprintf(out, "  corpus     %s\n", corpus)
	fmt.Fprintf(out, "  params     %s\n", check.FeaturizerParams(f.Params))
}
