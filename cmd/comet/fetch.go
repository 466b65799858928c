package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/comet-attest/comet/attest/bundle"
	"github.com/comet-attest/comet/attest/envelope"
	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/internal/atomicfile"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/model"
	"github.com/comet-attest/comet/prover/setup"
	"github.com/comet-attest/comet/registry/client"
	"github.com/comet-attest/comet/registry/client/check"
)

// The files of a directory written by `comet bundle fetch` and read by `comet verify --dir`.
const (
	dirBundle     = "bundle.json"
	dirEnvelope   = "envelope.json"
	dirTrustRoot  = "trustroot.json"
	dirModel      = "model.json"
	dirProof      = "proof.json"
	dirManifest   = "manifest.json"
	dirKeys       = "keys"
	dirRevocation = "revocation.json"
	// dirEvaluations holds one directory per logged evaluation of the model, named by its
	// id: its envelope, log bundle, proof, manifest and, if revoked, revocation, under the
	// names above; their verifying keys go with the model's under keys/.
	dirEvaluations = "evaluations"
)

// trustedRoot is the trust root a fetch checks against: the pinned one (or --trust-root),
// walked to the newest version it can verify, so that it names what the registry serves now.
func trustedRoot(ctx context.Context, c *client.Client, reg *registryFlags, stateDir, file string) (*trustroot.Root, error) {
	p := newPins(stateDir, reg.url)
	root, _, err := p.load(ctx, c, file)
	if err != nil {
		return nil, err
	}
	newer, err := p.update(ctx, c, root)
	if err != nil {
		return nil, err
	}
	if file == "" && newer.Version > root.Version {
		if err := p.save(ctx, newer); err != nil {
			return nil, err
		}
	}
	return newer, nil
}

func newKeysFetchCmd() *cobra.Command {
	var manifest, out, trustRoot, stateDir string
	var shape circuit.Shape
	var eval evalFlags
	cmd := &cobra.Command{
		Use:   "fetch (--manifest data.manifest.json | --d 8 --chunk-rows 1024 ...) [--evaluation [--thresholds K]] --out DIR",
		Short: "Download the registry's proving keys for a dataset's circuit shape, checked against the trust root",
		Long: `Fetches the keys comet prove needs for the shape of the dataset the manifest describes (its
header and whether the model fits an intercept) from the registry's /v1/keys, into DIR in the
layout comet prove reads. Each verifying key must hash to what keys.json records and to what the
trust root (pinned in the state directory, or --trust-root) pins for that circuit, and the
constraint systems must have the recorded size; otherwise nothing is kept. Proofs made with other
keys are refused by the registry. With --evaluation it fetches the keys of the evaluation
circuits (comet evaluate) of the test set's shape instead.`,
		Example: `  comet keys fetch --registry https://registry.example --manifest data.manifest.json --out keys/
  comet prove data.csv --manifest data.manifest.json --model model.json --salt-file data.salt --keys keys/ --provider acme-legal --out model.proof.json
  comet keys fetch --registry https://registry.example --evaluation --thresholds 65 --manifest test.manifest.json --out keys/`,
		Args: cobra.NoArgs,
	}
	reg := addRegistryFlags(cmd, false)
	addShapeFlags(cmd, &manifest, &shape)
	addEvalFlags(cmd, &eval)
	cmd.Flags().StringVar(&out, "out", "", "keys directory (required)")
	cmd.Flags().StringVar(&trustRoot, "trust-root", "", "trust root file (default: the one pinned in the state directory)")
	cmd.Flags().StringVar(&stateDir, "state-dir", defaultStateDir(), "where the pinned trust root is kept")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if out == "" {
			return usageErrorf("--out is required")
		}
		if err := resolveShape(cmd, manifest, &shape); err != nil {
			return err
		}
		keyed, err := eval.keyed(cmd, shape)
		if err != nil {
			return err
		}
		c, err := reg.client(false)
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		root, err := trustedRoot(ctx, c, reg, stateDir, trustRoot)
		if err != nil {
			return err
		}
		k, err := fetchProvingKeys(ctx, c, root, keyed, out)
		if err != nil {
			return err
		}
		names := keyed.Circuits()
		fmt.Fprintf(cmd.OutOrStdout(), "keys for shape %s in %s: %s %s (%d constraints), %s %s (%d constraints), verifying keys pinned by trust root version %d\n",
			keyed, setup.Dir(out, keyed), names[0], k.Chunk.ID, k.Chunk.Constraints, names[1], k.Final.ID, k.Final.Constraints, root.Version)
		return nil
	}
	return cmd
}

