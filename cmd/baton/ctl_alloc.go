package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/batonhq/baton/internal/rootcoord"
	"github.com/batonhq/baton/pkg/client"
)

func newTSOCmd(o *ctlOpts) *cobra.Command {
	var count uint32
	cmd := &cobra.Command{
		Use:   "tso",
		Short: "Allocate timestamps from the active rootcoord",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if count < 1 || count > rootcoord.MaxTimestampCount {
				return fmt.Errorf("--count %d: give 1 to %d", count, rootcoord.MaxTimestampCount)
			}
			return o.withRootCoord(cmd, func(ctx context.Context, rc *client.Client) error {
				ts, err := rc.AllocTimestamp(ctx, count)
				if err != nil {
					return err
				}
				phys, logical := rootcoord.ParseTS(ts)
				out := map[string]any{
					"timestamp": ts, "count": count,
					"physical": phys.UTC().Format(time.RFC3339Nano), "logical": logical,
				}
				if o.output == "json" {
					return printJSON(cmd.OutOrStdout(), out)
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%d (physical %s, logical %d, count %d)\n",
					ts, out["physical"], logical, count)
				return err
			})
		},
	}
	cmd.Flags().Uint32Var(&count, "count", 1, "how many consecutive timestamps")
	return cmd
}

func newIDCmd(o *ctlOpts) *cobra.Command {
	var count uint32
	cmd := &cobra.Command{
		Use:   "id",
		Short: "Allocate unique IDs from the active rootcoord",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if count < 1 || count > rootcoord.MaxIDCount {
				return fmt.Errorf("--count %d: give 1 to %d", count, rootcoord.MaxIDCount)
			}
			return o.withRootCoord(cmd, func(ctx context.Context, rc *client.Client) error {
				first, err := rc.AllocID(ctx, count)
				if err != nil {
					return err
				}
				if o.output == "json" {
					return printJSON(cmd.OutOrStdout(), map[string]any{"first": first, "count": count})
				}
				if count == 1 {
					_, err = fmt.Fprintf(cmd.OutOrStdout(), "ID %d\n", first)
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "IDs %d to %d (%d)\n", first,
					first+int64(count)-1, count)
				return err
			})
		},
	}
	cmd.Flags().Uint32Var(&count, "count", 1, "how many consecutive IDs")
	return cmd
}
