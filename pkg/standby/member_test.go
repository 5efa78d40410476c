package standby_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/batonhq/baton/internal/etcdtest"
	"github.com/batonhq/baton/internal/leakcheck"
	"github.com/batonhq/baton/internal/testproxy"
	"github.com/batonhq/baton/pkg/election"
	"github.com/batonhq/baton/pkg/session"
	"github.com/batonhq/baton/pkg/standby"
)

const (
	root = "test-root"
	role = "rootcoord"
	ttl  = 2 * time.Second
)

func TestStateString(t *testing.T) {
	tests := []struct {
		st   standby.State
		want string
	}{
		{standby.Starting, "STARTING"},
		{standby.Standby, "STANDBY"},
		{standby.Activating, "ACTIVATING"},
		{standby.Active, "ACTIVE"},
		{standby.Stopping, "STOPPING"},
		{standby.State(42), "State(42)"},
	}
	for _, tt := range tests {
		if got := tt.st.String(); got != tt.want {
			t.Errorf("State(%d).String() = %q, want %q", int(tt.st), got, tt.want)
		}
	}
}

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

// logBuffer is a log destination that is safe to read while written.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the log lines whose message is msg.
func (b *logBuffer) lines(msg string) []string {
	var out []string
	for line := range strings.Lines(b.String()) {
		if strings.Contains(line, fmt.Sprintf("msg=%q", msg)) {
			out = append(out, line)
		}
	}
	return out
}

// handler records what a member asks of it.
type handler struct {
	cli *clientv3.Client // direct client, to look at etcd from outside
	key string

	activateErr error

	mu          sync.Mutex
	activations int
	activeAt    time.Time
	deactivated []error
	inactiveAt  time.Time
	keyHeld     bool // the ACTIVE key still had our epoch when Deactivate ran
	epoch       int64
}

func (h *handler) Activate(_ context.Context, term *election.Term) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.activations++
	if h.activateErr != nil {
		return h.activateErr
	}
	h.epoch, h.activeAt = term.Epoch(), time.Now()
	return nil
}

func (h *handler) Deactivate(reason error) {
	// Look at etcd before anything else, as a real handler would drain.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cur, ok, err := election.ReadHolder(ctx, h.cli, h.key)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.deactivated = append(h.deactivated, reason)
	h.inactiveAt = time.Now()
	h.keyHeld = err == nil && ok && cur.Epoch == h.epoch
}

func (h *handler) snapshot() (activations int, deactivated []error, keyHeld bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.activations, append([]error(nil), h.deactivated...), h.keyHeld
}

func (h *handler) times() (activeAt, inactiveAt time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.activeAt, h.inactiveAt
}

// member is a running standby.Member and what it needs.
type member struct {
	*standby.Member
	s       *session.Session
	h       *handler
	log     *logBuffer
	addr    string
	cancel  context.CancelFunc
	done    chan error
	mu      sync.Mutex
	history []standby.State
}

// newMember registers a session through cli and prepares a member. The
// direct client is used by the handler to look at etcd.
func newMember(
	t *testing.T,
	cli, direct *clientv3.Client,
	addr string,
	opts ...standby.Option,
) *member {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := session.New(ctx, cli, root, role, addr, session.WithTTL(ttl))
	if err != nil {
		t.Fatalf("session.New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	m := &member{
		s:    s,
		h:    &handler{cli: direct, key: s.Keys().Active(role)},
		log:  &logBuffer{},
		addr: addr,
	}
	logger := slog.New(slog.NewTextHandler(m.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts = append([]standby.Option{
		standby.WithLogger(logger),
		standby.WithLogInterval(100 * time.Millisecond),
		standby.WithStateHook(m.record),
	}, opts...)
	m.Member = standby.New(s, m.h, opts...)
	return m
}

func (m *member) record(st standby.State) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.history = append(m.history, st)
}

func (m *member) states() []standby.State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]standby.State(nil), m.history...)
}

// start runs the member until stop or the end of the test.
func (m *member) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel, m.done = cancel, make(chan error, 1)
	go func() { m.done <- m.Run(ctx) }()
	t.Cleanup(func() { m.stop(t) })
}

// stop cancels Run and returns its result.
func (m *member) stop(t *testing.T) error {
	t.Helper()
	m.cancel()
	select {
	case err, ok := <-m.done:
		if ok {
			close(m.done)
		}
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("member %s: Run did not return within 10s of cancel", m.addr)
		return nil
	}
}

func (m *member) is(st standby.State) func() bool {
	return func() bool { got, _ := m.State(); return got == st }
}

