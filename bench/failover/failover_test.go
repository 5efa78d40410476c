package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/leakcheck"
)

// lockedBuffer collects the progress output, written by the harness while
// the test may read it on failure.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type quickRow struct {
	System   string   `json:"system"`
	Scenario string   `json:"scenario"`
	Metric   string   `json:"metric"`
	Unit     string   `json:"unit"`
	N        int      `json:"n"`
	Failed   int      `json:"failed"`
	Median   *float64 `json:"median"`
	Worst    *float64 `json:"worst"`
	Values   []float64
	Errors   []string `json:"errors"`
}

// bound is what one row of the -quick run must show. The bounds are loose
// for a loaded 2-core machine, but each can fail: without fast detection a
// crash waits for the 10 s lease (at least about 6.5 s), and a frozen
// active evicted by mistake would be replaced in well under a second.
type bound struct {
	system, scenario, metric string
	min, max                 float64
}

var quickBounds = []bound{
	{sysBaton, "crash", mKillFirst.name, 0, 4000},
	{sysBaton, "crash", mKillLogged.name, 0, 4000},
	{sysBaton, "crash", mTook.name, 0, 2000},
	{sysBaton, "graceful", mTermFirst.name, 0, 3000},
	{sysBaton, "client gap", mGap.name, 0, 5000},
	{sysBaton, "frozen", mStopFirst.name, 1000, 15000},
	{sysMilvus, "crash", mKillFirst.name, 1000, 15000},
	{sysMilvus, "crash", mKillLogged.name, 1000, 15000},
	{sysMilvus, "crash", mTook.name, 0, 5000},
	{sysMilvus, "client gap", mGap.name, 1000, 20000},
	{sysEtcd, "crash", mKillFirst.name, 1000, 15000},
	{sysEtcd, "crash", mKillLogged.name, 1000, 15000},
	{sysEtcd, "graceful", mTermFirst.name, 0, 3000},
	{sysEtcd, "client gap", mGap.name, 1000, 20000},
	{sysBaton, "catalog 1000, warm", mTook.name, 0, 5000},
	{sysBaton, "catalog 1000, warm", mKillFirst.name, 0, 5000},
	{sysBaton, "catalog 1000, warm", mStandbyRSS.name, 1, 4096},
	{sysBaton, "catalog 1000, cold", mTook.name, 0, 5000},
	{sysBaton, "catalog 1000, cold", mKillFirst.name, 0, 5000},
	{sysBaton, "catalog 1000, cold", mStandbyRSS.name, 1, 4096},
}

// TestQuick runs the whole harness in -quick mode against real processes
// and checks that the table has every row with sane figures.
func TestQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and a dozen coordinators for about 30 s; skipped under -short")
	}
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	var out bytes.Buffer
	progress := &lockedBuffer{}
	start := time.Now()
	err := run(ctx, []string{"-quick", "-o", "json"}, &out, progress)
	t.Logf("-quick took %v", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("run: %v\nprogress:\n%s\noutput:\n%s", err, progress, out.String())
	}
	var rep struct {
		Command string     `json:"command"`
		Rows    []quickRow `json:"rows"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if rep.Command != "go run ./bench/failover -quick -o json" {
		t.Errorf("command = %q", rep.Command)
	}
	if len(rep.Rows) != len(quickBounds) {
		t.Errorf("%d rows, want %d:\n%s", len(rep.Rows), len(quickBounds), out.String())
	}
	for _, b := range quickBounds {
		checkRow(t, rep.Rows, b)
	}
	if t.Failed() {
		t.Logf("progress:\n%s", progress)
	}
}

func checkRow(t *testing.T, rows []quickRow, b bound) {
	t.Helper()
	name := b.system + "/" + b.scenario + "/" + b.metric
	for _, r := range rows {
		if r.System != b.system || r.Scenario != b.scenario || r.Metric != b.metric {
			continue
		}
		if r.N != 1 || r.Failed != 0 || r.Median == nil || r.Worst == nil {
			t.Errorf("%s: n=%d failed=%d median=%v errors=%q", name, r.N, r.Failed, r.Median, r.Errors)
			return
		}
		v := *r.Median
		if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 || v < b.min || v > b.max {
			t.Errorf("%s = %.1f %s, want within [%g, %g] and positive", name, v, r.Unit, b.min, b.max)
		}
		if *r.Worst < v {
			t.Errorf("%s: worst %.1f below median %.1f", name, *r.Worst, v)
		}
		return
	}
	t.Errorf("no row %s", name)
}
