package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
	"github.com/batonhq/baton/internal/leakcheck"
	"github.com/batonhq/baton/internal/rootcoord"
)

// TestHarnessSmoke runs the whole harness with tiny settings: a real
// etcd and rootcoord process, 1 and 4 clients, batches of 1 and 100.
func TestHarnessSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds baton and starts etcd and a rootcoord")
	}
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	cfg := config{
		clients: []int{1, 4}, batches: []uint32{1, 100},
		duration: 300 * time.Millisecond, warmup: 100 * time.Millisecond,
		command: "go test ./bench/tso", progress: &progress,
	}
	rep, err := run(ctx, cfg)
	if err != nil {
		t.Fatalf("run: %v\nprogress:\n%s", err, progress.String())
	}
	if len(rep.Cells) != 4 {
		t.Fatalf("%d cells, want 4", len(rep.Cells))
	}
	for _, c := range rep.Cells {
		checkCell(t, c)
	}
	checkRendered(t, rep)
}

func checkCell(t *testing.T, c cell) {
	t.Helper()
	switch {
	case c.CallsPerSec <= 0 || c.Calls <= 0:
		t.Errorf("%+v: no throughput", c)
	case c.TSPerSec != c.CallsPerSec*float64(c.Batch):
		t.Errorf("%+v: timestamps/s is not calls/s times the batch", c)
	case c.Checked < c.Calls:
		t.Errorf("%+v: %d calls checked, fewer than the %d measured", c, c.Checked, c.Calls)
	case c.Ordered == 0 || c.Ordered >= c.Checked:
		t.Errorf("%+v: %d calls checked for real-time order of %d", c, c.Ordered, c.Checked)
	case c.Clients == 1 && c.Ordered != c.Checked-1:
		t.Errorf("%+v: one client's calls are all ordered but the first", c)
	case !(0 < c.P50 && c.P50 <= c.P99 && c.P99 <= c.P999 && c.P999 <= c.Max):
		t.Errorf("%+v: latencies out of order", c)
	case c.Elapsed < 300*time.Millisecond:
		t.Errorf("%+v: measured for %v, less than -duration", c, c.Elapsed)
	}
}

func checkRendered(t *testing.T, rep *report) {
	t.Helper()
	for format, want := range map[string]string{
		formatTable:    "CLIENTS  BATCH",
		formatMarkdown: "| clients | batch |",
		formatJSON:     `"timestampsPerSec"`,
	} {
		var out bytes.Buffer
		if err := render(&out, rep, format); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{want, "800"} {
			if !strings.Contains(out.String(), s) {
				t.Errorf("-o %s output lacks %q:\n%s", format, s, out.String())
			}
		}
	}
	var out bytes.Buffer
	_ = render(&out, rep, formatJSON)
	var back report
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || len(back.Cells) != 4 {
		t.Fatalf("JSON output does not read back with 4 cells (err %v):\n%s", err, out.String())
	}
}

