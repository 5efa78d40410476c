package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batonhq/baton/internal/backoff"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ServerID identifies one coordinator process for its whole life.
type ServerID int64

// Info is what a session publishes about its process, as JSON under its
// session key and under the role's ACTIVE key while it is active.
type Info struct {
	ServerID  ServerID  `json:"serverID"`
	Role      string    `json:"role"`
	Address   string    `json:"address"`
	Hostname  string    `json:"hostname"`
	Version   string    `json:"version"`
	LeaseID   int64     `json:"leaseID"`
	StartTime time.Time `json:"startTime"`
	// ActiveSince is set in the ACTIVE key only: when this process won.
	ActiveSince time.Time `json:"activeSince,omitzero"`
}

// Errors returned by this package.
var (
	// ErrCorruptCounter is returned when the server ID counter holds a
	// value that is not a positive decimal integer.
	ErrCorruptCounter = errors.New("session: corrupt server ID counter")
	// ErrClosed is returned by calls on a closed session.
	ErrClosed = errors.New("session: closed")
	// ErrBadInfo is returned when a stored session value is not valid JSON.
	ErrBadInfo = errors.New("session: corrupt session value")
)

// Session is one process's registration in etcd. It is safe for concurrent
// use.
type Session struct {
	client *clientv3.Client
	keys   Keys
	ttl    time.Duration
	log    *slog.Logger
	margin time.Duration

	mu struct {
		sync.Mutex
		info     Info
		lease    clientv3.LeaseID
		deadline time.Time
		lost     chan struct{}
		stop     context.CancelFunc
		closed   bool
	}
	// renewing serialises Renew calls, so that at most one renewal
	// goroutine runs at a time.
	renewing sync.Mutex
	wg       sync.WaitGroup
}

// Option configures New.
type Option func(*Session)

// WithTTL sets the lease TTL; it is rounded up to whole seconds (etcd's
// unit). The default is 10 s.
func WithTTL(ttl time.Duration) Option { return func(s *Session) { s.ttl = ttl } }

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option { return func(s *Session) { s.log = l } }

// WithVersion sets the version published in Info.
func WithVersion(v string) Option { return func(s *Session) { s.mu.info.Version = v } }

// New allocates a server ID, grants a lease, registers the session key and
// starts renewing the lease. It blocks until registration succeeds or ctx is
// done.
func New(
	ctx context.Context,
	client *clientv3.Client,
	rootPath, role, address string,
	opts ...Option,
) (*Session, error) {
	s := &Session{
		client: client,
		keys:   NewKeys(rootPath),
		ttl:    10 * time.Second,
		log:    slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(s)
	}
	if err := validRole(role); err != nil {
		return nil, err
	}
	s.ttl = roundTTL(s.ttl)
	s.margin = safetyMargin(s.ttl)
	host, _ := os.Hostname()
	s.mu.info.Role = role
	s.mu.info.Address = address
	s.mu.info.Hostname = host
	s.mu.info.StartTime = time.Now().UTC().Truncate(time.Millisecond)

	id, err := s.allocServerID(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.info.ServerID = id
	s.log = s.log.With("role", role, "serverID", int64(id))
	if err := s.register(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// roundTTL rounds up to whole seconds, at least one.
func roundTTL(ttl time.Duration) time.Duration {
	secs := (ttl + time.Second - 1) / time.Second
	return max(secs, 1) * time.Second
}

// safetyMargin is how long before the computed expiry the session stops
// trusting its lease: it covers clock rate differences and scheduling delay.
func safetyMargin(ttl time.Duration) time.Duration {
	return min(ttl/20+100*time.Millisecond, time.Second)
}

// ServerID returns the session's server ID.
func (s *Session) ServerID() ServerID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.info.ServerID
}

// Info returns a copy of the published session info.
func (s *Session) Info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.info
}

// TTL returns the lease TTL.
func (s *Session) TTL() time.Duration { return s.ttl }

// Keys returns the key layout the session uses.
func (s *Session) Keys() Keys { return s.keys }

// Client returns the etcd client.
func (s *Session) Client() *clientv3.Client { return s.client }

// Lease returns the current lease and a channel that is closed when that
// lease is lost: its local deadline passed, etcd reported it gone, or it was
// revoked.
func (s *Session) Lease() (clientv3.LeaseID, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.lease, s.mu.lost
}

// Alive reports whether the current lease is certainly still alive at etcd,
// judged on the monotonic clock against the local deadline. It is false
// from the moment etcd reports the lease gone, Renew starts or Close is
// called, even if the deadline has not passed.
func (s *Session) Alive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Now().Before(s.mu.deadline)
}

