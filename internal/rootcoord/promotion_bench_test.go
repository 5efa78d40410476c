package rootcoord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/encoding/protojson"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
	"github.com/batonhq/baton/internal/etcdtest"
	"github.com/batonhq/baton/pkg/election"
	"github.com/batonhq/baton/pkg/session"
)

// promotionSizes are the catalog sizes BenchmarkPromotion measures, in
// ascending order: each size adds to the catalog of the one before.
var promotionSizes = []int{1000, 10000, 100000}

const (
	// fillBatch is how many collections one fill transaction writes (the
	// embedded etcd's default limit on operations per transaction).
	fillBatch = 128
	// fillWorkers is how many fill transactions are in flight at once.
	fillWorkers = 4
	// loadTimeout bounds a full load of the largest catalog.
	loadTimeout = 2 * time.Minute
)

var errCrash = errors.New("benchmark: active crashed")

// BenchmarkPromotion measures, per catalog size, the time from "the active
// is gone" (its lease revoked, so etcd deleted its ACTIVE key) to "the new
// rootcoord is ready to serve" (it won the campaign, activated, and issued
// a timestamp). warm promotes a standby whose follower has the catalog
// loaded; cold loads the whole catalog at activation
// (common.activeStandby.warmStandby: false). How long a standby takes to
// notice the vacancy (a watch event, or fast detection after a kill -9) is
// not included: it does not depend on the catalog.
//
// Metrics: ms/promotion (the timed span), its parts campaign-ms,
// activate-ms and alloc-ms, the slowest promotion (max-ms), and for warm
// the heap in use after the follower's load (heap-MB, HeapInuse of the
// whole process, etcd included) and the live heap the load added
// (follower-MB, the HeapAlloc difference). Filling 100,000 collections
// takes a while; run with a fixed count, e.g.
//
//	go test -run '^$' -bench BenchmarkPromotion -benchtime 10x ./internal/rootcoord
func BenchmarkPromotion(b *testing.B) {
	c := etcdtest.Start(b)
	const root = "bench-promotion"
	filled := 0
	for _, size := range promotionSizes {
		b.Run(fmt.Sprintf("collections=%d", size), func(b *testing.B) {
			filled = fillCatalog(b, c.Client, root, filled, size)
			for _, mode := range []struct {
				name string
				warm bool
			}{{"warm", true}, {"cold", false}} {
				b.Run(mode.name, func(b *testing.B) {
					benchPromotion(b, c.Client, root, size, mode.warm)
				})
			}
		})
	}
}

// promotionTimes sums the parts of the timed promotions.
type promotionTimes struct {
	campaign, activate, alloc time.Duration
	slowest                   time.Duration
}

func (p promotionTimes) report(b *testing.B) {
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / n }
	b.ReportMetric(ms(b.Elapsed()), "ms/promotion")
	b.ReportMetric(ms(p.campaign), "campaign-ms")
	b.ReportMetric(ms(p.activate), "activate-ms")
	b.ReportMetric(ms(p.alloc), "alloc-ms")
	b.ReportMetric(float64(p.slowest)/float64(time.Millisecond), "max-ms")
}