// fetchProvingKeys downloads a shape's key files into a fresh directory beside their place,
// checks them (setup.Load, and the trust root's pins), and only then moves them into place.
func fetchProvingKeys(ctx context.Context, c *client.Client, root *trustroot.Root, shape circuit.Keyed, out string) (*setup.Keys, error) {
	for _, cc := range shape.Circuits() {
		if _, ok := root.Circuits[shape.ID(cc)]; !ok {
			return nil, fmt.Errorf("%w: the trust root (version %d) pins no %s circuit for shape %s: the registry publishes no keys for this dataset's shape",
				errCheckFailed, root.Version, cc, shape)
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(out, ".fetch-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	dir := setup.Dir(tmp, shape)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	final := shape.ID(shape.Circuits()[1])
	files := [][3]string{{final, "keys.json", "keys.json"}}
	for _, cc := range shape.Circuits() {
		for _, ext := range []string{"vk", "pk", "r1cs"} {
			files = append(files, [3]string{shape.ID(cc), ext, string(cc) + "." + ext})
		}
	}
	for _, f := range files {
		if err := download(ctx, c, f[0], f[1], filepath.Join(dir, f[2])); err != nil {
			return nil, err
		}
	}
	k, err := setup.Load(ctx, tmp, shape, setup.Proving)
	if err != nil {
		return nil, fmt.Errorf("%w: the registry's keys for shape %s: %w", errCheckFailed, shape, err)
	}
	for _, cc := range shape.Circuits() {
		kc := k.Circuit(cc)
		if pin := root.Circuits[kc.ID]; pin.VKSHA256 != kc.VKSHA256 {
			return nil, fmt.Errorf("%w: the registry's %s verifying key hashes to %s, the trust root pins %s", errCheckFailed, kc.ID, kc.VKSHA256, pin.VKSHA256)
		}
	}
	dst := setup.Dir(out, shape)
	if err := os.RemoveAll(dst); err != nil {
		return nil, err
	}
	if err := os.Rename(dir, dst); err != nil {
		return nil, err
	}
	return k, nil
}

// download streams one key file to path, with a progress bar for the large ones.
func download(ctx context.Context, c *client.Client, circuitID, name, path string) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		bar := newProgress(-1, "fetch "+circuitID+"/"+name)
		defer bar.Close()
		if _, err := c.CircuitFile(ctx, circuitID, name, io.MultiWriter(w, bar)); err != nil {
			return fmt.Errorf("fetch %s of circuit %s: %w", name, circuitID, err)
		}
		return nil
	})
}

func newBundleCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "bundle", Short: "Fetch everything a client needs to verify a model offline"}
	cmd.AddCommand(newBundleFetchCmd())
	return cmd
}

