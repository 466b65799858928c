package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/featurize"
)

// The legal-document flow of DESIGN.md through the CLI, against comet serve on loopback:
// featurize → commit (the record beside the features goes into the manifest) → train → prove
// → submit --wait, then lookup and verify show the featurizer the registry signed, and verify
// says the checked proof ties it to the dataset.
func TestFeaturizedEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds comet and runs a registry")
	}
	bin := buildComet(t)
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	docs := filepath.Join("..", "..", "prover", "featurize", "testdata", "docs.csv")

	// Nine documents: the trainer needs more rows than parameters, so 4 hash buckets and no
	// lexicon give 6 features (7 parameters with the intercept). Q15.8 in 24 bits holds every
	// value (the longest text has 120 code points) and keeps the circuits small.
	mustRun(t, bin, nil, "dataset", "featurize", docs, "--text", "text", "--label", "unfair", "--keep", "document,line",
		"--buckets", "4", "--lexicon", "none", "--out", p("features.csv"))
	out := mustRun(t, bin, nil, "dataset", "commit", p("features.csv"), "--label", "unfair", "--exclude", "document,line",
		"--chunk-rows", "16", "--fraction-bits", "8", "--value-bits", "24", "--salt-file", p("features.salt"), "--out", p("features.manifest.json"))
	if !strings.Contains(out, "found beside the data") {
		t.Fatalf("commit did not pick up the featurization record:\n%s", out)
	}
	rec, err := featurize.LoadRecord(p("features.featurizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	man, err := commitment.LoadManifest(p("features.manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if man.Featurizer == nil || man.Featurizer.SpecSHA256 != rec.FeaturizerID {
		t.Fatalf("manifest featurizer %+v, want spec %s", man.Featurizer, rec.FeaturizerID)
	}
	mustRun(t, bin, nil, "train", p("features.csv"), "--manifest", p("features.manifest.json"), "--salt-file", p("features.salt"),
		"--lambda", "1", "--out", p("model.json"))
	reg, _, anon := attestFlow(t, bin, dir, p("features.csv"), p("features.manifest.json"), p("features.salt"), p("model.json"))

	const params = "buckets=4,hash=fnv1a64,lexicon=none,lowercase=true,ngram_max=2,ngram_min=1," +
		"tokenizer=unicode-letter-number-mark,unicode=15.0.0,weighting=count"
	out = mustRun(t, bin, anon, "lookup", p("model.json"))
	for _, want := range []string{
		"featurizer   comet-legal-hash version 1 (as signed in the attestation)",
		"spec       sha256:" + rec.FeaturizerID,
		"corpus     digest " + man.Featurizer.CorpusDigest,
		"params     " + params + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lookup lacks %q:\n%s", want, out)
		}
	}

	state := p("state")
	out = mustRun(t, bin, anon, "verify", p("model.json"), "--state-dir", state, "--allow-single-party-setup")
	line := "featurizer  comet-legal-hash 1 (spec sha256:" + rec.FeaturizerID + ", corpus digest " + man.Featurizer.CorpusDigest +
		"), params " + params + ": tied to the proof's manifest\n"
	if !strings.Contains(out, line) || !regexp.MustCompile(`proof matches the attestation\s+passed`).MatchString(out) {
		t.Errorf("verify lacks the line %q after a passed proof match:\n%s", line, out)
	}

	// Offline with the bundle alone, no proof: the featurizer is only the registry's word.
	bundleFile := p("bundle.json")
	if lookupJSON := saveBundle(t, reg.url, modelSHA(t, p("model.json")), bundleFile); !strings.Contains(string(lookupJSON), `"spec_sha256":"`+rec.FeaturizerID+`"`) {
		t.Fatalf("lookup JSON: %s", lookupJSON)
	}
	_, out, _ = run(t, bin, nil, "verify", p("model.json"), "--offline", "--bundle", bundleFile, "--trust-root", pinnedRoot(t, state), "--allow-single-party-setup")
	if !strings.Contains(out, "params "+params+": only signed: no proof was checked against it\n") {
		t.Errorf("offline verify without the proof:\n%s", out)
	}
}
