package main

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"
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
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
			klog.SetSlogLogger(slog.Default()) // tessera logs through klog: one format, one level filter
			return nil
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
		newAdminCmd(), newProviderCmd(), newTrustRootCmd(), newSubmitCmd(), newLookupCmd(), newVerifyCmd(), newBundleCmd(), newWorkerCmd(), newAnchorCmd(),
		newSetupCmd(), newCeremonyCmd(), newProveCmd(), newProofCmd(),
	)
	return root
}