func newBundleFetchCmd() *cobra.Command {
	var out, trustRoot, stateDir string
	cmd := &cobra.Command{
		Use:   "fetch MODEL_FILE|MODEL_SHA256 --out DIR",
		Short: "Write a model's client bundle, trust root, model, proof, manifest, verifying keys and revocation to a directory",
		Long: `Fetches from the registry what comet verify --offline --dir DIR checks without a network: the
client bundle (envelope, leaf, inclusion proof, checkpoint with cosignatures, anchor receipt), the
trust root (the pinned version walked to the newest it can verify), the model file, the proof
bundle and manifest, the verifying keys of the proof's circuits, and the signed revocation if
the attestation is revoked. Nothing here is trusted for being fetched: verify checks it all.
Offline, the revocation list is only as fresh as the fetch. The bundle's DSSE envelope is also
written alone to envelope.json, for in-toto and DSSE tools such as cosign's
verify-blob-attestation, whose subject is model.json as written (docs/attestation.md).`,
		Example: `  comet bundle fetch model.json --out evidence/
  comet verify model.json --offline --dir evidence/ --waive revocation
  comet trustroot show evidence/trustroot.json --pem --key registry > registry.pem
  cosign verify-blob-attestation --key registry.pem --type https://comet-attest.dev/training/v2 \
    --insecure-ignore-tlog --signature evidence/envelope.json evidence/model.json`,
		Args: cobra.ExactArgs(1),
	}
	reg := addRegistryFlags(cmd, false)
	cmd.Flags().StringVar(&out, "out", "", "directory to write (required)")
	cmd.Flags().StringVar(&trustRoot, "trust-root", "", "trust root file to start from (default: the one pinned in the state directory)")
	cmd.Flags().StringVar(&stateDir, "state-dir", defaultStateDir(), "where the pinned trust root is kept")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if out == "" {
			return usageErrorf("--out is required")
		}
		ctx := cmd.Context()
		sha, err := modelHash(ctx, args[0])
		if err != nil {
			return err
		}
		c, err := reg.client(false)
		if err != nil {
			return err
		}
		root, err := trustedRoot(ctx, c, reg, stateDir, trustRoot)
		if err != nil {
			return err
		}
		written, err := fetchBundle(ctx, c, root, sha, out)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "model %s: wrote %v to %s (trust root version %d)\n", sha, written, out, root.Version)
		return nil
	}
	return cmd
}

// fetchBundle writes the offline verification material of one model into out.
func fetchBundle(ctx context.Context, c *client.Client, root *trustroot.Root, sha, out string) ([]string, error) {
	l, err := c.Lookup(ctx, sha)
	if errors.Is(err, client.ErrNotFound) {
		return nil, fmt.Errorf("%w: the registry has no model %s", errCheckFailed, sha)
	}
	if err != nil {
		return nil, err
	}
	if l.Attestation == nil {
		return nil, fmt.Errorf("%w: model %s has no attestation (status %s %s)", errCheckFailed, sha, l.Status, l.FailedCheck)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	rootRaw, err := root.Marshal()
	if err != nil {
		return nil, err
	}
	parts := []struct {
		name  string
		fetch func(context.Context, string) ([]byte, error)
		id    string
	}{
		{dirBundle, c.Bundle, l.Attestation.ID},
		{dirModel, c.ModelFile, sha},
		{dirProof, c.Proof, sha},
		{dirManifest, c.Manifest, sha},
	}
	written := []string{dirTrustRoot}
	if err := atomicfile.WriteFile(filepath.Join(out, dirTrustRoot), rootRaw, 0o644); err != nil {
		return nil, err
	}
	var proofJSON, bundleJSON []byte
	for _, p := range parts {
		raw, err := p.fetch(ctx, p.id)
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", p.name, err)
		}
		if p.name == dirModel {
			if m, err := model.Unmarshal(raw); err != nil || m.SHA256 != sha {
				return nil, fmt.Errorf("%w: the registry's model file for %s is not that model", errCheckFailed, sha)
			}
		}
		switch p.name {
		case dirProof:
			proofJSON = raw
		case dirBundle:
			bundleJSON = raw
		}
		if err := atomicfile.WriteFile(filepath.Join(out, p.name), raw, 0o644); err != nil {
			return nil, err
		}
		written = append(written, p.name)
	}
	if err := writeEnvelope(filepath.Join(out, dirEnvelope), bundleJSON); err != nil {
		return nil, err
	}
	written = append(written, dirEnvelope)
	if err := check.FetchKeys(ctx, c, check.KeysDir(filepath.Join(out, dirKeys)), proofJSON); err != nil {
		return nil, err
	}
	written = append(written, dirKeys+"/")
	if err := writeEvaluations(ctx, c, sha, out); err != nil {
		return nil, err
	}
	written = append(written, dirEvaluations+"/")
	r, err := c.Revocation(ctx, l.Attestation.ID)
	switch {
	case errors.Is(err, client.ErrNotFound):
		if err := os.Remove(filepath.Join(out, dirRevocation)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err // a revocation left from an earlier fetch would be about another state
		}
	case err != nil:
		return nil, err
	default:
		if _, err := envelope.Parse(r.Envelope); err != nil {
			return nil, fmt.Errorf("%w: the registry's revocation: %w", errCheckFailed, err)
		}
		if err := atomicfile.WriteFile(filepath.Join(out, dirRevocation), r.Envelope, 0o644); err != nil {
			return nil, err
		}
		written = append(written, dirRevocation)
	}
	return written, nil
}

