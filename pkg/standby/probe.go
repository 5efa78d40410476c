package standby

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"

	"github.com/batonhq/baton/pkg/election"
)

// Probe reports whether the process behind h is certainly gone. It must
// answer false whenever it cannot be sure: a host that does not answer may
// be partitioned rather than dead, and only the lease can tell.
type Probe func(ctx context.Context, h election.Holder) bool

// Fast detection timing: a standby probes every probeEvery, and evicts the
// active after probeConfirm dead answers in a row.
const (
	probeEvery   = 50 * time.Millisecond
	probeConfirm = 3
	// predecessorYield is how long a member restarted at its predecessor's
	// address holds back, both from evicting that predecessor and from
	// campaigning when it is gone, so that older standbys win.
	predecessorYield = 500 * time.Millisecond
)

// RefusedProbe is a Probe that calls a holder dead when a TCP connection to
// its advertised address is refused: the host is up and answers, but
// nothing listens on the port.
func RefusedProbe(ctx context.Context, h election.Holder) bool {
	d := net.Dialer{Timeout: 200 * time.Millisecond}
	conn, err := d.DialContext(ctx, "tcp", h.Info.Address)
	if err == nil {
		_ = conn.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// watchForDeath probes the current holder until ctx ends, and evicts it
// once probeConfirm probes in a row found it dead.
func (m *Member) watchForDeath(ctx context.Context) {
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	var dead int
	var epoch int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h, ok := m.Holder()
		if !ok || h.Info.ServerID == m.s.ServerID() {
			continue
		}
		if h.Epoch != epoch {
			epoch, dead = h.Epoch, 0
		}
		if !m.probe(ctx, h) {
			dead = 0
			continue
		}
		need := probeConfirm
		if m.predecessor(h) {
			need += int(predecessorYield / probeEvery)
		}
		if dead++; dead < need {
			continue
		}
		m.evict(ctx, h)
		dead = 0
	}
}

func (m *Member) evict(ctx context.Context, h election.Holder) {
	// The eviction must finish even though the deletion it makes ends the
	// standby wait that owns ctx.
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	ok, err := m.cand.Evict(ectx, h)
	switch {
	case err != nil:
		m.log.Warn("evicting the dead active failed", "activeServerID", int64(h.Info.ServerID),
			"err", err)
	case ok:
		if m.onEvict != nil {
			m.onEvict()
		}
		m.log.Info("evicted a dead active", "activeServerID", int64(h.Info.ServerID),
			"activeAddress", h.Info.Address, "activeEpoch", h.Epoch)
	}
}