func TestCheckerResponse(t *testing.T) {
	now := time.Now()
	chk := &checker{notBefore: now.Add(-time.Minute)}
	ms, hour := now.UnixMilli(), int64(time.Hour/time.Millisecond)
	ts := rootcoord.ComposeTS
	tests := []struct {
		name       string
		ts         uint64
		asked, got uint32
		last       uint64
		ok         bool
	}{
		{"above the previous end", ts(ms, 5), 100, 100, ts(ms, 4), true},
		{"first call", ts(ms, 0), 100, 100, 0, true},
		{"last logical values", ts(ms, rootcoord.MaxTimestampCount-100), 100, 100, 0, true},
		{"equal to the previous end", ts(ms, 4), 100, 100, ts(ms, 4), false},
		{"below the previous end", ts(ms-1, 9), 1, 1, ts(ms, 0), false},
		{"wrong count", ts(ms, 5), 100, 99, 0, false},
		{"past the logical range", ts(ms, rootcoord.MaxTimestampCount-50), 100, 100, 0, false},
		{"before the start", ts(ms-hour, 0), 1, 1, 0, false},
		{"an hour ahead", ts(ms+hour, 0), 1, 1, 0, false},
	}
	for _, tt := range tests {
		resp := &batonv1.AllocTimestampResponse{Timestamp: tt.ts, Count: tt.got}
		_, err := chk.response(resp, tt.asked, tt.last, now)
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, errCheck) {
			t.Errorf("%s: got %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestCheckerAcross(t *testing.T) {
	ms := time.Millisecond
	ts := func(logical int64) uint64 { return rootcoord.ComposeTS(1_700_000_000_000, logical) }
	tests := []struct {
		name    string
		calls   []call
		ok      bool
		ordered int
	}{
		{"sequential", []call{{0, 1 * ms, ts(0)}, {2 * ms, 3 * ms, ts(10)}}, true, 1},
		// Calls in flight at the same time may be answered in any order.
		{"concurrent, reversed", []call{{0, 5 * ms, ts(20)}, {1 * ms, 4 * ms, ts(10)}}, true, 0},
		{"overlapping ranges", []call{{0, 1 * ms, ts(0)}, {0, 1 * ms, ts(9)}}, false, 0},
		{"same timestamp", []call{{0, 1 * ms, ts(0)}, {0, 1 * ms, ts(0)}}, false, 0},
		{"later call, smaller timestamp",
			[]call{{0, 1 * ms, ts(50)}, {5 * ms, 6 * ms, ts(30)}, {7 * ms, 8 * ms, ts(60)}}, false, 1},
	}
	chk := &checker{}
	for _, tt := range tests {
		ordered, err := chk.across(tt.calls, 10)
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, errCheck) {
			t.Errorf("%s: got %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err == nil && ordered != tt.ordered {
			t.Errorf("%s: %d calls checked for order, want %d", tt.name, ordered, tt.ordered)
		}
	}
}

func TestRank(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 1000; i++ {
		lat = append(lat, time.Duration(i))
	}
	for q, want := range map[float64]time.Duration{0.5: 500, 0.99: 990, 0.999: 999, 1: 1000} {
		if got := rank(lat, q); got != want {
			t.Errorf("rank(1..1000, %v) = %v, want %v", q, got, want)
		}
	}
	if got := rank(lat[:1], 0.999); got != 1 {
		t.Errorf("rank of one sample = %v, want 1", got)
	}
}

func TestParseFlags(t *testing.T) {
	cfg, format, err := parseFlags([]string{"-clients", "2, 3", "-batch", "1,100",
		"-duration", "2s", "-o", "json"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if format != formatJSON || cfg.duration != 2*time.Second ||
		len(cfg.clients) != 2 || cfg.clients[1] != 3 || cfg.batches[1] != 100 {
		t.Fatalf("parsed %+v, %q", cfg, format)
	}
	for _, args := range [][]string{
		{"-clients", "0"}, {"-clients", "1,x"}, {"-clients", ""}, {"-batch", "300000"},
		{"-duration", "0s"}, {"-warmup", "-1s"}, {"-o", "xml"}, {"extra"},
	} {
		if _, _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%q: accepted", args)
		}
	}
}

func TestCommandLine(t *testing.T) {
	got := commandLine("/tmp/go-build123/b001/exe/tso", []string{"-duration", "1s", "-o", "a b"})
	if want := "go run ./bench/tso -duration 1s -o 'a b'"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := commandLine("./tso", nil); got != "./tso" {
		t.Errorf("got %q, want ./tso", got)
	}
}

// TestRunCellStopsOnAWrongAnswer drives a rootcoord stand-in that hands
// out the same timestamp twice and checks that the cell fails on it.
func TestRunCellStopsOnAWrongAnswer(t *testing.T) {
	leakcheck.Check(t)
	addr := serveFake(t, &repeatingRC{})
	conns, err := dialAll(addr, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(conns)
	chk := &checker{notBefore: time.Now().Add(-time.Second)}
	_, err = runCell(context.Background(), conns, 2, 1, 0, 5*time.Second, chk)
	if !errors.Is(err, errCheck) {
		t.Fatalf("runCell against a repeating TSO: got %v, want a check failure", err)
	}
}

// repeatingRC issues a fresh timestamp on even calls and repeats the last
// one on odd calls.
type repeatingRC struct {
	batonv1.UnimplementedRootCoordServer
	n atomic.Int64
}

func (r *repeatingRC) AllocTimestamp(
	_ context.Context,
	req *batonv1.AllocTimestampRequest,
) (*batonv1.AllocTimestampResponse, error) {
	n := r.n.Add(1) / 2
	ts := rootcoord.ComposeTS(time.Now().UnixMilli(), 0) + uint64(n)
	return &batonv1.AllocTimestampResponse{Timestamp: ts, Count: req.GetCount()}, nil
}

func serveFake(t *testing.T, rc batonv1.RootCoordServer) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	batonv1.RegisterRootCoordServer(s, rc)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(l)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-done
	})
	return l.Addr().String()
}
