package standby

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/batonhq/baton/internal/backoff"
	"github.com/batonhq/baton/pkg/election"
	"github.com/batonhq/baton/pkg/session"
)

// State is a member's place in the active-standby state machine.
type State int

// The states of a member.
const (
	Starting State = iota
	Standby
	Activating
	Active
	Stopping
)

func (s State) String() string {
	switch s {
	case Starting:
		return "STARTING"
	case Standby:
		return "STANDBY"
	case Activating:
		return "ACTIVATING"
	case Active:
		return "ACTIVE"
	case Stopping:
		return "STOPPING"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Handler is what a member does when it wins or loses the role.
type Handler interface {
	// Activate prepares to serve under term (load state, write fenced
	// bounds). ctx is cancelled when the term ends. An error resigns the
	// term and the member campaigns again after a backoff that grows with
	// each failure in a row, up to 1 s.
	Activate(ctx context.Context, term *election.Term) error
	// Deactivate stops serving; it is called once after each successful
	// Activate, when the term ended or the member is stopping. It must
	// return only when nothing more will be answered under the term.
	Deactivate(reason error)
}

// ActiveExistsError is returned by Run when standby is disabled and
// another process is active.
type ActiveExistsError struct {
	Role   string
	Holder election.Holder
}

func (e *ActiveExistsError) Error() string {
	return fmt.Sprintf("standby: %s already has an active: server %d at %s", e.Role,
		e.Holder.Info.ServerID, e.Holder.Info.Address)
}

// Member is one member of an active-standby group.
type Member struct {
	s       *session.Session
	cand    *election.Candidate
	h       Handler
	role    string
	log     *slog.Logger
	standby bool
	every   time.Duration
	onState func(State)
	probe   Probe
	onEvict func()

	mu struct {
		sync.Mutex
		state  State
		since  time.Time
		term   *election.Term
		holder election.Holder
		known  bool
		// activateErr is why the last activation failed; nil once one
		// succeeds.
		activateErr error
	}
}

// ActivationError returns why this member's last activation failed, or nil
// if it has not failed since the last success.
func (m *Member) ActivationError() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.activateErr
}

// Option configures a Member.
type Option func(*Member)

// WithStandby sets whether the member may wait as a standby (default true).
func WithStandby(enabled bool) Option { return func(m *Member) { m.standby = enabled } }

// WithLogInterval sets how often a standby logs that it is waiting
// (default 10 s). A duration that is not positive is ignored.
func WithLogInterval(d time.Duration) Option {
	return func(m *Member) {
		if d > 0 {
			m.every = d
		}
	}
}

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(m *Member) { m.log = l } }

// WithProbe enables fast detection of a dead active: while STANDBY, the
// member probes the active every 50 ms, and after three dead answers in a
// row evicts it (see election.Candidate.Evict) instead of waiting for its
// lease to expire. Nil (the default) disables it.
func WithProbe(p Probe) Option { return func(m *Member) { m.probe = p } }

// WithEvictHook sets a function called after each eviction of a dead
// active, for metrics.
func WithEvictHook(f func()) Option { return func(m *Member) { m.onEvict = f } }

// WithStateHook sets a function called on every state change, for metrics.
func WithStateHook(f func(State)) Option { return func(m *Member) { m.onState = f } }

// New returns a member for the session's role.
func New(s *session.Session, h Handler, opts ...Option) *Member {
	m := &Member{
		s:       s,
		h:       h,
		role:    s.Info().Role,
		log:     slog.New(slog.DiscardHandler),
		standby: true,
		every:   10 * time.Second,
	}
	for _, o := range opts {
		o(m)
	}
	m.log = m.log.With("role", m.role, "serverID", int64(s.ServerID()))
	m.cand = election.NewCandidate(s, m.log)
	m.mu.since = time.Now()
	return m
}

// State returns the current state and when it was entered.
func (m *Member) State() (State, time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.state, m.mu.since
}

// Term returns the current term while ACTIVATING or ACTIVE, else nil.
func (m *Member) Term() *election.Term {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.term
}

// Holder returns the active this member last saw, if any.
func (m *Member) Holder() (election.Holder, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.holder, m.mu.known
}

// Serving reports whether the member is ACTIVE in a valid term.
func (m *Member) Serving() bool {
	m.mu.Lock()
	st, term := m.mu.state, m.mu.term
	m.mu.Unlock()
	return st == Active && term != nil && term.Valid()
}

func (m *Member) setState(st State) {
	m.mu.Lock()
	changed := m.mu.state != st
	m.mu.state, m.mu.since = st, time.Now()
	m.mu.Unlock()
	if changed && m.onState != nil {
		m.onState(st)
	}
}

func (m *Member) setHolder(h election.Holder, known bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.holder, m.mu.known = h, known
}

// Run campaigns, serves and waits until ctx is cancelled, then steps down
// and closes the session. It returns nil after a clean stop, an
// *ActiveExistsError when standby is disabled and the role is taken, or the
// error that made it give up.
func (m *Member) Run(ctx context.Context) error {
	err := m.loop(ctx)
	m.setState(Stopping)
	cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if cerr := m.s.Close(cctx); cerr != nil {
		m.log.Warn("closing session failed; its lease will expire by itself", "err", cerr)
	}
	return err
}

func (m *Member) loop(ctx context.Context) error {
	b := backoff.New()
	vacantAt := time.Now()
	for ctx.Err() == nil {
		// 1. A lost lease is replaced before anything else.
		if err := m.ensureSession(ctx); err != nil {
			return err
		}

		// 2. One campaign attempt, bounded so a silent connection does not
		// hold the loop past a lease loss.
		term, holder, err := m.campaign(ctx)
		if err != nil {
			m.log.Warn("campaign failed", "err", err)
			if werr := b.Wait(ctx); werr != nil {
				return nil
			}
			continue
		}

		// 3a. Won: activate and serve until the term ends. A failed
		// activation waits, longer each time, before campaigning again.
		if term != nil {
			if m.serve(ctx, term, vacantAt) {
				b.Reset()
			} else if werr := b.Wait(ctx); werr != nil {
				return nil
			}
			vacantAt = time.Now()
			continue
		}

		// 3b. Lost: wait as a standby, or refuse to run.
		b.Reset()
		m.setHolder(holder, true)
		if !m.standby {
			if !m.predecessor(holder) {
				return &ActiveExistsError{Role: m.role, Holder: holder}
			}
			// The holder is the process this one replaced at the same
			// address, so it is gone: wait for it to be evicted (fast
			// detection) or for its lease to end, then take over.
			m.log.Info("the active is this address's previous process; waiting for it to go",
				"activeServerID", int64(holder.Info.ServerID), "activeAddress", holder.Info.Address)
		}
		if err := m.waitStandby(ctx, holder); err != nil {
			return nil
		}
		vacantAt = time.Now()
	}
	return nil
}

func (m *Member) campaign(ctx context.Context) (*election.Term, election.Holder, error) {
	cctx, cancel := context.WithTimeout(ctx, m.s.TTL())
	defer cancel()
	return m.cand.Campaign(cctx)
}

// ensureSession renews the session when its lease is lost, or no longer
// certainly alive (the renewal goroutine may not have noticed yet).
func (m *Member) ensureSession(ctx context.Context) error {
	_, lost := m.s.Lease()
	select {
	case <-lost:
	default:
		if m.s.Alive() {
			return nil
		}
	}
	m.log.Info("session lease lost, registering a new lease")
	if err := m.s.Renew(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
