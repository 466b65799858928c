package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/comet-attest/comet/attest/trustroot"
	"github.com/comet-attest/comet/chain/anchor"
	"github.com/spf13/cobra"
)

func newAnchorCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "anchor", Short: "The registry's anchoring of its log on Starknet"}
	status := &cobra.Command{
		Use:     "status",
		Short:   "List the checkpoints the registry anchored or is anchoring: size, root, transaction, block, finality",
		Example: "  comet anchor status --registry https://registry.example",
		Args:    cobra.NoArgs,
	}
	f := addRegistryFlags(status, false)
	asJSON := status.Flags().Bool("json", false, "print the registry's answer as JSON")
	status.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := f.client(false)
		if err != nil {
			return err
		}
		l, err := c.Anchors(cmd.Context())
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		if *asJSON {
			return writeJSON(out, l)
		}
		if len(l.Items) == 0 {
			fmt.Fprintln(out, "nothing anchored yet")
			return nil
		}
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "SIZE\tSTATUS\tBLOCK\tFINALITY\tTX\tROOT\tERROR")
		for _, a := range l.Items {
			block := "-"
			if a.BlockNumber != nil {
				block = fmt.Sprint(*a.BlockNumber)
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.TreeSize, a.Status, block, dash(a.Finality), dash(a.TxHash), a.Root, a.Error)
		}
		return w.Flush()
	}
	cmd.AddCommand(status)
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// rpcURLDefault is the default of verify's --rpc-url.
func rpcURLDefault() string { return os.Getenv("COMET_RPC_URL") }

// anchorReader reads anchors from the contract and chain the trust root pins: the bundle's
// receipt only says where to look. It holds no account, so it cannot send.
func anchorReader(ctx context.Context, root *trustroot.Root, rpcURL string) (*anchor.Client, error) {
	if root.Starknet == nil || root.Starknet.Contract == "" {
		return nil, usageErrorf("--rpc-url: the trust root pins no anchor contract")
	}
	c, err := anchor.New(ctx, anchor.Config{RPCURL: rpcURL, ContractAddress: root.Starknet.Contract, ChainID: root.Starknet.ChainID})
	if err != nil {
		return nil, fmt.Errorf("--rpc-url: anchor reader: %w", err)
	}
	return c, nil
}