// Deadline returns the local deadline of the current lease.
func (s *Session) Deadline() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.deadline
}

// Renew registers the session again with a new lease after the old one was
// lost. The old lease is revoked, best effort, so whatever was attached to it
// (such as an ACTIVE key) goes away at once rather than at its expiry. Renew
// blocks until registration succeeds or ctx is done.
func (s *Session) Renew(ctx context.Context) error {
	s.renewing.Lock()
	defer s.renewing.Unlock()
	s.mu.Lock()
	old, closed := s.mu.lease, s.mu.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	s.stopKeepAlive()
	s.invalidate(old)
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	if _, err := s.client.Revoke(rctx, old); err != nil {
		s.log.Debug("revoke old lease failed", "lease", int64(old), "err", err)
	}
	cancel()
	return s.register(ctx)
}

// Close stops renewing and revokes the lease, which deletes the session key
// and anything else attached to the lease. It waits for the renewal
// goroutine to exit.
func (s *Session) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return nil
	}
	s.mu.closed = true
	lease := s.mu.lease
	s.mu.Unlock()
	s.stopKeepAlive()
	s.invalidate(lease)
	if _, err := s.client.Revoke(ctx, lease); err != nil {
		return fmt.Errorf("session: revoke lease %x: %w", int64(lease), err)
	}
	return nil
}

// invalidate makes Alive false at once if lease is still the current lease:
// it is being given up, or etcd no longer has it.
func (s *Session) invalidate(lease clientv3.LeaseID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.lease == lease {
		s.mu.deadline = time.Time{}
	}
}

func (s *Session) stopKeepAlive() {
	s.mu.Lock()
	stop := s.mu.stop
	s.mu.stop = nil
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	s.wg.Wait()
}

// register grants a lease, writes the session key on it and starts the
// renewal goroutine. It retries with backoff until ctx is done; each attempt
// is bounded by the TTL, so a connection that went silent does not hold it.
func (s *Session) register(ctx context.Context) error {
	b := backoff.New()
	for {
		actx, cancel := context.WithTimeout(ctx, s.ttl)
		err := s.registerOnce(actx)
		cancel()
		if err == nil || errors.Is(err, ErrClosed) {
			return err
		}
		s.log.Warn("session registration failed, retrying", "err", err)
		if werr := b.Wait(ctx); werr != nil {
			return fmt.Errorf("session: register %s: %w (last error: %v)",
				s.keys.Session(s.Info().Role, s.ServerID()), werr, err)
		}
	}
}

func (s *Session) registerOnce(ctx context.Context) error {
	sent := time.Now()
	grant, err := s.client.Grant(ctx, int64(s.ttl/time.Second))
	if err != nil {
		return fmt.Errorf("grant lease: %w", err)
	}
	lease := clientv3.LeaseID(grant.ID)

	s.mu.Lock()
	s.mu.info.LeaseID = int64(lease)
	info := s.mu.info
	s.mu.Unlock()
	val, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	key := s.keys.Session(info.Role, info.ServerID)
	if _, err := s.client.Put(ctx, key, string(val), clientv3.WithLease(lease)); err != nil {
		s.revokeQuietly(lease)
		return fmt.Errorf("put %s: %w", key, err)
	}

	if !s.adopt(lease, sent.Add(time.Duration(grant.TTL)*time.Second-s.margin)) {
		// Close revoked the lease it knew; this newer one is ours to revoke.
		s.revokeQuietly(lease)
		return ErrClosed
	}
	s.log.Info("session registered", "key", key,
		"lease", fmt.Sprintf("%x", int64(lease)), "ttl", s.ttl)
	return nil
}

// adopt makes lease the current lease and starts renewing it, unless the
// session was closed meanwhile.
func (s *Session) adopt(lease clientv3.LeaseID, deadline time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return false
	}
	s.mu.lease = lease
	s.mu.deadline = deadline
	s.mu.lost = make(chan struct{})
	kctx, cancel := context.WithCancel(context.Background())
	s.mu.stop = cancel
	s.wg.Add(1)
	go s.keepAlive(kctx, lease, s.mu.lost)
	return true
}

func (s *Session) revokeQuietly(lease clientv3.LeaseID) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, _ = s.client.Revoke(ctx, lease)
}

