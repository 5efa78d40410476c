package rootcoord

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/batonhq/baton/internal/etcdtest"
	"github.com/batonhq/baton/pkg/election"
	"github.com/batonhq/baton/pkg/session"
)

// benchTimeout bounds every etcd call a benchmark makes outside the timed
// allocator loop.
const benchTimeout = 30 * time.Second

// BenchmarkAllocTimestamp measures the TSO allocator of an active
// rootcoord in process, without gRPC, against a real embedded etcd: one
// caller (serial) and GOMAXPROCS callers (parallel), asking for 1 or 100
// timestamps a call. ts/s counts timestamps, not calls; lead-ms is how far
// the TSO's physical part is ahead of the wall clock afterwards (the
// sub-benchmarks share one TSO, so the lead carries over). Each caller
// checks that its timestamps strictly increase.
func BenchmarkAllocTimestamp(b *testing.B) {
	c := etcdtest.Start(b)
	rc := benchActive(b, c.Client, "bench-tso")
	for _, count := range []int64{1, 100} {
		b.Run(fmt.Sprintf("serial/count=%d", count), func(b *testing.B) {
			ctx := context.Background()
			var last uint64
			for b.Loop() {
				ts, err := rc.tso.Alloc(ctx, count)
				if err != nil {
					b.Fatal(err)
				}
				if ts <= last {
					b.Fatalf("timestamp %d is not above the previous range's end %d", ts, last)
				}
				last = ts + uint64(count) - 1
			}
			reportTS(b, rc, count)
		})
		b.Run(fmt.Sprintf("parallel/count=%d", count), func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				var last uint64
				for pb.Next() {
					ts, err := rc.tso.Alloc(ctx, count)
					if err == nil && ts <= last {
						err = fmt.Errorf("timestamp %d is not above the previous range's end %d",
							ts, last)
					}
					if err != nil {
						b.Error(err) // FailNow may not be called off the benchmark goroutine
						return
					}
					last = ts + uint64(count) - 1
				}
			})
			reportTS(b, rc, count)
		})
	}
}

// reportTS reports timestamps per second, and how far the physical part
// of the next timestamp is ahead of the wall clock (lead-ms): above 2^18
// timestamps per millisecond the TSO moves its physical part ahead of the
// clock, so a sustained rate above that shows as a growing lead.
func reportTS(b *testing.B, rc *RootCoord, count int64) {
	if secs := b.Elapsed().Seconds(); secs > 0 {
		b.ReportMetric(float64(b.N)*float64(count)/secs, "ts/s")
	}
	ts, err := rc.tso.Alloc(context.Background(), 1)
	if err != nil {
		b.Fatal(err)
	}
	phys, _ := ParseTS(ts)
	b.ReportMetric(float64(time.Until(phys))/float64(time.Millisecond), "lead-ms")
}

// benchActive registers a session, wins the rootcoord role under root and
// activates a warm RootCoord on it; everything stops when tb ends.
func benchActive(tb testing.TB, cli *clientv3.Client, root string) *RootCoord {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	defer cancel()
	s, term := benchCampaign(tb, cli, root, "127.0.0.1:1")
	tb.Cleanup(func() { _ = s.Close(context.Background()) })
	tb.Cleanup(func() { term.End(nil) })
	rc := New(cli, root, slog.New(slog.DiscardHandler), true)
	rc.Start()
	tb.Cleanup(rc.Stop)
	if err := rc.Activate(ctx, term); err != nil {
		tb.Fatalf("activate: %v", err)
	}
	tb.Cleanup(func() { rc.Deactivate(nil) })
	return rc
}

// benchCampaign registers a rootcoord session under root and wins the
// role, which must be vacant.
func benchCampaign(
	tb testing.TB,
	cli *clientv3.Client,
	root, addr string,
) (*session.Session, *election.Term) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	defer cancel()
	s, err := session.New(ctx, cli, root, "rootcoord", addr)
	if err != nil {
		tb.Fatalf("session: %v", err)
	}
	term, h, err := election.NewCandidate(s, nil).Campaign(ctx)
	if err != nil || term == nil {
		_ = s.Close(context.Background())
		tb.Fatalf("campaign: term=%v holder=%+v err=%v", term, h, err)
	}
	return s, term
}