func benchPromotion(b *testing.B, cli *clientv3.Client, root string, size int, warm bool) {
	ctx := context.Background()
	rc := New(cli, root, slog.New(slog.DiscardHandler), warm)
	defer rc.Stop() // not b.Cleanup: that would keep rc's catalog reachable
	var heap, grown float64
	if warm {
		heap, grown = startWarm(b, rc)
	}
	var times promotionTimes
	for b.Loop() {
		// 1. Untimed: an active that saved a TSO bound, a registered
		// standby session, then the active crashes.
		b.StopTimer()
		bound := startActiveAndCrash(b, cli, root)
		s, err := session.New(ctx, cli, root, "rootcoord", "127.0.0.1:2")
		if err != nil {
			b.Fatal(err)
		}

		// 2. Timed: campaign, activate, first timestamp.
		b.StartTimer()
		t0 := time.Now()
		term, _, err := election.NewCandidate(s, nil).Campaign(ctx)
		t1 := time.Now()
		if err != nil || term == nil {
			b.Fatalf("campaign after the active crashed: term=%v err=%v", term, err)
		}
		if err := rc.Activate(ctx, term); err != nil {
			b.Fatalf("activate: %v", err)
		}
		t2 := time.Now()
		ts, err := rc.tso.Alloc(ctx, 1)
		t3 := time.Now()
		b.StopTimer()

		// 3. Untimed: check what the new active serves, then step down.
		times.campaign += t1.Sub(t0)
		times.activate += t2.Sub(t1)
		times.alloc += t3.Sub(t2)
		times.slowest = max(times.slowest, t3.Sub(t0))
		checkPromoted(b, rc, ts, err, bound, size)
		rc.Deactivate(nil)
		if err := term.Resign(ctx); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	times.report(b)
	if warm { // after the loop: its first call deletes metrics reported before it
		b.ReportMetric(heap, "heap-MB")
		b.ReportMetric(grown, "follower-MB")
	}
}

// startWarm starts rc's follower and waits until it has loaded the
// catalog. It returns, in MB, the heap in use afterwards (the whole
// process, etcd included) and the growth of live heap objects the load
// caused. The caller stops rc.
func startWarm(b *testing.B, rc *RootCoord) (heap, grown float64) {
	before := readHeap()
	rc.Start()
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	if err := rc.f.catchUp(ctx); err != nil {
		b.Fatalf("warm standby did not load the catalog: %v", err)
	}
	after := readHeap()
	grownBytes := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	return float64(after.HeapInuse) / 1e6, float64(grownBytes) / 1e6
}

// readHeap collects garbage and reads the memory statistics.
func readHeap() runtime.MemStats {
	runtime.GC()
	runtime.GC() // the second cycle frees what the first one's finalizers released
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}

// startActiveAndCrash makes an active that saves a TSO bound (as every
// active does when it starts), then ends it the way a kill -9 would: its
// lease is revoked, so etcd deletes its ACTIVE key. It returns the bound.
func startActiveAndCrash(b *testing.B, cli *clientv3.Client, root string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	defer cancel()
	s, term := benchCampaign(b, cli, root, "127.0.0.1:1")
	tsoKey, _, _ := Keys(root)
	resp, err := cli.Get(ctx, tsoKey)
	if err != nil {
		b.Fatal(err)
	}
	var raw []byte
	if len(resp.Kvs) == 1 {
		raw = resp.Kvs[0].Value
	}
	tso := NewTSO(tsoKey)
	if err := tso.Activate(ctx, raw, term); err != nil {
		b.Fatalf("old active's TSO: %v", err)
	}
	tso.mu.Lock()
	bound := tso.mu.bound
	tso.mu.Unlock()

	// Close revokes the lease: to etcd and to the standby this is a crash.
	if err := s.Close(ctx); err != nil {
		b.Fatal(err)
	}
	term.End(errCrash)
	tso.Deactivate()
	return bound
}

// checkPromoted fails b unless the promoted rootcoord serves the whole
// catalog and its first timestamp is at or above the old active's bound.
func checkPromoted(b *testing.B, rc *RootCoord, ts uint64, err error, bound int64, size int) {
	if err != nil {
		b.Fatalf("first timestamp after promotion: %v", err)
	}
	if phys, _ := ParseTS(ts); phys.UnixMilli() < bound {
		b.Fatalf("first timestamp after promotion at %d ms, below the old active's bound %d",
			phys.UnixMilli(), bound)
	}
	if n := rc.catalog.Len(); n != size {
		b.Fatalf("promoted rootcoord has %d collections, want %d", n, size)
	}
}

// fillCatalog writes collections have..want-1 under root in batched
// transactions, in the catalog's own format, and returns want.
func fillCatalog(b *testing.B, cli *clientv3.Client, root string, have, want int) int {
	if have >= want {
		return have
	}
	start := time.Now()
	_, _, prefix := Keys(root)
	errs := make([]error, fillWorkers)
	var wg sync.WaitGroup
	for w := range fillWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			step := fillWorkers * fillBatch
			for from := have + w*fillBatch; from < want && errs[w] == nil; from += step {
				errs[w] = fillBatchTxn(cli, prefix, from, min(from+fillBatch, want))
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatalf("fill catalog: %v", err)
	}
	b.Logf("filled collections %d..%d in %v", have, want-1, time.Since(start).Round(time.Millisecond))
	return want
}

func fillBatchTxn(cli *clientv3.Client, prefix string, from, to int) error {
	ops := make([]clientv3.Op, 0, to-from)
	for i := from; i < to; i++ {
		coll := benchCollection(i)
		val, err := protojson.Marshal(coll)
		if err != nil {
			return err
		}
		ops = append(ops, clientv3.OpPut(prefix+coll.GetName(), string(val)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	defer cancel()
	resp, err := cli.Txn(ctx).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("collections %d..%d: %w", from, to-1, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("collections %d..%d: transaction did not succeed", from, to-1)
	}
	return nil
}

// benchCollection is a collection of a typical shape: a primary key, a
// title, a year and a 768-dimensional embedding.
func benchCollection(i int) *batonv1.Collection {
	return &batonv1.Collection{
		Id:          int64(i) + 1,
		Name:        fmt.Sprintf("coll_%06d", i),
		Description: "benchmark collection",
		Fields: []*batonv1.FieldSchema{
			{Name: "id", Type: batonv1.FieldType_FIELD_TYPE_INT64, PrimaryKey: true},
			{Name: "title", Type: batonv1.FieldType_FIELD_TYPE_VARCHAR, MaxLength: 512},
			{Name: "year", Type: batonv1.FieldType_FIELD_TYPE_INT32},
			{Name: "embedding", Type: batonv1.FieldType_FIELD_TYPE_FLOAT_VECTOR, Dim: 768},
		},
		CreateTimestamp: ComposeTS(time.Now().UnixMilli(), int64(i)),
	}
}
