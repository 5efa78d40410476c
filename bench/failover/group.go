package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/batonhq/baton/bench/internal/refcoord"
)

// Log messages of baton coordinators, as they appear in a text log line.
var (
	msgBecameActive = logMsg("became ACTIVE")
	msgSwitched     = logMsg("switched from STANDBY to ACTIVE")
	msgStandby      = logMsg("rootcoord is in STANDBY")
	msgFollowerLoad = logMsg("rootcoord state loaded from etcd") // debug level
	msgStateLoaded  = logMsg("rootcoord state loaded")
)

// logMsg returns how slog's text handler writes msg.
func logMsg(msg string) string { return `msg="` + msg + `"` }

// flavor is one system under test: how to start a member and how to read
// its state from its log.
type flavor struct {
	system string        // row label: baton, milvus-like, etcd-election
	ttl    time.Duration // session lease TTL
	// start starts one member listening on addr.
	start func(h *harness, name, addr string) (*proc, error)
	// active is logged when a member starts serving, at start-up or
	// after a takeover; switched only after a takeover.
	active   []string
	switched string
	// standby lists lines that all appear once a standby is ready.
	standby []string
	// took reports whether switched carries took=.
	took bool
	// ready, if set, checks more than log lines before a standby counts
	// as ready.
	ready func(ctx context.Context, h *harness, p *proc) error
}

// batonOptions are the settings of a baton flavor.
type batonOptions struct {
	system   string
	rootPath string
	ttl      time.Duration // 0: the default (10 s)
	fast     bool          // common.activeStandby.fastDetection
	warm     bool          // common.activeStandby.warmStandby
}

// batonFlavor runs `baton run rootcoord` with active-standby enabled.
func batonFlavor(o batonOptions) flavor {
	env := []string{
		"ROOT_COORD_ENABLE_ACTIVE_STANDBY=true",
		"BATON_ETCD_ROOTPATH=" + o.rootPath,
		"BATON_LOG_LEVEL=debug", // the warm follower reports its load at debug
		"BATON_COMMON_ACTIVESTANDBY_FASTDETECTION=" + strconv.FormatBool(o.fast),
		"BATON_COMMON_ACTIVESTANDBY_WARMSTANDBY=" + strconv.FormatBool(o.warm),
	}
	ttl := 10 * time.Second
	if o.ttl > 0 {
		ttl = o.ttl
		env = append(env, "BATON_COMMON_SESSION_TTL="+ttl.String())
	}
	fl := flavor{
		system:   o.system,
		ttl:      ttl,
		active:   []string{msgBecameActive, msgSwitched},
		switched: msgSwitched,
		standby:  []string{msgStandby},
		took:     true,
	}
	if o.warm {
		fl.standby = append(fl.standby, msgFollowerLoad)
	}
	fl.start = func(h *harness, name, addr string) (*proc, error) {
		port := addr[strings.LastIndexByte(addr, ':')+1:]
		return h.start(name, addr, h.baton, append([]string{"ETCD_ENDPOINTS=" + h.endpoint}, env...),
			"run", "rootcoord", "--port", port)
	}
	return fl
}

// refFlavor runs the reference coordinator on etcd's concurrency package.
func refFlavor(prefix string, ttl time.Duration) flavor {
	return flavor{
		system:   "etcd-election",
		ttl:      ttl,
		active:   []string{logMsg(refcoord.MsgLeading)},
		switched: logMsg(refcoord.MsgLeading),
		standby:  []string{logMsg(refcoord.MsgStandby)},
		start: func(h *harness, name, addr string) (*proc, error) {
			return h.start(name, addr, h.ref, nil, "--etcd", h.endpoint, "--address", addr,
				"--prefix", prefix, "--ttl", strconv.Itoa(int(ttl.Seconds())))
		},
		ready: func(ctx context.Context, h *harness, p *proc) error {
			return awaitCandidate(ctx, h, p, prefix)
		},
	}
}

var leaseRE = regexp.MustCompile(`\blease=(\d+)`)

