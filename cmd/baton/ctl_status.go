package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/batonhq/baton/pkg/election"
	"github.com/batonhq/baton/pkg/session"
)

// statusRow is one registered coordinator as `ctl status` prints it.
type statusRow struct {
	Role       string    `json:"role"`
	ServerID   int64     `json:"serverID"`
	Address    string    `json:"address"`
	State      string    `json:"state"`
	Epoch      int64     `json:"epoch"`
	TTLSeconds int64     `json:"ttlSeconds"`
	Since      time.Time `json:"since"`
	Hostname   string    `json:"hostname"`
	Version    string    `json:"version"`
	LeaseID    string    `json:"leaseID"`
	// Problem says why the row's stored session could not be read.
	Problem string `json:"problem,omitempty"`
}

func newStatusCmd(o *ctlOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "List registered coordinators and which is active",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cli, err := o.etcd()
			if err != nil {
				return err
			}
			defer cli.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), min(o.timeout, 10*time.Second))
			defer cancel()
			rows, err := readStatus(ctx, cli, o.root())
			if err != nil {
				return o.explainEtcd(err)
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			if len(rows) == 0 {
				_, err := fmt.Fprintf(cmd.OutOrStdout(),
					"no coordinators registered in etcd at %s under root path %q\n",
					strings.Join(o.endpointList(), ","), o.root())
				return err
			}
			return printStatusTable(cmd.OutOrStdout(), rows)
		},
	}
}

func (o *ctlOpts) explainEtcd(err error) error {
	return fmt.Errorf("read cluster state from etcd %v (root path %q): %w; check --etcd or "+
		"BATON_ETCD_ENDPOINTS", o.endpointList(), o.root(), err)
}

// readStatus lists every session and marks the actives.
func readStatus(ctx context.Context, cli *clientv3.Client, root string) ([]statusRow, error) {
	keys := session.NewKeys(root)
	resp, err := cli.Get(ctx, keys.Prefix(), clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	actives := map[string]election.Holder{}
	var sessions []session.Info
	var bad []statusRow
	for _, kv := range resp.Kvs {
		role, id, ok := keys.Parse(string(kv.Key))
		if !ok {
			continue
		}
		info, err := session.DecodeInfo(string(kv.Key), kv.Value)
		if err != nil {
			// One bad value must not hide the rest of the cluster.
			state := "CORRUPT"
			if id == 0 {
				state = "CORRUPT ACTIVE KEY"
			}
			bad = append(bad, statusRow{Role: role, ServerID: int64(id), State: state,
				TTLSeconds: -1, Problem: fmt.Sprintf("%v; delete the key if no coordinator is using it",
					err)})
			continue
		}
		if id == 0 {
			actives[role] = election.Holder{Info: info, Epoch: kv.CreateRevision}
			continue
		}
		sessions = append(sessions, info)
	}
	rows := make([]statusRow, 0, len(sessions)+len(bad))
	for _, info := range sessions {
		rows = append(rows, toRow(ctx, cli, info, actives[info.Role]))
	}
	rows = append(rows, bad...)
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Role != rows[j].Role {
			return rows[i].Role < rows[j].Role
		}
		return rows[i].ServerID < rows[j].ServerID
	})
	return rows, nil
}

func toRow(ctx context.Context, cli *clientv3.Client, info session.Info, h election.Holder) statusRow {
	row := statusRow{
		Role: info.Role, ServerID: int64(info.ServerID), Address: info.Address,
		State: "STANDBY", Epoch: h.Epoch, TTLSeconds: -1, Since: info.StartTime,
		Hostname: info.Hostname, Version: info.Version,
		LeaseID: fmt.Sprintf("%x", info.LeaseID),
	}
	if h.Info.ServerID == info.ServerID {
		row.State, row.Since = "ACTIVE", h.Info.ActiveSince
	}
	if ttl, err := cli.TimeToLive(ctx, clientv3.LeaseID(info.LeaseID)); err == nil {
		row.TTLSeconds = ttl.TTL
	}
	return row
}

func printStatusTable(w io.Writer, rows []statusRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tSERVER ID\tADDRESS\tSTATE\tEPOCH\tTTL\tSINCE")
	var problems []string
	for _, r := range rows {
		if r.Problem != "" {
			fmt.Fprintf(tw, "%s\t%d\t-\t%s\t-\t-\t-\n", r.Role, r.ServerID, r.State)
			problems = append(problems, r.Problem)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%ds\t%s (%s ago)\n", r.Role, r.ServerID, r.Address,
			r.State, r.Epoch, r.TTLSeconds, r.Since.Local().Format(time.DateTime),
			time.Since(r.Since).Round(time.Second))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range problems {
		if _, err := fmt.Fprintln(w, "problem: "+p); err != nil {
			return err
		}
	}
	return nil
}