func TestActiveStandbyFailover(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	a := newMember(t, c.NewClient(t), c.Client, "10.0.0.1:19530")
	b := newMember(t, c.NewClient(t), c.Client, "10.0.0.2:19530")

	// 1. The first member becomes ACTIVE, the second STANDBY.
	a.start(t)
	eventually(t, 10*time.Second, "a ACTIVE", a.is(standby.Active))
	b.start(t)
	eventually(t, 10*time.Second, "b STANDBY", b.is(standby.Standby))
	if !a.Serving() || a.Term() == nil || b.Serving() || b.Term() != nil {
		t.Fatalf("serving: a %v (term %v), b %v (term %v)", a.Serving(), a.Term(), b.Serving(), b.Term())
	}
	if h, ok := b.Holder(); !ok || h.Info.ServerID != a.s.ServerID() || h.Info.Address != a.addr {
		t.Fatalf("b sees holder %+v (%v), want server %d at %s", h, ok, a.s.ServerID(), a.addr)
	}
	if got := a.log.lines("became ACTIVE"); len(got) != 1 || !strings.Contains(got[0], "took=") {
		t.Fatalf("a's log lacks one 'became ACTIVE' with took:\n%s", a.log)
	}

	// 2. The standby keeps saying whom it waits behind.
	standbyMsg := role + " is in STANDBY"
	eventually(t, 10*time.Second, "three STANDBY log lines", func() bool {
		return len(b.log.lines(standbyMsg)) >= 3
	})
	for _, line := range b.log.lines(standbyMsg) {
		if !strings.Contains(line, fmt.Sprintf("activeServerID=%d", a.s.ServerID())) ||
			!strings.Contains(line, "activeAddress="+a.addr) {
			t.Fatalf("STANDBY line does not name the active (server %d at %s): %s",
				a.s.ServerID(), a.addr, line)
		}
	}

	// 3. Stopping the active: it deactivates while still holding the key,
	// resigns, and the standby takes over at once.
	stopAt := time.Now()
	if err := a.stop(t); err != nil {
		t.Fatalf("a's Run = %v, want nil", err)
	}
	_, deactivated, keyHeld := a.h.snapshot()
	if len(deactivated) != 1 || !errors.Is(deactivated[0], election.ErrResigned) || !keyHeld {
		t.Fatalf("a deactivated %v, with the key held %v; want once, ErrResigned, before resigning",
			deactivated, keyHeld)
	}
	eventually(t, 5*time.Second, "b ACTIVE", b.is(standby.Active))
	if took := time.Since(stopAt); took > time.Second {
		// Fail only on a gross delay: the bound the brief sets is 1 s.
		t.Errorf("b became ACTIVE %v after a was stopped, want < 1s", took)
	}
	switched := b.log.lines("switched from STANDBY to ACTIVE")
	if len(switched) != 1 || !regexp.MustCompile(`took=\d`).MatchString(switched[0]) {
		t.Fatalf("b's log lacks one 'switched from STANDBY to ACTIVE' with took:\n%s", b.log)
	}
	want := []standby.State{standby.Standby, standby.Activating, standby.Active}
	if got := b.states(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("b went through %v, want %v", got, want)
	}

	// 4. a's session is gone; b stops cleanly too.
	if _, ok, _ := election.ReadHolder(context.Background(), c.Client, a.s.Keys().Session(role, a.s.ServerID())); ok {
		t.Fatal("a's session key survived Run")
	}
	if err := b.stop(t); err != nil {
		t.Fatalf("b's Run = %v", err)
	}
	if got := b.states(); got[len(got)-1] != standby.Stopping {
		t.Fatalf("b ended in %v, want STOPPING", got[len(got)-1])
	}
}

func TestWithoutStandbyRefusesToWait(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	a := newMember(t, c.Client, c.Client, "10.0.0.1:1")
	a.start(t)
	eventually(t, 10*time.Second, "a ACTIVE", a.is(standby.Active))

	b := newMember(t, c.Client, c.Client, "10.0.0.2:2", standby.WithStandby(false))
	start := time.Now()
	err := b.Run(context.Background())
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Run took %v to refuse", took)
	}
	var exists *standby.ActiveExistsError
	if !errors.As(err, &exists) {
		t.Fatalf("Run = %v, want *ActiveExistsError", err)
	}
	if exists.Role != role || exists.Holder.Info.ServerID != a.s.ServerID() ||
		exists.Holder.Info.Address != a.addr {
		t.Fatalf("error names %s server %d at %s; want %s server %d at %s", exists.Role,
			exists.Holder.Info.ServerID, exists.Holder.Info.Address, role, a.s.ServerID(), a.addr)
	}
	msg := err.Error()
	if !strings.Contains(msg, fmt.Sprint(a.s.ServerID())) || !strings.Contains(msg, a.addr) {
		t.Fatalf("message %q does not name the active", msg)
	}
	if n, _, _ := b.h.snapshot(); n != 0 {
		t.Fatalf("b activated %d times", n)
	}
	if !a.Serving() {
		t.Fatal("the active stopped serving because another member refused")
	}
}