// writeEvaluations replaces out's evaluations with the model's logged ones.
func writeEvaluations(ctx context.Context, c *client.Client, sha, out string) error {
	evs, err := check.FetchEvaluations(ctx, c, sha)
	if err != nil {
		return err
	}
	dir := filepath.Join(out, dirEvaluations)
	if err := os.RemoveAll(dir); err != nil { // an earlier fetch's would be about another state
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, ev := range evs {
		if !validID(ev.ID) {
			return fmt.Errorf("%w: the registry names an evaluation %q", errCheckFailed, ev.ID)
		}
		if err := os.Mkdir(filepath.Join(dir, ev.ID), 0o755); err != nil {
			return err
		}
		for name, b := range evaluationFiles(&ev) {
			if *b == nil {
				continue
			}
			if err := atomicfile.WriteFile(filepath.Join(dir, ev.ID, name), *b, 0o644); err != nil {
				return err
			}
		}
		if err := check.FetchEvalKeys(ctx, c, check.KeysDir(filepath.Join(out, dirKeys)), ev.Proof); err != nil {
			return fmt.Errorf("evaluation %s: %w", ev.ID, err)
		}
	}
	return nil
}

// readEvaluations reads what writeEvaluations wrote into dir; ok is false when dir has no
// evaluations directory (an older fetch, or files named one by one).
func readEvaluations(dir string) (evs []check.Evaluation, ok bool, err error) {
	entries, err := os.ReadDir(filepath.Join(dir, dirEvaluations))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	for _, d := range entries {
		if !d.IsDir() || !validID(d.Name()) {
			continue
		}
		ev := check.Evaluation{ID: d.Name()}
		for name, b := range evaluationFiles(&ev) {
			raw, err := os.ReadFile(filepath.Join(dir, dirEvaluations, d.Name(), name))
			switch {
			case errors.Is(err, os.ErrNotExist) && name == dirRevocation:
			case err != nil:
				return nil, false, err
			default:
				*b = raw
			}
		}
		evs = append(evs, ev)
	}
	return evs, true, nil
}

// evaluationFiles names the files of one evaluation's directory.
func evaluationFiles(ev *check.Evaluation) map[string]*[]byte {
	return map[string]*[]byte{dirEnvelope: &ev.Envelope, dirBundle: &ev.Logged, dirProof: &ev.Proof, dirManifest: &ev.Manifest, dirRevocation: &ev.Revocation}
}

// validID is an id that is safe as one path element.
func validID(id string) bool {
	return id != "" && len(id) <= 100 && strings.Trim(id, "abcdefghijklmnopqrstuvwxyz0123456789_-") == ""
}

// writeEnvelope writes the DSSE envelope of a client bundle alone, as the JSON object DSSE
// defines: tools that know DSSE and in-toto but not Comet's bundle (cosign) read that file.
func writeEnvelope(path string, bundleJSON []byte) error {
	b, err := bundle.Parse(bundleJSON)
	if err != nil {
		return fmt.Errorf("%w: the registry's client bundle: %w", errCheckFailed, err)
	}
	env, err := envelope.Marshal(b.Envelope)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(env, '\n'), 0o644)
}
