package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"google.golang.org/grpc"

	"github.com/batonhq/baton/bench/internal/machine"
)

// report is the result of one run.
type report struct {
	Command  string        `json:"command"`
	Machine  machine.Info  `json:"machine"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"durationNs"`
	Warmup   time.Duration `json:"warmupNs"`
	Cells    []cell        `json:"cells"`
}

// pdTimestampsPerSec is what TiKV PD reports for one client, which batches
// requests in the client.
const pdTimestampsPerSec = 800_000

// run starts the processes, measures every cell and stops the processes.
// On failure the processes' logs are kept and named in the error.
func run(ctx context.Context, cfg config) (*report, error) {
	rep := &report{
		Command: cfg.command, Machine: machine.Read(), Started: time.Now().UTC(),
		Duration: cfg.duration, Warmup: cfg.warmup,
	}
	chk := &checker{notBefore: time.Now().Add(-time.Second)}
	dir, err := os.MkdirTemp("", "baton-bench-tso-")
	if err != nil {
		return nil, err
	}
	progress(cfg, "starting etcd and rootcoord in %s", dir)
	c, err := startCluster(ctx, cfg, dir)
	if err == nil {
		err = measure(ctx, cfg, c, chk, rep)
		c.stop()
	}
	if err != nil {
		keepLogsOnly(dir)
		return nil, fmt.Errorf("%w\nlogs kept in %s", err, dir)
	}
	_ = os.RemoveAll(dir)
	return rep, nil
}

// measure runs every cell against the cluster's rootcoord.
func measure(ctx context.Context, cfg config, c *cluster, chk *checker, rep *report) error {
	conns, err := dialAll(c.rcAddr, slices.Max(cfg.clients))
	if err != nil {
		return err
	}
	defer closeAll(conns)
	for _, n := range cfg.clients {
		for _, b := range cfg.batches {
			progress(cfg, "measuring clients=%d batch=%d for %v after %v of warm-up",
				n, b, cfg.duration, cfg.warmup)
			cl, err := runCell(ctx, conns, n, b, cfg.warmup, cfg.duration, chk)
			if err != nil {
				return withExit(err, c)
			}
			cl.Note = note(b)
			rep.Cells = append(rep.Cells, cl)
			progress(cfg, "  %.0f calls/s, %.0f timestamps/s, p99 %v, %d calls checked",
				cl.CallsPerSec, cl.TSPerSec, cl.P99, cl.Checked)
		}
	}
	return nil
}

// withExit adds to err that a process exited, with the end of its log.
func withExit(err error, c *cluster) error {
	for _, p := range []*proc{c.rc, c.etcd} {
		if p != nil && p.exited() {
			return fmt.Errorf("%w\n%s exited (%v); end of its log:\n%s", err, p.name, p.err, p.tail())
		}
	}
	return err
}

// note says which figure of a row compares with PD's.
func note(batch uint32) string {
	if batch == 1 {
		return "one RPC per timestamp"
	}
	return fmt.Sprintf("compare timestamps/s with PD's ~%s (client batching)",
		thousands(pdTimestampsPerSec))
}

// dialAll opens n connections to addr, one per client.
func dialAll(addr string, n int) ([]*grpc.ClientConn, error) {
	conns := make([]*grpc.ClientConn, 0, n)
	for range n {
		conn, err := dial(addr)
		if err != nil {
			closeAll(conns)
			return nil, err
		}
		conns = append(conns, conn)
	}
	return conns, nil
}

func closeAll(conns []*grpc.ClientConn) {
	for _, c := range conns {
		_ = c.Close()
	}
}

// keepLogsOnly removes everything in dir but the *.log files.
func keepLogsOnly(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".log" {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

func progress(cfg config, format string, args ...any) {
	if cfg.progress == nil {
		return
	}
	_, _ = fmt.Fprintf(cfg.progress, "bench/tso: "+format+"\n", args...)
}
