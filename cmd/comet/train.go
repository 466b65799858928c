package main

import "github.com/spf13/cobra"

func newTrainCmd() *cobra.Command {
	return &cobra.Command{Use: "train", Short: "Train a model on a committed dataset"}
}
