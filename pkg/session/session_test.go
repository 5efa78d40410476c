package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/batonhq/baton/internal/etcdtest"
	"github.com/batonhq/baton/internal/leakcheck"
	"github.com/batonhq/baton/internal/testproxy"
	"github.com/batonhq/baton/pkg/session"
)

const (
	root = "test-root"
	role = "rootcoord"
	ttl  = 2 * time.Second
)

// eventually polls cond every 10 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// newSession registers a session that is closed when the test ends.
func newSession(t *testing.T, cli *clientv3.Client, opts ...session.Option) *session.Session {
	t.Helper()
	opts = append([]session.Option{session.WithTTL(ttl)}, opts...)
	s, err := session.New(testCtx(t, 20*time.Second), cli, root, role, "127.0.0.1:19530", opts...)
	if err != nil {
		t.Fatalf("session.New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func getKey(t *testing.T, cli *clientv3.Client, key string) (value string, lease int64, ok bool) {
	t.Helper()
	resp, err := cli.Get(testCtx(t, 5*time.Second), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if len(resp.Kvs) == 0 {
		return "", 0, false
	}
	return string(resp.Kvs[0].Value), resp.Kvs[0].Lease, true
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestNewRejectsBadRole(t *testing.T) {
	for _, bad := range []string{"", "id", "Root", "root-coord", "a/b"} {
		// The role is checked before etcd is touched, so no client is needed.
		_, err := session.New(context.Background(), nil, root, bad, "a:1")
		if err == nil || !strings.Contains(err.Error(), "role") {
			t.Errorf("New with role %q: got %v, want an error about the role", bad, err)
		}
	}
}

func TestServerIDsAreUniqueAndNeverReused(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	ctx := testCtx(t, time.Minute)

	// 1. Many processes start at once.
	const n = 20
	sessions := make([]*session.Session, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sessions[i], errs[i] = session.New(ctx, c.Client, root, role, "a:1",
				session.WithTTL(ttl))
		})
	}
	wg.Wait()
	ids := make([]session.ServerID, 0, n)
	for i, s := range sessions {
		if errs[i] != nil {
			t.Fatalf("New #%d: %v", i, errs[i])
		}
		ids = append(ids, s.ServerID())
	}

	// 2. The IDs are exactly 1..n: unique, and the counter moved by one
	// for each.
	slices.Sort(ids)
	for i, id := range ids {
		if id != session.ServerID(i+1) {
			t.Fatalf("server IDs %v: want 1..%d with no gaps or repeats", ids, n)
		}
	}
	if v, _, _ := getKey(t, c.Client, session.NewKeys(root).Counter()); v != "20" {
		t.Fatalf("counter = %q, want 20", v)
	}

	// 3. After every session is gone, the next one still gets a new ID.
	for _, s := range sessions {
		if err := s.Close(ctx); err != nil {
			t.Fatalf("close: %v", err)
		}
	}
	for want := session.ServerID(n + 1); want <= n+2; want++ {
		if got := newSession(t, c.Client).ServerID(); got != want {
			t.Fatalf("server ID after closing all = %d, want %d", got, want)
		}
	}
}

func TestCorruptCounterIsReportedNotReset(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	counter := session.NewKeys(root).Counter()
	for _, bad := range []string{"abc", "", "-1", "1.5", "12 ", "0x10"} {
		if _, err := c.Client.Put(testCtx(t, 5*time.Second), counter, bad); err != nil {
			t.Fatal(err)
		}
		s, err := session.New(testCtx(t, 10*time.Second), c.Client, root, role, "a:1",
			session.WithTTL(ttl))
		if s != nil {
			_ = s.Close(context.Background())
		}
		if !errors.Is(err, session.ErrCorruptCounter) || !strings.Contains(err.Error(), counter) {
			t.Fatalf("counter %q: got %v, want ErrCorruptCounter naming %s", bad, err, counter)
		}
		if v, _, _ := getKey(t, c.Client, counter); v != bad {
			t.Fatalf("counter %q was overwritten with %q", bad, v)
		}
	}
}

func TestRegistrationPublishesInfoOnTheLease(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	before := time.Now().Add(-time.Second)
	s := newSession(t, c.Client, session.WithVersion("v1.2.3"))
	lease, lost := s.Lease()
	if isClosed(lost) || !s.Alive() {
		t.Fatal("a new session is not alive")
	}

	// 1. The session key holds the Info as JSON and is on the lease.
	key := s.Keys().Session(role, s.ServerID())
	val, keyLease, ok := getKey(t, c.Client, key)
	if !ok {
		t.Fatalf("session key %s is missing", key)
	}
	if keyLease != int64(lease) {
		t.Fatalf("session key is on lease %x, want %x", keyLease, int64(lease))
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(val), &raw); err != nil {
		t.Fatalf("session value %q: %v", val, err)
	}
	for _, field := range []string{"serverID", "role", "address", "hostname", "version",
		"leaseID", "startTime"} {
		if _, ok := raw[field]; !ok {
			t.Errorf("session value %s lacks field %q", val, field)
		}
	}

	// 2. The values are the session's own.
	info, err := session.DecodeInfo(key, []byte(val))
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	want := s.Info()
	if info.ServerID != s.ServerID() || info.Role != role || info.Address != "127.0.0.1:19530" ||
		info.Hostname != host || info.Version != "v1.2.3" || info.LeaseID != int64(lease) ||
		!info.StartTime.Equal(want.StartTime) {
		t.Fatalf("published info %+v does not match the session's %+v", info, want)
	}
	if info.StartTime.Before(before) || info.StartTime.After(time.Now()) {
		t.Fatalf("start time %v is not around now", info.StartTime)
	}

	// 3. etcd agrees the key is attached to a lease with the TTL asked for.
	ttlResp, err := c.Client.TimeToLive(testCtx(t, 5*time.Second), lease, clientv3.WithAttachedKeys())
	if err != nil {
		t.Fatal(err)
	}
	if ttlResp.GrantedTTL != int64(ttl/time.Second) || len(ttlResp.Keys) != 1 ||
		string(ttlResp.Keys[0]) != key {
		t.Fatalf("lease: granted TTL %d, keys %q; want %d and [%s]",
			ttlResp.GrantedTTL, ttlResp.Keys, int64(ttl/time.Second), key)
	}
}

func TestCloseRevokesTheLease(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	s := newSession(t, c.Client)
	lease, lost := s.Lease()
	key := s.Keys().Session(role, s.ServerID())

	if err := s.Close(testCtx(t, 5*time.Second)); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, _, ok := getKey(t, c.Client, key); ok {
		t.Fatal("session key survived Close")
	}
	resp, err := c.Client.TimeToLive(testCtx(t, 5*time.Second), lease)
	if err != nil || resp.TTL != -1 {
		t.Fatalf("lease after Close: TTL %v, %v; want -1 (gone)", resp, err)
	}
	if !isClosed(lost) || s.Alive() {
		t.Fatal("a closed session still looks alive")
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Renew(context.Background()); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("Renew after Close = %v, want ErrClosed", err)
	}
}

func TestKeepAliveOutlivesTheTTL(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	s := newSession(t, c.Client)
	first := s.Deadline()
	lease, lost := s.Lease()

	// Renewals every TTL/3 push the deadline forward; wait until the
	// first deadline has passed.
	eventually(t, 3*ttl, "the first deadline to pass", func() bool {
		return time.Now().After(first.Add(200 * time.Millisecond))
	})
	if !s.Alive() || isClosed(lost) || !s.Deadline().After(first) {
		t.Fatalf("session died past its first deadline: alive %v, deadline %v -> %v",
			s.Alive(), first, s.Deadline())
	}
	if now, _ := s.Lease(); now != lease {
		t.Fatalf("lease changed from %x to %x without a loss", int64(lease), int64(now))
	}
	if _, _, ok := getKey(t, c.Client, s.Keys().Session(role, s.ServerID())); !ok {
		t.Fatal("session key expired although the lease was renewed")
	}
}

func TestRevokedLeaseIsNoticed(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	s := newSession(t, c.Client)
	lease, lost := s.Lease()
	deadline := s.Deadline()

	// Someone else revokes the lease: the next renewal hears it from etcd,
	// and the session stops claiming to be alive although its local
	// deadline has not passed.
	if _, err := c.Client.Revoke(testCtx(t, 5*time.Second), lease); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
	case <-time.After(2 * ttl):
		t.Fatal("revoked lease was not reported lost")
	}
	if s.Alive() {
		t.Fatalf("Alive after etcd reported the lease gone (local deadline %v, now %v)",
			deadline, time.Now())
	}
}

func TestLeaseLostInPartitionThenRenewed(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	p := testproxy.New(t, c.Endpoint)
	s := newSession(t, etcdtest.NewClient(t, p.Addr()))
	lease, lost := s.Lease()
	id := s.ServerID()
	key := s.Keys().Session(role, id)

	// 1. Watch the session key directly, bypassing the proxy.
	deleted := watchDelete(t, c.Client, key)

	// 2. Partition the session from etcd for longer than the TTL.
	p.Block(testproxy.Blackhole)
	var lostAt time.Time
	select {
	case <-lost:
		lostAt = time.Now()
	case <-time.After(3 * ttl):
		t.Fatal("lease loss was not noticed during the partition")
	}
	if s.Alive() {
		t.Fatal("Alive is true after the lease channel closed")
	}
	if ttlResp, err := c.Client.TimeToLive(testCtx(t, 5*time.Second), lease); err == nil {
		t.Logf("when the loss was noticed, etcd gave the lease %d s more", ttlResp.TTL)
	}

	// 3. The session gave up before etcd did.
	var deletedAt time.Time
	select {
	case deletedAt = <-deleted:
	case <-time.After(3 * ttl):
		t.Fatal("etcd never expired the lease")
	}
	if !lostAt.Before(deletedAt) {
		t.Fatalf("loss noticed at %v, after etcd deleted the key at %v", lostAt, deletedAt)
	}
	t.Logf("loss noticed %v before etcd deleted the session key", deletedAt.Sub(lostAt))

	// 4. Once the network heals, Renew registers again under the same ID.
	p.Restore()
	if err := s.Renew(testCtx(t, 20*time.Second)); err != nil {
		t.Fatalf("renew: %v", err)
	}
	newLease, newLost := s.Lease()
	if newLease == lease || s.ServerID() != id || !s.Alive() || isClosed(newLost) {
		t.Fatalf("after Renew: lease %x (was %x), server ID %d (was %d), alive %v",
			int64(newLease), int64(lease), s.ServerID(), id, s.Alive())
	}
	if _, keyLease, ok := getKey(t, c.Client, key); !ok || keyLease != int64(newLease) {
		t.Fatalf("session key after Renew: present %v, lease %x; want lease %x",
			ok, keyLease, int64(newLease))
	}
	if s.Info().LeaseID != int64(newLease) {
		t.Fatalf("Info().LeaseID = %x, want %x", s.Info().LeaseID, int64(newLease))
	}
}

// watchDelete reports when key is deleted, observed through cli.
func watchDelete(t *testing.T, cli *clientv3.Client, key string) <-chan time.Time {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	wch := cli.Watch(ctx, key, clientv3.WithFilterPut(), clientv3.WithCreatedNotify())
	// Make sure the watch is registered before anything happens.
	select {
	case resp := <-wch:
		if !resp.Created {
			t.Fatalf("watch %s: first response is not its creation: %+v", key, resp)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("watch %s was not created", key)
	}
	deleted := make(chan time.Time, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		for resp := range wch {
			if len(resp.Events) > 0 {
				deleted <- time.Now()
				return
			}
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return deleted
}

func TestRenewHonoursItsContext(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	p := testproxy.New(t, c.Endpoint)
	s := newSession(t, etcdtest.NewClient(t, p.Addr()))
	lease, _ := s.Lease()

	// 1. With etcd unreachable, Renew gives up when its context ends.
	p.Block(testproxy.Refuse)
	start := time.Now()
	err := s.Renew(testCtx(t, 1500*time.Millisecond))
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Renew while refused = %v, want a deadline error", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Renew took %v to honour a 1.5 s context", took)
	}
	if s.Alive() {
		t.Fatal("session claims to be alive while it has no lease")
	}

	// 2. Once etcd is back, Renew succeeds.
	p.Restore()
	if err := s.Renew(testCtx(t, 20*time.Second)); err != nil {
		t.Fatalf("renew after restore: %v", err)
	}
	if now, _ := s.Lease(); now == lease || !s.Alive() {
		t.Fatalf("after Renew: lease %x (was %x), alive %v", int64(now), int64(lease), s.Alive())
	}
}

func TestConcurrentRenewKeepsOneLease(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	s := newSession(t, c.Client)
	ctx := testCtx(t, 20*time.Second)

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := s.Renew(ctx); err != nil {
				t.Errorf("renew: %v", err)
			}
		})
	}
	wg.Wait()

	// Only the current lease is left; the others were revoked. (The leak
	// check catches a renewal goroutine left behind for a replaced lease.)
	lease, lost := s.Lease()
	if isClosed(lost) || !s.Alive() {
		t.Fatal("session is not alive after concurrent renewals")
	}
	leases, err := c.Client.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(leases.Leases) != 1 || leases.Leases[0].ID != lease {
		t.Fatalf("leases at etcd: %v, want only %x", leases.Leases, int64(lease))
	}
}
