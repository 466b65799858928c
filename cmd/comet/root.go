package main

import (
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/klog/v2"
)

func newRootCmd() *cobra.Command {
	var logLevel string
	root := &cobra.Command{
		Use:           "comet",
		Short:         "Verifiable training attestations for legal-document models",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return usageErrorf("--log-level: %v", err)
			}
			useLogLevel(level)
			return missingFlags(cmd)
		},
	}
	root.Version = versionText()
	root.SetVersionTemplate("{{.Version}}")
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErrorf("%v", err) })
	root.AddCommand(
		newDatasetCmd(),
		newTrainCmd(),
		newKeysCmd(),
		newServeCmd(),
		newAdminCmd(), newProviderCmd(), newTrustRootCmd(), newSubmitCmd(), newSubmitEvalCmd(), newLookupCmd(), newVerifyCmd(), newBundleCmd(), newWorkerCmd(), newAnchorCmd(),
		newSetupCmd(), newCeremonyCmd(), newProveCmd(), newEvaluateCmd(), newProofCmd(), newBenchCmd(),
	)
	refuseUnknownSubcommands(root)
	return root
}

// useLogLevel logs to stderr from level up, tessera's klog included.
func useLogLevel(level slog.Level) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	klog.SetSlogLogger(slog.Default()) // tessera logs through klog: one format, one level filter
}

// missingFlags reports the first flag marked required (cobra.MarkFlagRequired) that was not
// given, worded as the commands word the requirements they check themselves. It runs before
// cobra's own check, whose wording differs ("required flag(s) "label" not set").
func missingFlags(cmd *cobra.Command) error {
	var missing []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if req := f.Annotations[cobra.BashCompOneRequiredFlag]; len(req) > 0 && req[0] == "true" && !f.Changed {
			missing = append(missing, "--"+f.Name)
		}
	})
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return usageErrorf("%s is required", missing[0])
	}
	return usageErrorf("%s and %s are required", strings.Join(missing[:len(missing)-1], ", "), missing[len(missing)-1])
}

// refuseUnknownSubcommands makes every command that only groups others fail on an argument
// that names none of them: cobra shows such a command's help and exits 0, so a mistyped
// `comet dataset comit` would look like success. Without arguments it shows its help.
func refuseUnknownSubcommands(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		refuseUnknownSubcommands(sub)
	}
	if !cmd.HasSubCommands() || cmd.Runnable() {
		return
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageErrorf("unknown command %q for %q; see %s --help", args[0], cmd.CommandPath(), cmd.CommandPath())
		}
		return cmd.Help()
	}
}
