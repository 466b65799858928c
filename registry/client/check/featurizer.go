package check

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/comet-attest/comet/attest/verify"
)

// FeaturizerParams writes params as k=v sorted by key, comma-separated, on one line; a value
// that would make the list ambiguous is quoted.
func FeaturizerParams(params map[string]string) string {
	if len(params) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(params))
	for _, k := range slices.Sorted(maps.Keys(params)) {
		v := params[k]
		if v == "" || strings.ContainsAny(v, ",= \"\n") {
			v = strconv.Quote(v)
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

// featurizerLine says in one line which featurizer the verified statement names and whether
// the checked proof ties it to the dataset (its manifest records the same featurizer) or it
// is only the registry's signed word.
func featurizerLine(rep *verify.Report) (string, bool) {
	if rep.Training == nil || rep.Training.Featurizer == nil {
		return "", false
	}
	f := rep.Training.Featurizer
	corpus := "corpus digest " + f.CorpusDigest
	if f.CorpusSHA256 != "" {
		corpus += ", corpus sha256:" + f.CorpusSHA256
	}
	tie := "only signed: no proof was checked against it"
	switch l, _ := rep.Line(verify.CheckProofClaim); l.Status {
	case verify.Passed:
		tie = "tied to the proof's manifest"
	case verify.Failed:
		tie = "only signed: the proof does not match the attestation"
	}
	return fmt.Sprintf("featurizer  %s %s (spec sha256:%s, %s), params %s: %s",
		f.Name, f.Version, f.SpecSHA256, corpus, FeaturizerParams(f.Params), tie), true
}
