package e2e

// Failure scenarios with real processes and real signals: etcd unreachable
// for one coordinator (through an internal/testproxy in this test process),
// a three-member etcd losing members, a corrupt TSO bound, a frozen active
// and a partitioned active. Helpers here start with pt so they do not clash
// with other files of the package.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
	"github.com/batonhq/baton/internal/coord"
	"github.com/batonhq/baton/internal/etcdtest"
	"github.com/batonhq/baton/internal/rootcoord"
	"github.com/batonhq/baton/internal/testproxy"
)

const (
	// ptTTL is the session TTL cluster.env gives every coordinator.
	ptTTL = 2 * time.Second
	// ptCallTimeout bounds one direct call, so a frozen process does not
	// hold a hammer for long.
	ptCallTimeout = 300 * time.Millisecond
	// ptRoot is the default etcd root path.
	ptRoot = "by-dev"
)

// ptNode is one rootcoord process; a proxied one reaches etcd only through
// its own proxy.
type ptNode struct {
	name  string
	p     *proc
	addr  string
	proxy *testproxy.Proxy
}

// ptStart starts a rootcoord with active-standby enabled. With proxied, its
// ETCD_ENDPOINTS is a proxy in front of the cluster's first endpoint.
func (c *cluster) ptStart(name string, proxied bool, extraEnv ...string) *ptNode {
	c.t.Helper()
	n := &ptNode{name: name}
	if proxied {
		first, _, _ := strings.Cut(c.endpoint, ",")
		n.proxy = testproxy.New(c.t, first)
		extraEnv = append(extraEnv, "ETCD_ENDPOINTS="+n.proxy.Addr())
	}
	n.p, n.addr = c.rootcoord(name, extraEnv...)
	return n
}

// ptRow returns the status row of the coordinator at addr.
func (c *cluster) ptRow(addr string) (statusRow, bool) {
	c.t.Helper()
	for _, r := range c.status() {
		if r.Address == addr {
			return r, true
		}
	}
	return statusRow{}, false
}

// ptWaitRow waits until the row of addr satisfies ok.
func (c *cluster) ptWaitRow(addr, what string, timeout time.Duration,
	ok func(statusRow) bool) statusRow {
	c.t.Helper()
	var found statusRow
	eventually(c.t, timeout, addr+" "+what, func() error {
		r, present := c.ptRow(addr)
		if !present || !ok(r) {
			return fmt.Errorf("row %+v (present=%v)", r, present)
		}
		found = r
		return nil
	})
	return found
}

// ptWaitGone waits until addr is no longer registered (its lease expired).
func (c *cluster) ptWaitGone(addr string, timeout time.Duration) {
	c.t.Helper()
	eventually(c.t, timeout, addr+" is no longer registered", func() error {
		if r, present := c.ptRow(addr); present {
			return fmt.Errorf("still registered: %+v", r)
		}
		return nil
	})
}

// ptActive waits until exactly one rootcoord is ACTIVE and returns it.
func (c *cluster) ptActive(timeout time.Duration) statusRow {
	c.t.Helper()
	var active statusRow
	eventually(c.t, timeout, "exactly one rootcoord is ACTIVE", func() error {
		var n int
		for _, r := range c.status() {
			if r.State == "ACTIVE" {
				active, n = r, n+1
			}
		}
		if n != 1 {
			return fmt.Errorf("%d actives", n)
		}
		return nil
	})
	return active
}

// ptWaitNewActive waits until a rootcoord other than the one at old is
// ACTIVE.
func (c *cluster) ptWaitNewActive(old string, timeout time.Duration) statusRow {
	c.t.Helper()
	var active statusRow
	eventually(c.t, timeout, "a rootcoord other than "+old+" is ACTIVE", func() error {
		for _, r := range c.status() {
			if r.State == "ACTIVE" && r.Address != old {
				active = r
				return nil
			}
		}
		return errors.New("not yet")
	})
	return active
}

// ptLastTS takes count timestamps through ctl and returns the last one.
func (c *cluster) ptLastTS(count int) uint64 {
	c.t.Helper()
	ts := c.tso(count)
	return ts.Timestamp + uint64(ts.Count) - 1
}

// ptDirect calls one process directly, naming its server ID in metadata,
// as a client that still believes it is the active would.
type ptDirect struct {
	name     string
	serverID string
	rc       batonv1.RootCoordClient
}

func ptDial(t *testing.T, name, addr string, serverID int64) *ptDirect {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial %s at %s: %v", name, addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &ptDirect{name: name, serverID: strconv.FormatInt(serverID, 10),
		rc: batonv1.NewRootCoordClient(conn)}
}

func (d *ptDirect) callCtx(parent context.Context) (context.Context, context.CancelFunc) {
	ctx := metadata.AppendToOutgoingContext(parent, coord.ServerIDHeader, d.serverID)
	return context.WithTimeout(ctx, ptCallTimeout)
}

