package main

import (
	"fmt"
	"time"

	gnarklog "github.com/consensys/gnark/logger"
	"github.com/spf13/cobra"

	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/commitment"
	"github.com/comet-attest/comet/prover/setup"
)

type setupFlags struct {
	manifest, out string
	shape         circuit.Shape
	force         bool
	eval          evalFlags
}

// evalFlags choose the evaluation circuits (comet evaluate) instead of training's, for comet
// setup and comet keys fetch.
type evalFlags struct {
	evaluation bool
	task       string
	thresholds int
}

func addEvalFlags(cmd *cobra.Command, f *evalFlags) {
	fl := cmd.Flags()
	fl.BoolVar(&f.evaluation, "evaluation", false, "the evaluation circuits' keys (comet evaluate) rather than training's")
	fl.StringVar(&f.task, "task", string(circuit.Classification), "with --evaluation: classification or regression")
	fl.IntVar(&f.thresholds, "thresholds", 32, fmt.Sprintf("with --evaluation --task classification: the number of score thresholds, 1 to %d", circuit.MaxThresholds))
}

// keyed is the pair of circuits the flags name for the rows' shape s.
func (f evalFlags) keyed(cmd *cobra.Command, s circuit.Shape) (circuit.Keyed, error) {
	if !f.evaluation {
		if cmd.Flags().Changed("task") || cmd.Flags().Changed("thresholds") {
			return nil, usageErrorf("--task and --thresholds need --evaluation")
		}
		return s, nil
	}
	e := circuit.EvalShape{Shape: s, Task: circuit.Task(f.task)}
	if e.Task == circuit.Classification {
		e.Thresholds = f.thresholds
	}
	if err := e.Validate(); err != nil {
		return nil, usageErrorf("%v", err)
	}
	return e, nil
}

func newSetupCmd() *cobra.Command {
	var f setupFlags
	cmd := &cobra.Command{
		Example: "  comet setup --manifest data.manifest.json --out keys/\n  comet setup --evaluation --manifest test.manifest.json --out keys/",

		Use:   "setup (--manifest data.manifest.json | --d 8 --chunk-rows 1024 ...) --out keys/",
		Short: "Make the Groth16 proving and verifying keys of a circuit shape (single-party: local testing only)",
		Long: `Compiles the chunk and final circuits of one shape (d, chunk rows, value bits, fraction bits,
intercept) and runs a Groth16 setup for each, writing the keys under --out/<shape>/ with their
circuit ids and verifying-key SHA-256 (docs/proof.md). With --evaluation it makes the keys of
the evaluation circuits instead (comet evaluate): --task classification with --thresholds K
score thresholds (32 by default), or --task regression.

This is a single-party setup: whoever runs it could forge proofs for these keys. Use it for
local testing; production keys come from a multi-party ceremony (comet ceremony), published by
the registry, and verifiers pin their verifying-key hashes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSetup(cmd, f)
		},
	}
	addShapeFlags(cmd, &f.manifest, &f.shape)
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "", "keys directory (required)")
	fl.BoolVar(&f.force, "force", false, "make new keys even when keys for the shape exist")
	addEvalFlags(cmd, &f.eval)
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func runSetup(cmd *cobra.Command, f setupFlags) error {
	ctx := cmd.Context()
	gnarklog.Disable() // gnark logs every compile and proof; comet reports progress itself
	if err := resolveShape(cmd, f.manifest, &f.shape); err != nil {
		return err
	}
	shape, err := f.eval.keyed(cmd, f.shape)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if !f.force {
		if k, err := setup.Load(ctx, f.out, shape, setup.Verifying); err == nil {
			fmt.Fprintf(out, "keys for %s already in %s (use --force to replace them)\n", shape, setup.Dir(f.out, shape))
			printKeys(cmd, k)
			return nil
		}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "warning: single-party setup; whoever runs it can forge proofs for these keys. For local testing only: production keys come from comet ceremony.\n")
	start := time.Now()
	steps := newSteps(cmd)
	k, err := setup.Generate(ctx, shape, steps.Step)
	if err == nil {
		steps.Step("write the keys to " + setup.Dir(f.out, shape))
		err = k.Save(ctx, f.out)
	}
	steps.Stop()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "keys for %s written to %s in %v\n", shape, setup.Dir(f.out, shape), time.Since(start).Round(time.Millisecond))
	printKeys(cmd, k)
	return nil
}

// addShapeFlags adds the flags that name a circuit shape: a manifest, or its parts.
func addShapeFlags(cmd *cobra.Command, manifest *string, shape *circuit.Shape) {
	fl := cmd.Flags()
	fl.StringVar(manifest, "manifest", "", "take d, chunk rows and the format from this dataset manifest")
	fl.IntVar(&shape.Features, "d", 0, "number of features (without --manifest)")
	fl.IntVar(&shape.ChunkRows, "chunk-rows", 0, "rows per chunk (without --manifest)")
	fl.IntVar(&shape.ValueBits, "value-bits", 48, "fixed-point value bits b (without --manifest)")
	fl.IntVar(&shape.FractionBits, "fraction-bits", 16, "fixed-point fraction bits f (without --manifest)")
	fl.BoolVar(&shape.Intercept, "intercept", true, "the model has an intercept")
}

// resolveShape fills shape from the manifest when one is named, and validates it.
func resolveShape(cmd *cobra.Command, manifest string, shape *circuit.Shape) error {
	if manifest != "" {
		if cmd.Flags().Changed("d") || cmd.Flags().Changed("chunk-rows") || cmd.Flags().Changed("value-bits") || cmd.Flags().Changed("fraction-bits") {
			return usageErrorf("--manifest fixes the shape; leave out --d, --chunk-rows, --value-bits and --fraction-bits")
		}
		m, err := commitment.LoadManifest(manifest)
		if err != nil {
			return err
		}
		*shape = circuit.ShapeOf(m.Header, shape.Intercept)
	}
	if err := shape.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	return nil
}

func printKeys(cmd *cobra.Command, k *setup.Keys) {
	for _, c := range k.Keyed().Circuits() {
		kc := k.Circuit(c)
		fmt.Fprintf(cmd.OutOrStdout(), "%-5s circuit %s  vk sha256 %s  %d constraints\n", c, kc.ID, kc.VKSHA256, kc.Constraints)
	}
}
