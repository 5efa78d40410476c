package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/status"

	"github.com/batonhq/baton/internal/config"
	"github.com/batonhq/baton/pkg/client"
	"github.com/batonhq/baton/pkg/session"
)

// ctlOpts are the flags every ctl command shares.
type ctlOpts struct {
	endpoints string
	rootPath  string
	timeout   time.Duration
	output    string
}

func newCtlCmd() *cobra.Command {
	o := &ctlOpts{}
	ctl := &cobra.Command{
		Use:   "ctl",
		Short: "Inspect and use a running Baton cluster",
	}
	pf := ctl.PersistentFlags()
	pf.StringVar(&o.endpoints, "etcd", "",
		"etcd endpoints, comma separated (default $BATON_ETCD_ENDPOINTS, else $ETCD_ENDPOINTS, "+
			"else 127.0.0.1:2379)")
	pf.StringVar(&o.rootPath, "root-path", "",
		"etcd root path (default $BATON_ETCD_ROOTPATH, else by-dev)")
	pf.DurationVar(&o.timeout, "timeout", 30*time.Second,
		"how long to keep trying, across a failover")
	pf.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	ctl.AddCommand(newStatusCmd(o), newTSOCmd(o), newIDCmd(o), newCollectionCmd(o))
	return ctl
}

func (o *ctlOpts) check() error {
	if o.output != "table" && o.output != "json" {
		return fmt.Errorf("-o %q: use table or json", o.output)
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout %v: must be positive", o.timeout)
	}
	if err := config.CheckRootPath(o.root()); err != nil {
		return fmt.Errorf("--root-path: %w", err)
	}
	return nil
}

func (o *ctlOpts) endpointList() []string {
	raw := o.endpoints
	for _, env := range []string{"BATON_ETCD_ENDPOINTS", "ETCD_ENDPOINTS"} {
		if raw == "" {
			raw = os.Getenv(env)
		}
	}
	if raw == "" {
		raw = "127.0.0.1:2379"
	}
	var eps []string
	for _, e := range strings.Split(raw, ",") {
		if e = strings.TrimSpace(e); e != "" {
			eps = append(eps, e)
		}
	}
	return eps
}

func (o *ctlOpts) root() string {
	if o.rootPath != "" {
		return o.rootPath
	}
	if v := os.Getenv("BATON_ETCD_ROOTPATH"); v != "" {
		return v
	}
	return "by-dev"
}

// etcd returns a client; the caller closes it.
func (o *ctlOpts) etcd() (*clientv3.Client, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	eps := o.endpointList()
	if err := reachable(eps); err != nil {
		return nil, err
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   eps,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcd at %s: %w; check --etcd or BATON_ETCD_ENDPOINTS",
			strings.Join(eps, ","), err)
	}
	return cli, nil
}

// reachable checks that the endpoints are well formed and that at least one
// of them accepts a TCP connection, so that a wrong or down etcd is reported
// at once and with its cause (connection refused, no such host) instead of
// as a timeout many seconds later.
func reachable(eps []string) error {
	if len(eps) == 0 {
		return errors.New("no etcd endpoint given; use --etcd host:port")
	}
	var failures []string
	for _, ep := range eps {
		if strings.HasPrefix(ep, "unix://") || strings.HasPrefix(ep, "unixs://") {
			return nil // a socket path: leave it to the etcd client
		}
		hostPort := ep
		if u, err := url.Parse(ep); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
			hostPort = u.Host
		}
		if _, port, err := net.SplitHostPort(hostPort); err != nil || port == "" {
			return fmt.Errorf("etcd endpoint %q: want host:port or http://host:port", ep)
		}
		conn, err := net.DialTimeout("tcp", hostPort, 2*time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		failures = append(failures, err.Error())
	}
	return fmt.Errorf("cannot connect to etcd: %s; is etcd running? check --etcd, "+
		"BATON_ETCD_ENDPOINTS or ETCD_ENDPOINTS", strings.Join(failures, "; "))
}

// withRootCoord runs fn with a client of the active rootcoord.
func (o *ctlOpts) withRootCoord(cmd *cobra.Command, fn func(context.Context, *client.Client) error) error {
	cli, err := o.etcd()
	if err != nil {
		return err
	}
	defer cli.Close()
	if err := o.preflight(cmd.Context(), cli); err != nil {
		return err
	}
	rc := client.New(cli, o.root())
	defer rc.Close()
	ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
	defer cancel()
	return o.explain(fn(ctx, rc))
}

// preflight fails fast, with a hint, when etcd cannot be read or no
// rootcoord is registered at all; a failover in progress (sessions but no
// active) is left to the retrying client.
func (o *ctlOpts) preflight(ctx context.Context, cli *clientv3.Client) error {
	ctx, cancel := context.WithTimeout(ctx, min(o.timeout, 5*time.Second))
	defer cancel()
	prefix := session.NewKeys(o.root()).Prefix() + "rootcoord"
	resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return fmt.Errorf("cannot read etcd at %s: %w; check --etcd or BATON_ETCD_ENDPOINTS",
			strings.Join(o.endpointList(), ","), err)
	}
	if resp.Count == 0 {
		return fmt.Errorf("no rootcoord is registered in etcd at %s under root path %q; "+
			"start one with `baton run rootcoord` (or check --root-path)",
			strings.Join(o.endpointList(), ","), o.root())
	}
	return nil
}

// explain turns an error into one line that says what to do.
func (o *ctlOpts) explain(err error) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return errors.New(st.Message())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer from an active rootcoord within %v (etcd %s, root path %q): "+
			"%v; is a rootcoord running?", o.timeout, strings.Join(o.endpointList(), ","),
			o.root(), err)
	}
	return err
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
