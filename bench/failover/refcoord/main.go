// Command refcoord runs one member of the reference active-standby group
// of the failover benchmark (see bench/internal/refcoord): a leader
// election on etcd's concurrency package, serving AllocTimestamp while it
// leads.
//
//	refcoord --etcd 127.0.0.1:2379 --address 127.0.0.1:7001 --prefix /refcoord/rootcoord --ttl 10
//
// SIGTERM or SIGINT resigns and exits 0; a session lost while leading
// exits 1.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/batonhq/baton/bench/internal/refcoord"
)

func main() {
	var cfg refcoord.Config
	var endpoints string
	flag.StringVar(&endpoints, "etcd", "127.0.0.1:2379", "comma-separated etcd endpoints")
	flag.StringVar(&cfg.Address, "address", "127.0.0.1:7001",
		"host:port to listen on and to advertise")
	flag.StringVar(&cfg.Prefix, "prefix", "/refcoord/rootcoord", "election prefix")
	flag.IntVar(&cfg.TTL, "ttl", 10, "session lease TTL in seconds")
	flag.Parse()
	cfg.Endpoints = strings.Split(endpoints, ",")
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	err := refcoord.Run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "refcoord:", err)
		os.Exit(1)
	}
}
