package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"

	gnarklog "github.com/consensys/gnark/logger"
	"github.com/spf13/cobra"

	"github.com/comet-attest/comet/cmd/comet/internal/bench"
	"github.com/comet-attest/comet/internal/atomicfile"
)

func newBenchCmd() *cobra.Command {
	var quick bool
	var out, compare string
	cmd := &cobra.Command{
		Use:   "bench [--quick] [--out bench.json] [--compare earlier.json]",
		Short: "Run the standard benchmarks and print one table: commit, train, setup, prove, verify, log, API",
		Example: `  comet bench --quick                              # about a minute: a smoke test of every step
  comet bench --out main.json                      # minutes: the sizes BenchmarkProve uses
  comet bench --compare main.json --out mine.json  # the ratio against an earlier run`,
		Long: `Runs every step of Comet on synthetic data in a scratch directory, one after the other, in
this process: commit and train (rows/s), a single-party setup and the chunk circuit's
constraints per row-feature, prove (row-features/s end to end, the n8192-d8-b32 case of
BenchmarkProve in prover/proof), verify, durable log appends from 64 writers, and a registry
served on loopback on its embedded SQLite default: submit the proven model and wait for it to be
logged, then look it up from 16 clients. It prints the machine (CPU, cores, memory, Go and gnark)
and a table, and writes the report as JSON.

Absolute figures move between machines, and between runs on a shared one: compare two runs on
the same machine, back to back. --compare FILE adds the earlier run's value and the speed-up
(above 1 is better, whichever way the metric goes).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			gnarklog.Disable()
			if !cmd.Flags().Changed("log-level") {
				useLogLevel(slog.LevelWarn) // the scratch registry's and log's routine lines would drown the table
			}
			var old *bench.Report
			if compare != "" {
				b, err := os.ReadFile(compare)
				if err != nil {
					return usageErrorf("--compare: %v", err)
				}
				if old, err = bench.Parse(b); err != nil {
					return usageErrorf("--compare %s: %v", compare, err)
				}
			}
			dir, err := os.MkdirTemp("", "comet-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			steps := newSteps(cmd)
			rep, err := bench.Run(cmd.Context(), bench.Options{Quick: quick, Dir: dir, Progress: steps.Step})
			steps.Stop()
			if err != nil {
				return err
			}
			printBench(cmd.OutOrStdout(), rep, old)
			b, err := rep.Marshal()
			if err != nil {
				return err
			}
			if err := atomicfile.WriteFile(out, b, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "report written to %s\n", out)
			return nil
		},
	}
	cmd.Flags().BoolVar(&quick, "quick", false, "smaller sizes: seconds per step")
	cmd.Flags().StringVar(&out, "out", "bench.json", "report file to write")
	cmd.Flags().StringVar(&compare, "compare", "", "an earlier report to compare with")
	return cmd
}

func printBench(w io.Writer, r *bench.Report, old *bench.Report) {
	m := r.Machine
	size := "full"
	if r.Quick {
		size = "quick"
	}
	fmt.Fprintf(w, "machine  %s, %d cores, %.1f GiB, %s, %s, gnark %s (%s sizes)\n", m.CPU, m.Cores, m.MemoryGiB, m.OS, m.Go, m.Gnark, size)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	if old == nil {
		fmt.Fprintln(tw, "step\t     value\tunit\tmeasured")
		for _, x := range r.Metrics {
			fmt.Fprintf(tw, "%s\t%10s\t%s\t%s\n", x.Name, figure(x.Value), x.Unit, x.Note)
		}
	} else {
		fmt.Fprintln(tw, "step\t     value\t   earlier\tunit\tspeed-up")
		for _, q := range r.Compare(old) {
			x, _ := r.Metric(q.Name)
			earlier, speedup := "-", "-"
			if q.Comparable {
				earlier, speedup = figure(q.Old), fmt.Sprintf("%.2f×", q.Speedup)
			}
			fmt.Fprintf(tw, "%s\t%10s\t%10s\t%s\t%s\n", x.Name, figure(x.Value), earlier, x.Unit, speedup)
		}
	}
	tw.Flush()
}

// figure prints a value with three significant digits, or as an integer when it is large.
func figure(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}