// awaitCandidate waits until a reference standby's election key exists:
// it logs that it waits before Election.Campaign writes the key.
func awaitCandidate(ctx context.Context, h *harness, p *proc, prefix string) error {
	l, _, _ := p.find(logMsg(refcoord.MsgStandby), 0)
	m := leaseRE.FindStringSubmatch(l.text)
	if m == nil {
		return fmt.Errorf("%s: no lease= in %q", p.name, l.text)
	}
	lease, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return fmt.Errorf("%s: lease= in %q: %w", p.name, l.text, err)
	}
	key := fmt.Sprintf("%s/%x", prefix, lease)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := h.cli.Get(ctx, key, clientv3.WithCountOnly())
		switch {
		case err == nil && resp.Count == 1:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case time.Now().After(deadline):
			return fmt.Errorf("%s: election key %s not written within 30s (last error %v)",
				p.name, key, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// standbySettle is how long a new standby is left alone once ready.
const standbySettle = 250 * time.Millisecond

// group is an active and a standby of one flavor.
type group struct {
	h       *harness
	fl      flavor
	active  *proc
	standby *proc
}

// Waits of a group, generous for a loaded machine.
func (g *group) activeWait() time.Duration  { return 3*g.fl.ttl + 30*time.Second }
func (g *group) standbyWait() time.Duration { return 90 * time.Second }

// takeoverWait bounds a takeover: the lease runs out within the TTL, and
// etcd checks for expired leases every 500 ms.
func (g *group) takeoverWait() time.Duration { return 2*g.fl.ttl + 10*time.Second }

// newGroup starts a member, waits until it serves, then starts a standby.
// A member left over from an earlier group of the same name may hold the
// role until its lease ends, hence the long first wait.
func newGroup(ctx context.Context, h *harness, fl flavor) (*group, error) {
	g := &group{h: h, fl: fl}
	a, err := g.startMember()
	if err != nil {
		return nil, err
	}
	g.active = a
	if _, err := g.waitAny(ctx, a, fl.active, 0, g.activeWait()); err != nil {
		g.close()
		return nil, err
	}
	if g.standby, err = g.startStandby(ctx); err != nil {
		g.close()
		return nil, err
	}
	return g, nil
}

func (g *group) startMember() (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return g.fl.start(g.h, g.h.nextName(g.fl.system), addr)
}

// startStandby starts a member and waits until it is a ready standby.
func (g *group) startStandby(ctx context.Context) (*proc, error) {
	p, err := g.startMember()
	if err != nil {
		return nil, err
	}
	for _, msg := range g.fl.standby {
		if _, err := p.waitLine(ctx, msg, 0, g.standbyWait()); err != nil {
			p.kill()
			return nil, fmt.Errorf("%w\n%s", err, p.tail(20))
		}
	}
	if g.fl.ready != nil {
		if err := g.fl.ready(ctx, g.h, p); err != nil {
			p.kill()
			return nil, err
		}
	}
	// Let its watches settle, as they would have on a standby that has
	// been up for a while.
	select {
	case <-time.After(standbySettle):
		return p, nil
	case <-ctx.Done():
		p.kill()
		return nil, ctx.Err()
	}
}

// waitAny waits for a line of p containing one of msgs.
func (g *group) waitAny(
	ctx context.Context,
	p *proc,
	msgs []string,
	from int,
	timeout time.Duration,
) (logLine, error) {
	deadline := time.Now().Add(timeout)
	for {
		for _, m := range msgs {
			if l, ok, _ := p.find(m, from); ok {
				return l, nil
			}
		}
		if p.exited() {
			return logLine{}, fmt.Errorf("%s exited before serving\n%s", p.name, p.tail(20))
		}
		if time.Now().After(deadline) {
			return logLine{}, fmt.Errorf("%s not serving within %v\n%s", p.name, timeout, p.tail(20))
		}
		select {
		case <-ctx.Done():
			return logLine{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// promoted records that the standby took over from the active, which is
// gone, and starts a new standby.
func (g *group) promoted(ctx context.Context) error {
	g.active, g.standby = g.standby, nil
	p, err := g.startStandby(ctx)
	if err != nil {
		return err
	}
	g.standby = p
	return nil
}

// reset kills both members and starts a fresh pair, after a failed trial.
func (g *group) reset(ctx context.Context) error {
	g.kill()
	ng, err := newGroup(ctx, g.h, g.fl)
	if err != nil {
		return err
	}
	*g = *ng
	return nil
}

func (g *group) kill() {
	for _, p := range []*proc{g.standby, g.active} {
		if p != nil {
			p.kill()
		}
	}
	g.active, g.standby = nil, nil
}

// close stops the standby, then the active, so the role is handed to
// nobody.
func (g *group) close() {
	for _, p := range []*proc{g.standby, g.active} {
		if p != nil {
			p.stop(15 * time.Second)
		}
	}
	g.active, g.standby = nil, nil
}