// ptSample is one direct call and its outcome.
type ptSample struct {
	node       string
	create     bool   // CreateCollection, else AllocTimestamp(1)
	name       string // the collection, for a create
	sent, recv time.Time
	ts         uint64 // the timestamp, or the collection's create timestamp
	err        error
}

func (s ptSample) String() string {
	op := "alloc"
	if s.create {
		op = "create " + s.name
	}
	return fmt.Sprintf("%s %s sent=%s recv=%s ts=%d err=%v", s.node, op,
		s.sent.Format("15:04:05.000"), s.recv.Format("15:04:05.000"), s.ts, s.err)
}

func (d *ptDirect) alloc(ctx context.Context) ptSample {
	cctx, cancel := d.callCtx(ctx)
	defer cancel()
	s := ptSample{node: d.name, sent: time.Now()}
	resp, err := d.rc.AllocTimestamp(cctx, &batonv1.AllocTimestampRequest{Count: 1})
	s.recv, s.ts, s.err = time.Now(), resp.GetTimestamp(), err
	return s
}

func (d *ptDirect) create(ctx context.Context, name string) ptSample {
	cctx, cancel := d.callCtx(ctx)
	defer cancel()
	s := ptSample{node: d.name, create: true, name: name, sent: time.Now()}
	resp, err := d.rc.CreateCollection(cctx, &batonv1.CreateCollectionRequest{
		Name: name, RequestId: name,
		Fields: []*batonv1.FieldSchema{
			{Name: "id", Type: batonv1.FieldType_FIELD_TYPE_INT64, PrimaryKey: true},
			{Name: "vector", Type: batonv1.FieldType_FIELD_TYPE_FLOAT_VECTOR, Dim: 8},
		},
	})
	s.recv, s.ts, s.err = time.Now(), resp.GetCollection().GetCreateTimestamp(), err
	return s
}

// ptHammer calls one process over and over from its own goroutine and
// records every call.
type ptHammer struct {
	d      *ptDirect
	create bool // CreateCollection calls, else AllocTimestamp
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	samples []ptSample
}

func ptStartHammer(t *testing.T, d *ptDirect, create bool) *ptHammer {
	ctx, cancel := context.WithCancel(context.Background())
	h := &ptHammer{d: d, create: create, cancel: cancel, done: make(chan struct{})}
	go h.run(ctx)
	t.Cleanup(func() { h.stop() })
	return h
}

func (h *ptHammer) run(ctx context.Context) {
	defer close(h.done)
	for i := 1; ctx.Err() == nil; i++ {
		var s ptSample
		pause := 3 * time.Millisecond
		if h.create {
			s, pause = h.d.create(ctx, fmt.Sprintf("%s_%d", h.d.name, i)), 20*time.Millisecond
		} else {
			s = h.d.alloc(ctx)
		}
		if ctx.Err() != nil {
			return // cancelled by stop: the outcome says nothing
		}
		h.mu.Lock()
		h.samples = append(h.samples, s)
		h.mu.Unlock()
		if s.err != nil {
			pause = max(pause, 10*time.Millisecond)
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
}

// firstOK returns the first successful call, waiting up to timeout.
func (h *ptHammer) firstOK(t *testing.T, timeout time.Duration) ptSample {
	t.Helper()
	var first ptSample
	eventually(t, timeout, h.d.name+" answers a call", func() error {
		for _, s := range h.snapshot() {
			if s.err == nil {
				first = s
				return nil
			}
		}
		return errors.New("no successful call yet")
	})
	return first
}

func (h *ptHammer) snapshot() []ptSample {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]ptSample(nil), h.samples...)
}

// stop ends the hammer and returns everything it recorded.
func (h *ptHammer) stop() []ptSample {
	h.cancel()
	<-h.done
	return h.snapshot()
}

func ptOK(samples []ptSample) []ptSample {
	var ok []ptSample
	for _, s := range samples {
		if s.err == nil {
			ok = append(ok, s)
		}
	}
	return ok
}

