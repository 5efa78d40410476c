package refcoord

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
	"github.com/batonhq/baton/internal/etcdtest"
	"github.com/batonhq/baton/internal/leakcheck"
)

func TestServerAllocTimestamp(t *testing.T) {
	s := &server{}
	ctx := context.Background()
	alloc := func(count uint32) (uint64, error) {
		resp, err := s.AllocTimestamp(ctx, &batonv1.AllocTimestampRequest{Count: count})
		return resp.GetTimestamp(), err
	}
	if _, err := alloc(1); status.Code(err) != codes.Unavailable {
		t.Fatalf("a standby answered %v, want UNAVAILABLE", err)
	}
	s.setLeading(true)
	var last uint64
	for _, count := range []uint32{1, 5, maxCount, 1} {
		ts, err := alloc(count)
		if err != nil {
			t.Fatalf("alloc(%d): %v", count, err)
		}
		if ts <= last {
			t.Fatalf("alloc(%d) = %d, not above the previous range ending at %d", count, ts, last)
		}
		last = ts + uint64(count) - 1
	}
	for _, count := range []uint32{0, maxCount + 1} {
		if _, err := alloc(count); status.Code(err) != codes.InvalidArgument {
			t.Errorf("alloc(%d) = %v, want INVALID_ARGUMENT", count, err)
		}
	}
}

// TestHandover runs two members against a real etcd: the first leads, a
// clean stop hands over to the second, and a client follows.
func TestHandover(t *testing.T) {
	leakcheck.Check(t)
	etcd := etcdtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	member := func() (context.CancelFunc, <-chan error) {
		mctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		cfg := Config{Endpoints: []string{etcd.Endpoint}, Address: etcdtest.FreeAddr(t),
			Prefix: "/test/" + t.Name(), TTL: 5, Logger: slog.New(slog.DiscardHandler)}
		go func() { done <- Run(mctx, cfg) }()
		return stop, done
	}
	c := NewClient(etcd.Client, "/test/"+t.Name(), time.Second)
	defer c.Close()

	// 1. The first member leads and serves.
	stopA, doneA := member()
	first, err := c.AllocTimestamp(ctx, 1)
	if err != nil || first == 0 {
		t.Fatalf("first member: %d, %v", first, err)
	}

	// 2. A clean stop of the leader hands over to the standby at once.
	stopB, doneB := member()
	defer func() {
		stopB()
		if err := <-doneB; err != nil {
			t.Errorf("second member: %v", err)
		}
	}()
	time.Sleep(500 * time.Millisecond) // let it campaign
	stopA()
	if err := <-doneA; err != nil {
		t.Fatalf("first member after a clean stop: %v", err)
	}
	hctx, hcancel := context.WithTimeout(ctx, 3*time.Second) // well below the 5 s TTL
	defer hcancel()
	if _, err := c.AllocTimestamp(hctx, 1); err != nil {
		t.Fatalf("no timestamp from the second member within 3 s: %v", err)
	}
}