func TestPartitionedStandbyRejoinsAndTakesOver(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	p := testproxy.New(t, c.Endpoint)
	a := newMember(t, c.NewClient(t), c.Client, "10.0.0.1:1")
	// A zero log interval is ignored rather than crashing the standby.
	b := newMember(t, etcdtest.NewClient(t, p.Addr()), c.Client, "10.0.0.2:2",
		standby.WithLogInterval(0))
	a.start(t)
	eventually(t, 10*time.Second, "a ACTIVE", a.is(standby.Active))
	b.start(t)
	eventually(t, 10*time.Second, "b STANDBY", b.is(standby.Standby))
	oldLease, lost := b.s.Lease()
	bKey := b.s.Keys().Session(role, b.s.ServerID())

	// 1. Cut b off until etcd has expired its lease.
	p.Block(testproxy.Blackhole)
	select {
	case <-lost:
	case <-time.After(3 * ttl):
		t.Fatal("b did not notice its lease loss")
	}
	eventually(t, 3*ttl, "etcd to expire b's session", func() bool {
		resp, err := c.Client.TimeToLive(context.Background(), oldLease)
		return err == nil && resp.TTL == -1
	})

	// 2. Heal: b registers a new lease under the same server ID.
	p.Restore()
	eventually(t, 15*time.Second, "b to re-register", func() bool {
		lease, _ := b.s.Lease()
		resp, err := c.Client.Get(context.Background(), bKey)
		return lease != oldLease && b.s.Alive() && err == nil && len(resp.Kvs) == 1 &&
			resp.Kvs[0].Lease == int64(lease)
	})
	eventually(t, 10*time.Second, "b STANDBY again", b.is(standby.Standby))
	if !a.Serving() {
		t.Fatal("a stopped serving while b was cut off")
	}
	if n, _, _ := b.h.snapshot(); n != 0 {
		t.Fatalf("b activated %d times while a was active", n)
	}

	// 3. It still takes over when the active stops.
	if err := a.stop(t); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "b ACTIVE", b.is(standby.Active))
	if h, _, err := election.ReadHolder(context.Background(), c.Client, b.s.Keys().Active(role)); err != nil ||
		h.Info.ServerID != b.s.ServerID() {
		t.Fatalf("ACTIVE key holds %+v, %v; want b", h, err)
	}
}

func TestPartitionedActiveStepsDownBeforeReplaced(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	p := testproxy.New(t, c.Endpoint)
	a := newMember(t, etcdtest.NewClient(t, p.Addr()), c.Client, "10.0.0.1:1")
	b := newMember(t, c.NewClient(t), c.Client, "10.0.0.2:2")
	a.start(t)
	eventually(t, 10*time.Second, "a ACTIVE", a.is(standby.Active))
	b.start(t)
	eventually(t, 10*time.Second, "b STANDBY", b.is(standby.Standby))

	// 1. Cut the active off: it must stop serving before b starts.
	p.Block(testproxy.Blackhole)
	eventually(t, 4*ttl, "b ACTIVE", b.is(standby.Active))
	_, deactivated, _ := a.h.snapshot()
	if len(deactivated) != 1 || !errors.Is(deactivated[0], election.ErrLeaseLost) {
		t.Fatalf("a deactivated with %v, want ErrLeaseLost once", deactivated)
	}
	_, aStopped := a.h.times()
	bStarted, _ := b.h.times()
	if !aStopped.Before(bStarted) {
		t.Fatalf("two actives: a stopped serving at %v, b started at %v", aStopped, bStarted)
	}
	t.Logf("a stopped serving %v before b started", bStarted.Sub(aStopped))

	// 2. Healed, a never exits: it re-registers and waits as a STANDBY.
	p.Restore()
	eventually(t, 15*time.Second, "a STANDBY behind b", func() bool {
		h, ok := a.Holder()
		st, _ := a.State()
		return st == standby.Standby && ok && h.Info.ServerID == b.s.ServerID() && a.s.Alive()
	})
}

func TestFailedActivationResigns(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	a := newMember(t, c.NewClient(t), c.Client, "10.0.0.1:1")
	a.h.activateErr = errors.New("cannot load state")

	// 1. a alone keeps winning and failing, backing off more each time.
	a.start(t)
	start := time.Now()
	eventually(t, 20*time.Second, "a's sixth activation", func() bool {
		n, _, _ := a.h.snapshot()
		return n >= 6
	})
	// Five backoffs of at least 25, 50, 100, 200 and 400 ms.
	if took := time.Since(start); took < 700*time.Millisecond {
		t.Fatalf("six failed activations in %v: the retry does not back off", took)
	}
	if len(a.log.lines("activation failed, resigning")) < 6 {
		t.Fatalf("a's log lacks the failed activations:\n%s", a.log)
	}

	// 2. Another member can win.
	b := newMember(t, c.NewClient(t), c.Client, "10.0.0.2:2")
	b.start(t)
	eventually(t, 10*time.Second, "b ACTIVE", b.is(standby.Active))
	if _, deactivated, _ := a.h.snapshot(); len(deactivated) != 0 {
		t.Fatalf("a was deactivated %v without a successful activation", deactivated)
	}
	eventually(t, 5*time.Second, "a STANDBY", a.is(standby.Standby))
}