// ptCheckOrder fails the test if a call that was sent after another call
// had been answered got a timestamp that is not above that call's: the TSO
// must be linearizable across every process and every failover.
func ptCheckOrder(t *testing.T, samples []ptSample) {
	t.Helper()
	byRecv := ptOK(samples)
	sort.Slice(byRecv, func(i, j int) bool { return byRecv[i].recv.Before(byRecv[j].recv) })
	prefix := make([]int, len(byRecv)) // index of the highest ts among byRecv[:i+1]
	for i := range byRecv {
		prefix[i] = i
		if i > 0 && byRecv[prefix[i-1]].ts > byRecv[i].ts {
			prefix[i] = prefix[i-1]
		}
	}
	var bad int
	for _, y := range byRecv {
		n := sort.Search(len(byRecv), func(i int) bool { return !byRecv[i].recv.Before(y.sent) })
		if n == 0 {
			continue
		}
		if x := byRecv[prefix[n-1]]; x.ts >= y.ts {
			if bad++; bad <= 5 {
				t.Errorf("timestamp went back: %v was answered before %v was sent", x, y)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d calls got a timestamp not above one answered before they were sent", bad)
	}
}

// ptPut writes key directly in etcd.
func ptPut(t *testing.T, cli *clientv3.Client, key, val string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, key, val); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func ptGet(t *testing.T, cli *clientv3.Client, key string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if len(resp.Kvs) == 0 {
		return ""
	}
	return string(resp.Kvs[0].Value)
}

// TestStandbyOutlivesEtcdOutage cuts the standby off from etcd for three
// TTLs, first silently (blackhole), then with refused connections. Each time
// its lease expires at etcd; when etcd is back it must register a new lease
// and be a standby again, and then take over from a kill -9 of the active
// with everything the active wrote, including what it wrote during the
// outage.
func TestStandbyOutlivesEtcdOutage(t *testing.T) {
	c := startEtcd(t)
	a := c.ptStart("rootcoord-a", false)
	c.waitState(a.addr, "ACTIVE", 20*time.Second)
	b := c.ptStart("rootcoord-b", true)
	c.waitState(b.addr, "STANDBY", 20*time.Second)

	c.ctl("collection", "create", "before_outage", "--dim", "8")
	maxTS := c.ptLastTS(10)
	for _, mode := range []testproxy.Mode{testproxy.Blackhole, testproxy.Refuse} {
		before, _ := c.ptRow(b.addr)

		// 1. Cut the standby off; its lease must expire at etcd.
		b.proxy.Block(mode)
		cutAt := time.Now()
		c.ptWaitGone(b.addr, ptTTL+3*time.Second)
		t.Logf("%v: the standby's session was gone from etcd %v after the cut", mode,
			time.Since(cutAt).Round(time.Millisecond))

		// 2. The active serves meanwhile.
		c.ctl("collection", "create", "during_"+mode.String(), "--dim", "8")
		maxTS = max(maxTS, c.ptLastTS(10))
		time.Sleep(time.Until(cutAt.Add(3 * ptTTL)))

		// 3. Heal: a new lease, the same server ID, STANDBY again.
		b.proxy.Restore()
		healedAt := time.Now()
		row := c.ptWaitRow(b.addr, "is STANDBY on a new lease", 20*time.Second,
			func(r statusRow) bool { return r.State == "STANDBY" && r.LeaseID != before.LeaseID })
		healed := time.Since(healedAt)
		t.Logf("%v: STANDBY again %v after the heal (lease %s -> %s)", mode,
			healed.Round(time.Millisecond), before.LeaseID, row.LeaseID)
		if healed > ptTTL+time.Second {
			t.Fatalf("%v: STANDBY again only %v after etcd was back; want within TTL + 1 s",
				mode, healed)
		}
		if row.ServerID != before.ServerID || row.TTLSeconds <= 0 {
			t.Fatalf("%v: after the heal %+v, before %+v; want the same server ID, a live lease",
				mode, row, before)
		}
	}
	if n := strings.Count(b.p.out.String(), "session lease lost, registering a new lease"); n < 2 {
		t.Fatalf("the standby logged %d lease losses, want one per outage", n)
	}

	// 4. kill -9 the active: the standby takes over with everything.
	c.ctl("collection", "create", "after_outage", "--dim", "8")
	want := c.collections()
	a.p.signal(syscall.SIGKILL)
	killedAt := time.Now()
	c.waitState(b.addr, "ACTIVE", 15*time.Second)
	t.Logf("kill -9 of the active -> the standby is ACTIVE in ctl status after %v",
		time.Since(killedAt).Round(time.Millisecond))
	if got := c.collections(); fmt.Sprint(got) != fmt.Sprint(want) || len(got) != 4 {
		t.Fatalf("collections after the takeover %v, want %v", got, want)
	}
	if ts := c.tso(1); ts.Timestamp <= maxTS {
		t.Fatalf("timestamp %d after the takeover is not above %d", ts.Timestamp, maxTS)
	}
}

// ptMember is one `baton run etcd` process of a multi-member cluster.
type ptMember struct {
	name, client, peer, dir string
	initial                 string // --initial-cluster
	p                       *proc
}

// start starts the member; a restart finds its data directory and rejoins.
func (m *ptMember) start(t *testing.T) {
	m.p = start(t, "etcd-"+m.name, nil, "run", "etcd", "--name", m.name, "--data-dir", m.dir,
		"--listen-client-urls", "http://"+m.client, "--listen-peer-urls", "http://"+m.peer,
		"--initial-cluster", m.initial, "--initial-cluster-state", "new")
}

// ptStartEtcd3 starts a three-member etcd cluster and returns it with a
// client of all members.
func ptStartEtcd3(t *testing.T) (*cluster, []*ptMember) {
	t.Helper()
	var members []*ptMember
	var initial, endpoints []string
	for i := range 3 {
		m := &ptMember{name: fmt.Sprintf("e%d", i+1), client: etcdtest.FreeAddr(t),
			peer: etcdtest.FreeAddr(t), dir: t.TempDir()}
		members = append(members, m)
		initial = append(initial, m.name+"=http://"+m.peer)
		endpoints = append(endpoints, m.client)
	}
	for _, m := range members {
		m.initial = strings.Join(initial, ",")
		m.start(t)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second,
		Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	c := &cluster{t: t, endpoint: strings.Join(endpoints, ","), etcd: members[0].p, cli: cli}
	for _, m := range members {
		ptWaitMember(t, cli, m, 30*time.Second)
	}
	return c, members
}

// ptWaitMember waits until m answers Status and knows a leader.
func ptWaitMember(t *testing.T, cli *clientv3.Client, m *ptMember, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, "etcd member "+m.name+" serves", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		st, err := cli.Status(ctx, m.client)
		if err != nil {
			return err
		}
		if st.Leader == 0 {
			return errors.New("no leader")
		}
		return nil
	})
}

// ptLeader returns the member that is the etcd leader.
func ptLeader(t *testing.T, cli *clientv3.Client, members []*ptMember) *ptMember {
	t.Helper()
	var leader *ptMember
	eventually(t, 15*time.Second, "an etcd leader is known", func() error {
		for _, m := range members {
			if m.p.exited() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := cli.Status(ctx, m.client)
			cancel()
			if err == nil && st.Leader != 0 && st.Leader == st.Header.MemberId {
				leader = m
				return nil
			}
		}
		return errors.New("no member says it leads")
	})
	return leader
}

// TestThreeMemberEtcd runs the coordinators on a three-member etcd. Round 1
// stops a follower member with SIGTERM; round 2 (with it back) kills the
// etcd leader with kill -9. Each round then kills the active coordinator:
// a standby takes over, every acknowledged collection is there and the TSO
// is above everything issued before.
func TestThreeMemberEtcd(t *testing.T) {
	c, members := ptStartEtcd3(t)
	nodes := map[string]*ptNode{}
	a := c.ptStart("rootcoord-a", false)
	nodes[a.addr] = a
	c.waitState(a.addr, "ACTIVE", 20*time.Second)
	b := c.ptStart("rootcoord-b", false)
	nodes[b.addr] = b
	c.waitState(b.addr, "STANDBY", 20*time.Second)

	acked := map[string]bool{}
	var maxTS uint64
	work := func(prefix string) {
		for i := range 3 {
			name := fmt.Sprintf("%s_%d", prefix, i)
			c.ctl("collection", "create", name, "--dim", "8")
			acked[name] = true
		}
		maxTS = max(maxTS, c.ptLastTS(10))
	}
	check := func(round string) {
		got := c.collections()
		for name := range acked {
			if _, ok := got[name]; !ok {
				t.Fatalf("%s: acknowledged collection %s is missing; have %v", round, name, got)
			}
		}
		if ts := c.tso(1); ts.Timestamp <= maxTS {
			t.Fatalf("%s: timestamp %d is not above %d", round, ts.Timestamp, maxTS)
		}
	}
	killActive := func(round string) {
		act := c.ptActive(20 * time.Second)
		n := nodes[act.Address]
		n.p.signal(syscall.SIGKILL)
		killedAt := time.Now()
		next := c.ptWaitNewActive(act.Address, 20*time.Second)
		t.Logf("%s: kill -9 of the active %s -> %s ACTIVE after %v", round, act.Address,
			next.Address, time.Since(killedAt).Round(time.Millisecond))
		delete(nodes, act.Address)
	}

	// Round 1: SIGTERM a follower member; quorum stays.
	work("r1_before")
	leader := ptLeader(t, c.cli, members)
	var stopped *ptMember
	for _, m := range members {
		if m != leader {
			stopped = m
			break
		}
	}
	stopped.p.signal(syscall.SIGTERM)
	t.Logf("round 1: SIGTERM to etcd member %s (leader is %s)", stopped.name, leader.name)
	if code, ok := stopped.p.wait(15 * time.Second); !ok || code != 0 {
		t.Fatalf("etcd member %s after SIGTERM: exited=%v code=%d", stopped.name, ok, code)
	}
	work("r1_two_members")
	killActive("round 1")
	work("r1_after")
	check("round 1")

	// Round 2: the member comes back, a new standby joins, the leader dies.
	stopped.start(t)
	ptWaitMember(t, c.cli, stopped, 30*time.Second)
	cn := c.ptStart("rootcoord-c", false)
	nodes[cn.addr] = cn
	c.waitState(cn.addr, "STANDBY", 20*time.Second)
	work("r2_before")
	leader = ptLeader(t, c.cli, members)
	leader.p.signal(syscall.SIGKILL)
	t.Logf("round 2: killed the etcd leader %s", leader.name)
	work("r2_leader_killed")
	c.ptActive(20 * time.Second)
	killActive("round 2")
	work("r2_after")
	check("round 2")
}

// TestCorruptTSOBound corrupts the saved TSO bound while the standby waits,
// then kills the active. The standby must refuse to serve, say why (naming
// the key and what to do) and leave the value alone; after the repair the
// operator guide describes it must serve above the repaired bound. Then a
// new active is cut off from etcd in the middle of its activation: it must
// not take the failed read for a fresh cluster.
func TestCorruptTSOBound(t *testing.T) {
	c := startEtcd(t)
	tsoKey, _, collPrefix := rootcoord.Keys(ptRoot)
	a := c.ptStart("rootcoord-a", false)
	c.waitState(a.addr, "ACTIVE", 20*time.Second)
	b := c.ptStart("rootcoord-b", false)
	rowB := c.waitState(b.addr, "STANDBY", 20*time.Second)
	c.ctl("collection", "create", "kept", "--dim", "8")
	maxTS := c.ptLastTS(10)

	// 1. Freeze the active so its ticker cannot rewrite the bound, corrupt
	// the bound, then kill the active.
	a.p.signal(syscall.SIGSTOP)
	time.Sleep(200 * time.Millisecond)
	const garbage = "not-a-bound"
	ptPut(t, c.cli, tsoKey, garbage)
	a.p.signal(syscall.SIGKILL)

	// 2. The standby refuses, says why, and leaves the value alone.
	eventually(t, 10*time.Second, "the standby refuses to activate on the corrupt bound",
		func() error {
			out := b.p.out.String()
			for _, want := range []string{"activation failed, resigning", tsoKey, garbage,
				"set it above every timestamp issued"} {
				if !strings.Contains(out, want) {
					return fmt.Errorf("log does not mention %q", want)
				}
			}
			return nil
		})
	d := ptDial(t, "rootcoord-b", b.addr, rowB.ServerID)
	var calls int
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); calls++ {
		if s := d.alloc(context.Background()); s.err == nil {
			t.Fatalf("the standby issued timestamp %d on a corrupt bound", s.ts)
		}
		if s := d.create(context.Background(), fmt.Sprintf("refused_%d", calls)); s.err == nil {
			t.Fatalf("the standby created a collection on a corrupt bound")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out, err := c.ctlErr("tso", "--timeout", "2s"); err == nil {
		t.Fatalf("ctl tso succeeded on a corrupt bound: %s", out)
	}
	if got := ptGet(t, c.cli, tsoKey); got != garbage {
		t.Fatalf("the corrupt bound was overwritten with %q before any repair", got)
	}
	t.Logf("refused %d direct calls of each kind and ctl tso; the log says: %s", calls,
		ptLine(b.p.out.String(), "activation failed"))

	// 3. Repair as the operator guide says: a millisecond time at or above
	// the last timestamp, here comfortably in the future.
	bound := time.Now().Add(time.Hour).UnixMilli()
	floor := rootcoord.ComposeTS(bound, 0)
	ptPut(t, c.cli, tsoKey, strconv.FormatInt(bound, 10))
	repairedAt := time.Now()
	ts := c.ptLastTS(1)
	recovered := time.Since(repairedAt)
	t.Logf("repaired; first timestamp %v after the repair", recovered.Round(time.Millisecond))
	if recovered > 5*time.Second {
		t.Fatalf("the standby served only %v after the repair; it retries within about a second",
			recovered)
	}
	if ts < floor || ts <= maxTS {
		t.Fatalf("timestamp %d after the repair: want at least %d (the repaired bound) and above %d",
			ts, floor, maxTS)
	}
	maxTS = ts
	if _, ok := c.collections()["kept"]; !ok {
		t.Fatalf("collection kept is gone after the repair")
	}

	// 4. A cold standby (full load at activation) over a catalog big enough
	// that the load takes a while is cut off from etcd the moment it wins:
	// once for longer than the TTL, once for less than its lease deadline.
	ptFillCatalog(t, c.cli, collPrefix, 4000)
	active := b
	for i, hold := range []time.Duration{ptTTL + time.Second, 700 * time.Millisecond} {
		next := c.ptStart(fmt.Sprintf("rootcoord-cold%d", i), true,
			"BATON_COMMON_ACTIVESTANDBY_WARMSTANDBY=false")
		c.waitState(next.addr, "STANDBY", 20*time.Second)
		hit := ptCutAtActivation(t, c, active, next, hold)
		ts = c.ptLastTS(1)
		if ts < floor || ts <= maxTS {
			t.Fatalf("timestamp %d after a cut at activation: want at least %d (the saved bound) "+
				"and above %d; a failed read was taken for a fresh cluster", ts, floor, maxTS)
		}
		maxTS = ts
		if got := len(c.collections()); got != 4001 {
			t.Fatalf("%d collections after the cut at activation, want 4001", got)
		}
		if hit == "" {
			t.Fatalf("the cut of %v did not land between winning and serving", hold)
		}
		t.Logf("cut of %v: %s; later %q", hold, hit,
			ptLine(next.p.out.String(), "rootcoord state loaded"))
		active = next
	}
}

// ptLine returns the first line of out containing s.
func ptLine(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// ptFillCatalog writes n valid collections directly in etcd.
func ptFillCatalog(t *testing.T, cli *clientv3.Client, prefix string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ops []clientv3.Op
	flush := func() {
		if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			t.Fatalf("fill catalog: %v", err)
		}
		ops = ops[:0]
	}
	for i := range n {
		name := fmt.Sprintf("bulk_%05d", i)
		val, err := protojson.Marshal(&batonv1.Collection{
			Id: int64(1_000_000 + i), Name: name, Description: strings.Repeat("d", 200),
			Fields: []*batonv1.FieldSchema{
				{Name: "id", Type: batonv1.FieldType_FIELD_TYPE_INT64, PrimaryKey: true},
				{Name: "vector", Type: batonv1.FieldType_FIELD_TYPE_FLOAT_VECTOR, Dim: 8},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, clientv3.OpPut(prefix+name, string(val)))
		if len(ops) == 100 {
			flush()
		}
	}
	if len(ops) > 0 {
		flush()
	}
}

// ptCutAtActivation kills the active and blocks next's proxy (refusing) the
// moment a watch shows next won the ACTIVE key, heals the cut after hold and
// waits until a rootcoord serves. It returns what next went through during
// the cut (the line it logged about a failure, if any), or "" if next had
// finished activating before the cut landed.
func ptCutAtActivation(t *testing.T, c *cluster, active, next *ptNode, hold time.Duration) string {
	t.Helper()
	row, _ := c.ptRow(next.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	wch := c.cli.Watch(ctx, ptRoot+"/meta/session/rootcoord", clientv3.WithFilterDelete())
	active.p.signal(syscall.SIGKILL)
	mine := `"serverID":` + strconv.FormatInt(row.ServerID, 10) + ","
	var cutAt time.Time
	for resp := range wch {
		for _, ev := range resp.Events {
			if cutAt.IsZero() && strings.Contains(string(ev.Kv.Value), mine) {
				next.proxy.Block(testproxy.Refuse)
				cutAt = time.Now()
			}
		}
		if !cutAt.IsZero() {
			break
		}
	}
	if cutAt.IsZero() {
		t.Fatalf("%s never won the ACTIVE key", next.name)
	}
	time.Sleep(hold)
	during := next.p.out.String()
	next.proxy.Restore()
	healedAt := time.Now()
	c.ptActive(20 * time.Second)
	c.ptLastTS(1)
	t.Logf("cut %s off as it won, for %v; a rootcoord served %v after the heal", next.name,
		hold, time.Since(healedAt).Round(time.Millisecond))
	if strings.Contains(during, "rootcoord state loaded") {
		return ""
	}
	for _, msg := range []string{"activation failed", "campaign failed"} {
		if l := ptLine(during, msg); l != "" {
			return l
		}
	}
	return "nothing failed: its calls to etcd waited out the cut"
}

// TestFrozenActive freezes the active with SIGSTOP. The standby must take
// over once the lease expires (not earlier: a frozen process is not dead),
// and when the old active is resumed with SIGCONT it must not answer a
// single business call sent after the freeze, although a client keeps
// calling it by address and server ID.
func TestFrozenActive(t *testing.T) {
	c := startEtcd(t)
	a := c.ptStart("rootcoord-a", false)
	rowA := c.waitState(a.addr, "ACTIVE", 20*time.Second)
	b := c.ptStart("rootcoord-b", false)
	rowB := c.waitState(b.addr, "STANDBY", 20*time.Second)

	dA, dB := ptDial(t, "old", a.addr, rowA.ServerID), ptDial(t, "new", b.addr, rowB.ServerID)
	hA, hB := ptStartHammer(t, dA, false), ptStartHammer(t, dB, false)
	cA, cB := ptStartHammer(t, dA, true), ptStartHammer(t, dB, true)
	hA.firstOK(t, 5*time.Second)
	cA.firstOK(t, 5*time.Second)
	time.Sleep(300 * time.Millisecond)

	// 1. Freeze; the standby takes over when the lease expires.
	stopAt := time.Now()
	a.p.signal(syscall.SIGSTOP)
	firstB := hB.firstOK(t, ptTTL+5*time.Second)
	took := firstB.recv.Sub(stopAt)
	t.Logf("SIGSTOP of the active -> first answer of the standby after %v (TTL %v)",
		took.Round(time.Millisecond), ptTTL)
	if took > ptTTL+2*time.Second {
		t.Fatalf("takeover took %v after the freeze; the lease bound is TTL %v (+1 s)", took, ptTTL)
	}
	if took < ptTTL/4 || strings.Contains(b.p.out.String(), "evicted a dead active") {
		t.Fatalf("the standby took over %v after the freeze, before the lease could expire: "+
			"a frozen process must not be taken for a dead one", took)
	}

	// 2. Resume the old active while it is still being called.
	time.Sleep(500 * time.Millisecond)
	contAt := time.Now()
	a.p.signal(syscall.SIGCONT)
	c.waitState(a.addr, "STANDBY", 15*time.Second)
	time.Sleep(500 * time.Millisecond)
	old, next := append(hA.stop(), cA.stop()...), append(hB.stop(), cB.stop()...)

	// 3. Nothing sent to the old active after the freeze was answered.
	var answeredAfterCont int
	for _, s := range old {
		if s.err == nil && !s.sent.Before(stopAt) {
			t.Errorf("split brain: the frozen active answered a call sent after the freeze: %v", s)
		}
		if s.err == nil && s.recv.After(contAt) {
			t.Logf("answered after SIGCONT, sent before the freeze (allowed): %v", s)
		}
		if s.sent.After(contAt) && status.Code(s.err) == codes.Unavailable {
			answeredAfterCont++
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if answeredAfterCont == 0 {
		t.Fatalf("the old active refused nothing after SIGCONT: the check did not reach it")
	}
	t.Logf("the old active refused %d calls after SIGCONT", answeredAfterCont)

	// 4. Every timestamp after the freeze is above every one before.
	ptCheckBeforeAfter(t, append(old, next...), stopAt)
	ptCheckOrder(t, append(old, next...))
	ptCheckCreates(t, c, append(old, next...))
	if !strings.Contains(a.p.out.String(), "lost the active role") {
		t.Fatalf("the old active did not log that it lost the role")
	}
}

// ptCheckBeforeAfter fails unless every timestamp of a call sent after cut
// is above every timestamp of a call answered before cut.
func ptCheckBeforeAfter(t *testing.T, samples []ptSample, cut time.Time) {
	t.Helper()
	var maxBefore, minAfter ptSample
	var nb, na int
	for _, s := range ptOK(samples) {
		if s.recv.Before(cut) || s.sent.Before(cut) {
			if nb++; s.ts > maxBefore.ts {
				maxBefore = s
			}
		} else if na++; na == 1 || s.ts < minAfter.ts {
			minAfter = s
		}
	}
	if nb == 0 || na == 0 {
		t.Fatalf("%d successful calls before the cut and %d after: nothing to compare", nb, na)
	}
	if minAfter.ts <= maxBefore.ts {
		t.Fatalf("timestamp after the cut %v is not above one before it %v", minAfter, maxBefore)
	}
	t.Logf("%d timestamps before the cut, %d after; lowest after - highest before = %d",
		nb, na, minAfter.ts-maxBefore.ts)
}

// ptCheckCreates fails if an acknowledged create is missing from the
// catalog.
func ptCheckCreates(t *testing.T, c *cluster, samples []ptSample) {
	t.Helper()
	have := c.collections()
	var n int
	for _, s := range ptOK(samples) {
		if !s.create {
			continue
		}
		n++
		if _, ok := have[s.name]; !ok {
			t.Fatalf("acknowledged create is missing from the catalog: %v", s)
		}
	}
	if n == 0 {
		t.Fatalf("no create was acknowledged; the check is empty")
	}
}

// TestNoSplitBrain partitions the active from etcd (its proxy blackholes)
// while clients call both coordinators directly. The old active must stop
// answering before its lease can expire at etcd, the standby must take over
// after the TTL, no answer of the old active may come after the first
// answer of the new one, and timestamps must only grow. When the partition
// heals, the old active is a STANDBY.
func TestNoSplitBrain(t *testing.T) {
	c := startEtcd(t)
	a := c.ptStart("rootcoord-a", true)
	rowA := c.waitState(a.addr, "ACTIVE", 20*time.Second)
	b := c.ptStart("rootcoord-b", false)
	rowB := c.waitState(b.addr, "STANDBY", 20*time.Second)
	leaseRowA, _ := c.ptRow(a.addr)
	lease, err := strconv.ParseInt(leaseRowA.LeaseID, 16, 64)
	if err != nil {
		t.Fatalf("lease %q of the active: %v", leaseRowA.LeaseID, err)
	}

	dA, dB := ptDial(t, "old", a.addr, rowA.ServerID), ptDial(t, "new", b.addr, rowB.ServerID)
	hA, hB := ptStartHammer(t, dA, false), ptStartHammer(t, dB, false)
	cA, cB := ptStartHammer(t, dA, true), ptStartHammer(t, dB, true)
	hA.firstOK(t, 5*time.Second)
	cA.firstOK(t, 5*time.Second)
	time.Sleep(300 * time.Millisecond)

	// 1. Partition the active and watch its lease at etcd.
	a.proxy.Block(testproxy.Blackhole)
	cutAt := time.Now()
	expiry := ptLeaseExpiry(t, c.cli, clientv3.LeaseID(lease), ptTTL+3*time.Second)
	firstB := hB.firstOK(t, ptTTL+5*time.Second)
	t.Logf("cut -> lease expiry at etcd no earlier than %v; first answer of the standby after %v",
		expiry.Sub(cutAt).Round(time.Millisecond), firstB.recv.Sub(cutAt).Round(time.Millisecond))
	time.Sleep(500 * time.Millisecond)

	// 2. Heal: the old active comes back as a STANDBY on a new lease.
	a.proxy.Restore()
	c.ptWaitRow(a.addr, "is STANDBY on a new lease", 20*time.Second,
		func(r statusRow) bool { return r.State == "STANDBY" && r.LeaseID != leaseRowA.LeaseID })
	time.Sleep(300 * time.Millisecond)
	old, next := append(hA.stop(), cA.stop()...), append(hB.stop(), cB.stop()...)

	// 3. The old active stopped before its lease could expire, and before
	// the new one answered anything.
	var lastA ptSample
	for _, s := range ptOK(old) {
		if s.recv.After(lastA.recv) {
			lastA = s
		}
	}
	if lastA.recv.IsZero() {
		t.Fatalf("the old active answered nothing")
	}
	t.Logf("old active: last answer %v after the cut, %v before its lease could expire, "+
		"%v before the new active's first call was sent",
		lastA.recv.Sub(cutAt).Round(time.Millisecond), expiry.Sub(lastA.recv).Round(time.Millisecond),
		firstB.sent.Sub(lastA.recv).Round(time.Millisecond))
	if !lastA.recv.Before(expiry) {
		t.Fatalf("the old active answered %v after its lease could have expired at etcd: %v",
			lastA.recv.Sub(expiry), lastA)
	}
	if !lastA.recv.Before(firstB.sent) {
		t.Fatalf("split brain: the old active answered %v while the new one answered %v", lastA, firstB)
	}
	ptCheckBeforeAfter(t, append(old, next...), cutAt)
	ptCheckOrder(t, append(old, next...))
	ptCheckCreates(t, c, append(old, next...))
}

// ptLeaseExpiry watches lease, which nobody renews any more, and returns
// the earliest time etcd could expire it: etcd reports the remaining TTL in
// whole seconds, rounded down, so the last time it said at least one second
// was left is one second before the earliest expiry.
func ptLeaseExpiry(t *testing.T, cli *clientv3.Client, lease clientv3.LeaseID,
	timeout time.Duration) time.Time {
	t.Helper()
	var lastOne time.Time
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		sent := time.Now()
		resp, err := cli.TimeToLive(ctx, lease)
		cancel()
		switch {
		case err != nil:
			t.Fatalf("time to live of lease %x: %v", int64(lease), err)
		case resp.TTL >= 1:
			lastOne = sent
		case resp.TTL == -1:
			if lastOne.IsZero() {
				t.Fatalf("lease %x was gone at the first look", int64(lease))
			}
			return lastOne.Add(time.Second)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("lease %x did not expire within %v", int64(lease), timeout)
	return time.Time{}
}

// TestCampaignAnswerLost leaves etcd as a standby's campaign leaves it when
// the transaction commits but its answer never arrives (a connection reset,
// or etcd cut off right after the commit): the ACTIVE key holds the
// standby's own session on its own lease. The standby must not wait as a
// standby for itself; some rootcoord must serve.
func TestCampaignAnswerLost(t *testing.T) {
	c := startEtcd(t)
	a := c.ptStart("rootcoord-a", false)
	c.waitState(a.addr, "ACTIVE", 20*time.Second)
	b := c.ptStart("rootcoord-b", false)
	rowB := c.waitState(b.addr, "STANDBY", 20*time.Second)
	maxTS := c.ptLastTS(10)

	// 1. With the standby frozen, the active dies, its key is removed (as
	// an eviction does) and the standby's campaign "commits".
	activeKey := ptRoot + "/meta/session/rootcoord"
	sessKey := fmt.Sprintf("%s/meta/session/rootcoord-%d", ptRoot, rowB.ServerID)
	b.p.signal(syscall.SIGSTOP)
	frozenAt := time.Now()
	a.p.signal(syscall.SIGKILL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sess, err := c.cli.Get(ctx, sessKey)
	if err != nil || len(sess.Kvs) != 1 {
		t.Fatalf("read %s: %v %v", sessKey, err, sess)
	}
	kv := sess.Kvs[0]
	if _, err := c.cli.Delete(ctx, activeKey); err != nil {
		t.Fatal(err)
	}
	put, err := c.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(activeKey), "=", 0)).
		Then(clientv3.OpPut(activeKey, string(kv.Value), clientv3.WithLease(clientv3.LeaseID(kv.Lease)))).
		Commit()
	if err != nil || !put.Succeeded {
		t.Fatalf("campaign on behalf of the standby: %v %v", err, put)
	}
	b.p.signal(syscall.SIGCONT)
	if d := time.Since(frozenAt); d > time.Second {
		t.Fatalf("the standby was frozen %v; its lease may have lapsed, which hides the case", d)
	}

	// 2. Someone must serve, above everything issued before.
	out, err := c.ctlErr("tso", "-o", "json", "--timeout", (3 * ptTTL).String())
	if err != nil {
		logged := b.p.out.String()
		t.Fatalf("no rootcoord served within %v after the standby's campaign answer was lost: "+
			"%v %s\nthe standby says: %s", 3*ptTTL, err, out,
			ptLine(logged[len(logged)/2:], "is in STANDBY"))
	}
	var ts tsoOut
	if err := json.Unmarshal([]byte(out), &ts); err != nil || ts.Timestamp <= maxTS {
		t.Fatalf("ctl tso printed %q (%v); want a timestamp above %d", out, err, maxTS)
	}
}
