// Command tso measures the throughput and latency of AllocTimestamp on one
// real rootcoord process over gRPC, and checks every timestamp it gets.
//
//	go run ./bench/tso [-clients 1,8,64] [-batch 1,100] [-duration 5s]
//	                   [-warmup 1s] [-o table|markdown|json] [-baton PATH]
//
// It builds cmd/baton into a temporary directory (or uses -baton), starts
// `baton run etcd` and `baton run rootcoord` on free 127.0.0.1 ports, and
// for every (clients, batch) cell runs that many concurrent clients, each
// with its own gRPC connection, calling AllocTimestamp with count = batch
// back to back: first for the warm-up, then for the measured duration.
//
// Every response is checked, and a violation stops the run with an error:
// each client's timestamps strictly increase; the count is the one asked
// for and the range stays inside one millisecond's logical counter; no two
// calls' ranges overlap; a call that started after another ended got a
// larger timestamp (real-time order); the physical part is a plausible
// wall-clock time.
//
// The table goes to stdout; progress, and the processes' log files when
// something fails, to stderr. Exit code 1 on any failure.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	cfg, format, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/tso:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/tso:", err)
		os.Exit(1)
	}
	if err := render(os.Stdout, rep, format); err != nil {
		fmt.Fprintln(os.Stderr, "bench/tso:", err)
		os.Exit(1)
	}
}
