package standby

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/batonhq/baton/pkg/election"
)

// serve runs one term: activate, serve until the term ends or ctx is
// cancelled, then deactivate (and resign when stopping). It reports whether
// the activation succeeded.
func (m *Member) serve(ctx context.Context, term *election.Term, vacantAt time.Time) bool {
	prev, _ := m.State()
	m.mu.Lock()
	m.mu.term = term
	m.mu.holder = election.Holder{Info: m.s.Info(), Epoch: term.Epoch()}
	m.mu.known = true
	m.mu.Unlock()
	m.setState(Activating)
	defer func() {
		m.mu.Lock()
		m.mu.term = nil
		m.mu.Unlock()
	}()

	// 1. Activation runs under a context that ends with the term.
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-term.Done():
			cancel()
		case <-actx.Done():
		}
	}()
	err := m.h.Activate(actx, term)
	m.mu.Lock()
	m.mu.activateErr = err
	m.mu.Unlock()
	if err != nil {
		m.log.Error("activation failed, resigning", "epoch", term.Epoch(), "err", err)
		m.resign(term)
		m.setState(Standby)
		return false
	}

	// 2. Serving.
	m.setState(Active)
	m.announce(prev, term, vacantAt)
	select {
	case <-term.Done():
	case <-ctx.Done():
	}

	// 3. Stop serving before anything else, then give the role up.
	reason := term.Err()
	if ctx.Err() != nil {
		m.setState(Stopping)
		reason = election.ErrResigned
	}
	m.h.Deactivate(reason)
	if ctx.Err() != nil {
		m.resign(term)
		m.log.Info("resigned", "epoch", term.Epoch())
		return true
	}
	term.End(reason)
	m.setState(Standby)
	m.log.Warn("lost the active role", "epoch", term.Epoch(), "reason", reason)
	return true
}

func (m *Member) announce(prev State, term *election.Term, vacantAt time.Time) {
	took := time.Since(vacantAt)
	if prev == Standby {
		m.log.Info("switched from STANDBY to ACTIVE", "epoch", term.Epoch(), "took", took)
		return
	}
	m.log.Info("became ACTIVE",
		"epoch", term.Epoch(), "took", took)
}

func (m *Member) resign(term *election.Term) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := term.Resign(ctx); err != nil {
		m.log.Warn("resign failed; the lease will release the role", "err", err)
	}
}

// waitStandby waits as a STANDBY until the role is vacant (nil), the
// session lease is lost (nil: the caller renews it) or ctx is done.
func (m *Member) waitStandby(ctx context.Context, h election.Holder) error {
	m.setState(Standby)
	m.logStandby(h)
	_, lost := m.s.Lease()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	vacant := make(chan error, 1)
	changed := make(chan election.Holder, 1)
	go func() {
		vacant <- m.cand.WaitVacant(wctx, h, func(nh election.Holder) {
			select {
			case changed <- nh:
			case <-wctx.Done():
			}
		})
	}()
	if m.probe != nil {
		probeDone := make(chan struct{})
		defer func() {
			cancel()
			<-probeDone
		}()
		go func() {
			defer close(probeDone)
			m.watchForDeath(wctx)
		}()
	}
	tick := time.NewTicker(m.every)
	defer tick.Stop()
	for {
		select {
		case err := <-vacant:
			if err == nil && m.predecessor(h) {
				m.yield(ctx)
			}
			return err
		case <-lost:
			cancel()
			<-vacant
			return ctx.Err()
		case nh := <-changed:
			h = nh
			m.setHolder(h, true)
			m.logStandby(h)
		case <-tick.C:
			m.logStandby(h)
		}
	}
}

// predecessor reports whether h is an earlier process at this member's own
// address: a coordinator restarted in place finds its previous incarnation
// still named in the ACTIVE key.
func (m *Member) predecessor(h election.Holder) bool {
	return h.Info.ServerID != m.s.ServerID() && h.Info.Address == m.s.Info().Address
}

// yield gives the standbys that were waiting before this member restarted a
// head start on the vacancy its predecessor left, so a restart in place
// comes back as STANDBY rather than winning the race against them. With no
// other standby, it only delays the takeover by predecessorYield. It ends
// early, with the holder recorded, as soon as another member takes the role.
func (m *Member) yield(ctx context.Context) {
	m.setHolder(election.Holder{}, false)
	yctx, cancel := context.WithTimeout(ctx, predecessorYield)
	defer cancel()
	h, ok, err := election.ReadHolder(yctx, m.s.Client(), m.cand.Key())
	if err != nil {
		<-yctx.Done()
		return
	}
	if ok {
		m.setHolder(h, true)
		return
	}
	wch := m.s.Client().Watch(yctx, m.cand.Key(), clientv3.WithRev(h.Revision+1),
		clientv3.WithFilterDelete())
	for resp := range wch {
		for _, ev := range resp.Events {
			if nh, err := election.HolderOf(ev.Kv); err == nil {
				m.setHolder(nh, true)
				return
			}
		}
	}
}

func (m *Member) logStandby(h election.Holder) {
	m.log.Info(m.role+" is in STANDBY",
		"activeServerID", int64(h.Info.ServerID), "activeAddress", h.Info.Address,
		"activeEpoch", h.Epoch)
}
