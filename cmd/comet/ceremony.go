package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	gnarklog "github.com/consensys/gnark/logger"
	"github.com/spf13/cobra"

	"github.com/comet-attest/comet/internal/atomicfile"
	"github.com/comet-attest/comet/prover/ceremony"
	"github.com/comet-attest/comet/prover/circuit"
	"github.com/comet-attest/comet/prover/setup"
)

func newCeremonyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ceremony",
		Short: "Make a shape's Groth16 keys in a multi-party ceremony (one honest contributor per phase suffices)",
		Long: `A ceremony replaces comet setup for keys anyone may rely on. The coordinator runs init; each
participant runs contribute on the directory as it reaches them (by any channel) and passes it
on; the coordinator runs close-phase1, the participants contribute again (phase 2), and the
coordinator runs finalize, which writes the keys and the transcript. Anyone runs verify on the
directory or the published transcript. As long as one contributor to each phase was honest, nobody
can forge proofs with the keys (docs/proof.md, "Key ceremony").`,
	}
	cmd.AddCommand(newCeremonyInitCmd(), newCeremonyContributeCmd(), newCeremonyClosePhase1Cmd(),
		newCeremonyVerifyCmd(), newCeremonyFinalizeCmd())
	return cmd
}

func newCeremonyInitCmd() *cobra.Command {
	var manifest, out string
	var shape circuit.Shape
	var eval evalFlags
	cmd := &cobra.Command{
		Use:     "init (--manifest data.manifest.json | --d 8 --chunk-rows 1024 ...) [--evaluation] --out ceremony/",
		Short:   "Start a ceremony for one circuit shape (training's circuits, or with --evaluation comet evaluate's)",
		Example: "  comet ceremony init --manifest data.manifest.json --out ceremony/\n  comet ceremony init --evaluation --manifest test.manifest.json --out eval-ceremony/",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := resolveShape(cmd, manifest, &shape); err != nil {
				return err
			}
			keyed, err := eval.keyed(cmd, shape)
			if err != nil {
				return err
			}
			st, err := ceremony.Init(cmd.Context(), out, keyed)
			if errors.Is(err, ceremony.ErrPhase) {
				return usageErrorf("%v", err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ceremony for %s in %s: phase 1 open (domain %d); pass the directory to the first contributor\n", st.Keyed(), out, st.Domain)
			return nil
		},
	}
	addShapeFlags(cmd, &manifest, &shape)
	addEvalFlags(cmd, &eval)
	cmd.Flags().StringVar(&out, "out", "", "ceremony directory to create (required)")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func newCeremonyContributeCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:     "contribute ceremony/ --name NAME",
		Short:   "Add your contribution to the open phase (secret from crypto/rand, never written)",
		Example: "  comet ceremony contribute ceremony/ --name alice",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			gnarklog.Disable()
			if err := ceremony.CheckName(name); err != nil {
				return usageErrorf("--name: %v", err)
			}
			steps := newSteps(cmd)
			added, err := ceremony.Contribute(cmd.Context(), args[0], name, steps.Step)
			steps.Stop()
			if errors.Is(err, ceremony.ErrPhase) || errors.Is(err, ceremony.ErrInvalid) {
				return usageErrorf("%v", err)
			}
			if err != nil {
				return err
			}
			for _, c := range added {
				fmt.Fprintf(cmd.OutOrStdout(), "contributed %s by %s: sha256 %s\n", c.File, c.Name, c.SHA256)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "your name as it will be published (required)")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func newCeremonyClosePhase1Cmd() *cobra.Command {
	var beacon string
	cmd := &cobra.Command{
		Use:     "close-phase1 ceremony/ [--beacon HEX]",
		Short:   "Verify and seal phase 1 and derive each circuit's phase-2 starting point (coordinator; anyone can redo it)",
		Example: "  comet ceremony close-phase1 ceremony/ --beacon 6e1c...  # a public random value drawn after the last contribution",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			gnarklog.Disable()
			steps := newSteps(cmd)
			st, err := ceremony.ClosePhase1(cmd.Context(), args[0], beacon, steps.Step)
			steps.Stop()
			if errors.Is(err, ceremony.ErrPhase) || errors.Is(err, ceremony.ErrInvalid) {
				return usageErrorf("%v", err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "phase 1 sealed (%d contributions, beacon %s); phase 2 open\n", len(st.Contributors(ceremony.Phase1)), st.Beacon1)
			return nil
		},
	}
	cmd.Flags().StringVar(&beacon, "beacon", "", "public randomness announced in advance, hex (default: derived from the transcript)")
	return cmd
}

func newCeremonyVerifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "verify ceremony/|transcript.tar",
		Short:   "Re-check every contribution in order: exit 0 when all verify, 1 when one does not",
		Example: "  comet ceremony verify ceremony/\n  comet ceremony verify transcript.tar",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			gnarklog.Disable()
			start := time.Now()
			steps := newSteps(cmd)
			rep, err := ceremony.Verify(cmd.Context(), args[0], steps.Step)
			steps.Stop()
			if errors.Is(err, ceremony.ErrInvalid) {
				return usageErrorf("%v", err)
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "ceremony for %s, phase %d\n", rep.State.Keyed(), rep.State.Phase)
			for _, r := range rep.Results {
				status := "ok"
				if r.Err != nil {
					status = "FAILED: " + r.Err.Error()
				}
				who := r.Name
				if r.Circuit != "" {
					who += " (" + r.Circuit + ")"
				}
				fmt.Fprintf(out, "phase %d  %-24s %-32s sha256 %s  %s\n", r.Phase, r.File, who, r.SHA256, status)
			}
			if err := rep.Err(); err != nil {
				return fmt.Errorf("%w: %w", errCheckFailed, err)
			}
			if k := rep.Keys; k != nil {
				fmt.Fprintf(out, "keys: chunk vk sha256 %s, final vk sha256 %s\n", k.Chunk.VKSHA256, k.Final.VKSHA256)
			}
			fmt.Fprintf(out, "every contribution verified (%d) in %v\n", len(rep.Results), time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
}

func newCeremonyFinalizeCmd() *cobra.Command {
	var beacon, out string
	cmd := &cobra.Command{
		Use:     "finalize ceremony/ --out keys/ [--beacon HEX]",
		Short:   "Verify everything, seal phase 2, and write the keys with their transcript",
		Example: "  comet ceremony finalize ceremony/ --out keys/ --beacon 9f3a...",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			gnarklog.Disable()
			ctx := cmd.Context()
			steps := newSteps(cmd)
			keys, st, err := ceremony.Finalize(ctx, args[0], beacon, steps.Step)
			steps.Stop()
			if errors.Is(err, ceremony.ErrPhase) || errors.Is(err, ceremony.ErrInvalid) {
				return usageErrorf("%v", err)
			}
			if err != nil {
				return err
			}
			dir := setup.Dir(out, keys.Keyed())
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			const transcript = "transcript.tar"
			h := sha256.New()
			if err := atomicfile.Write(filepath.Join(dir, transcript), 0o644, func(w io.Writer) error {
				return ceremony.WriteTranscript(args[0], io.MultiWriter(w, h))
			}); err != nil {
				return err
			}
			keys.Ceremony = &setup.Ceremony{Transcript: transcript, TranscriptSHA256: hex.EncodeToString(h.Sum(nil)),
				Phase1Contributors: st.Contributors(ceremony.Phase1), Phase2Contributors: st.Contributors(ceremony.Phase2)}
			if err := keys.Save(ctx, out); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "keys for %s written to %s from a ceremony of %s (phase 1) and %s (phase 2)\n", keys.Keyed(), dir,
				strings.Join(keys.Ceremony.Phase1Contributors, ", "), strings.Join(keys.Ceremony.Phase2Contributors, ", "))
			fmt.Fprintf(w, "transcript %s sha256 %s\n", filepath.Join(dir, transcript), keys.Ceremony.TranscriptSHA256)
			printKeys(cmd, keys)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "keys directory (required)")
	cmd.Flags().StringVar(&beacon, "beacon", "", "public randomness announced in advance, hex (default: derived from the transcript)")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