// keepAlive renews lease every TTL/3 until ctx is done or the lease is lost,
// and then closes lost.
func (s *Session) keepAlive(ctx context.Context, lease clientv3.LeaseID, lost chan struct{}) {
	defer s.wg.Done()
	defer close(lost)
	interval := s.ttl / 3
	// Renew every TTL/3, but never later than halfway to the local
	// deadline: a grant that was slow to answer (etcd coming back) leaves
	// less than the TTL, and waiting a full interval would let the
	// deadline pass before the first renewal.
	nextRenewal := func() time.Time {
		now := time.Now()
		return minTime(now.Add(interval), now.Add(time.Until(s.Deadline())/2))
	}
	next := nextRenewal()
	b := backoff.New()
	for {
		if !s.sleepUntil(ctx, next) {
			return
		}
		err := s.renewOnce(ctx, lease)
		switch {
		case err == nil:
			b.Reset()
			next = nextRenewal()
		case ctx.Err() != nil:
			return
		case errors.Is(err, rpctypes.ErrLeaseNotFound):
			s.invalidate(lease)
			s.log.Warn("lease lost: etcd no longer has it", "lease", fmt.Sprintf("%x", int64(lease)))
			return
		case !s.Alive():
			s.log.Warn("lease lost: no renewal before the local deadline",
				"lease", fmt.Sprintf("%x", int64(lease)), "err", err)
			return
		default:
			s.log.Debug("lease renewal failed, retrying", "err", err)
			next = time.Now().Add(b.Next())
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// sleepUntil waits until t, but wakes at the local deadline so a lost lease
// is noticed on time. It returns false when ctx is done.
func (s *Session) sleepUntil(ctx context.Context, t time.Time) bool {
	if d := s.Deadline(); d.Before(t) {
		t = d
	}
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// renewOnce sends one renewal, bounded by the local deadline, and moves the
// deadline forward on success.
func (s *Session) renewOnce(ctx context.Context, lease clientv3.LeaseID) error {
	rctx, cancel := context.WithDeadline(ctx, s.Deadline())
	defer cancel()
	sent := time.Now()
	resp, err := s.client.KeepAliveOnce(rctx, lease)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.lease == lease {
		s.mu.deadline = sent.Add(time.Duration(resp.TTL)*time.Second - s.margin)
	}
	s.log.Debug("lease renewed", "lease", fmt.Sprintf("%x", int64(lease)), "ttl", resp.TTL)
	return nil
}

// allocServerID advances the counter by one with a compare-and-swap and
// returns the new value. It retries until ctx is done; each attempt is
// bounded (3 s at most) and every failure is logged, so a process whose etcd is
// unreachable says so instead of waiting in silence.
func (s *Session) allocServerID(ctx context.Context) (ServerID, error) {
	key := s.keys.Counter()
	b := backoff.New()
	for {
		// Short attempts, so an unreachable etcd is reported within seconds.
		actx, cancel := context.WithTimeout(ctx, min(s.ttl, 3*time.Second))
		id, ok, err := tryAllocServerID(actx, s.client, key)
		cancel()
		if err != nil && errors.Is(err, ErrCorruptCounter) {
			return 0, err
		}
		if ok {
			return id, nil
		}
		if err != nil && ctx.Err() == nil {
			s.log.Warn("cannot reach etcd to allocate a server ID, retrying",
				"endpoints", strings.Join(s.client.Endpoints(), ","), "key", key, "err", err)
		}
		if werr := b.Wait(ctx); werr != nil {
			return 0, fmt.Errorf("session: allocate server ID at %s: %w (last error: %v)",
				key, werr, err)
		}
	}
}

func tryAllocServerID(ctx context.Context, c *clientv3.Client, key string) (ServerID, bool, error) {
	resp, err := c.Get(ctx, key)
	if err != nil {
		return 0, false, err
	}
	var next int64 = 1
	cmp := clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
	if len(resp.Kvs) == 1 {
		kv := resp.Kvs[0]
		cur, perr := strconv.ParseInt(string(kv.Value), 10, 64)
		if perr != nil || cur < 0 {
			return 0, false, fmt.Errorf("%w: key %s holds %q; set it to an integer at least as "+
				"large as every server ID in use", ErrCorruptCounter, key, kv.Value)
		}
		next = cur + 1
		cmp = clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)
	}
	txn, err := c.Txn(ctx).If(cmp).Then(clientv3.OpPut(key, strconv.FormatInt(next, 10))).Commit()
	if err != nil {
		return 0, false, err
	}
	return ServerID(next), txn.Succeeded, nil
}

// DecodeInfo parses a stored session value.
func DecodeInfo(key string, val []byte) (Info, error) {
	var info Info
	if err := json.Unmarshal(val, &info); err != nil {
		return Info{}, fmt.Errorf("%w at %s: %v", ErrBadInfo, key, err)
	}
	return info, nil
}
