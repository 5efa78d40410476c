package election

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/batonhq/baton/internal/backoff"
	"github.com/batonhq/baton/pkg/session"
)

// Errors returned by this package.
var (
	// ErrFenced is returned by Term.Txn when the ACTIVE key no longer
	// carries the term's epoch: another process is active, or none is.
	ErrFenced = errors.New("election: fenced: no longer the active")
	// ErrConflict is returned by Term.Txn when the fence held but one of
	// the caller's own comparisons failed.
	ErrConflict = errors.New("election: transaction comparison failed")
	// ErrLeaseLost ends a term whose session lease was lost, and is
	// returned by Campaign when the session's lease is not certainly alive.
	ErrLeaseLost = errors.New("election: session lease lost")
	// ErrDeposed ends a term whose ACTIVE key was deleted or replaced.
	ErrDeposed = errors.New("election: active key deleted or replaced")
	// ErrResigned ends a term that was resigned or ended by its owner.
	ErrResigned = errors.New("election: resigned")
	// ErrCorruptActive is returned when the ACTIVE key's value cannot be
	// decoded.
	ErrCorruptActive = errors.New("election: corrupt active key")
)

// Holder describes the process that holds a role's ACTIVE key.
type Holder struct {
	Info session.Info
	// Epoch is the create revision of the ACTIVE key.
	Epoch int64
	// Lease is the lease the ACTIVE key is attached to.
	Lease clientv3.LeaseID
	// Revision is the store revision at which the holder was read.
	Revision int64
}

// Candidate campaigns for one role on behalf of a session.
type Candidate struct {
	s    *session.Session
	role string
	key  string
	log  *slog.Logger
}

// NewCandidate returns a candidate for the session's role.
func NewCandidate(s *session.Session, log *slog.Logger) *Candidate {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	role := s.Info().Role
	return &Candidate{s: s, role: role, key: s.Keys().Active(role), log: log}
}

// Key returns the role's ACTIVE key.
func (c *Candidate) Key() string { return c.key }

// Campaign tries once to become the active. It returns a Term if it won
// (or finds the ACTIVE key already on the session's own lease, left by an
// attempt whose answer was lost), and otherwise the current holder. It does
// not wait for the role to become vacant. It returns an error wrapping
// ErrLeaseLost, without writing anything, when the session's lease is not
// certainly alive: the caller renews the session first.
func (c *Candidate) Campaign(ctx context.Context) (*Term, Holder, error) {
	return c.campaign(ctx, true)
}

func (c *Candidate) campaign(ctx context.Context, clearStale bool) (*Term, Holder, error) {
	lease, lost := c.s.Lease()
	if !c.s.Alive() {
		return nil, Holder{}, fmt.Errorf("election: campaign on %s: %w", c.key, ErrLeaseLost)
	}
	info := c.s.Info()
	info.ActiveSince = time.Now().UTC().Truncate(time.Millisecond)
	val, err := json.Marshal(info)
	if err != nil {
		return nil, Holder{}, fmt.Errorf("election: encode %s: %w", c.key, err)
	}
	resp, err := c.s.Client().Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(c.key), "=", 0)).
		Then(clientv3.OpPut(c.key, string(val), clientv3.WithLease(lease))).
		Else(clientv3.OpGet(c.key)).
		Commit()
	if err != nil {
		return nil, Holder{}, fmt.Errorf("election: campaign on %s: %w", c.key, err)
	}
	if resp.Succeeded {
		epoch := resp.Header.Revision
		return newTerm(c, epoch, lease, lost), Holder{}, nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		// Deleted between the compare and the get: cannot happen inside
		// one transaction, but treat it as a retryable race.
		return nil, Holder{}, fmt.Errorf("election: %s vanished during campaign", c.key)
	}
	if kvs[0].Lease == int64(lease) {
		// Only this session writes on its lease: an earlier campaign of
		// ours committed but its answer was lost, or a term of ours failed
		// to resign. The role is ours; waiting for it to become vacant
		// would wait for ourselves for as long as the lease lives.
		return newTerm(c, kvs[0].CreateRevision, lease, lost), Holder{}, nil
	}
	h, err := holderOf(kvs[0].Key, kvs[0].Value, kvs[0].CreateRevision, kvs[0].Lease)
	h.Revision = resp.Header.Revision
	// Two kinds of key can never be a live active and would otherwise block
	// the role until their lease ends, or forever: one without a lease
	// (Baton always writes it on one), and one of this very server on an
	// older lease (its term ended when that lease was lost; etcd, back from
	// an outage, may keep the lease alive for a full TTL).
	own := err == nil && h.Info.ServerID == c.s.ServerID()
	if clearStale && (kvs[0].Lease == 0 || own) {
		removed, rerr := c.removeStale(ctx, kvs[0].CreateRevision, clientv3.LeaseID(kvs[0].Lease))
		if rerr != nil {
			return nil, h, rerr
		}
		if removed {
			c.log.Warn("removed a stale ACTIVE key", "key", c.key, "epoch", kvs[0].CreateRevision,
				"lease", fmt.Sprintf("%x", kvs[0].Lease), "ownServerID", own)
		}
		return c.campaign(ctx, false)
	}
	return nil, h, err
}

// removeStale deletes the ACTIVE key if it still has createRev and lease,
// and revokes that lease if there is one.
func (c *Candidate) removeStale(ctx context.Context, createRev int64, lease clientv3.LeaseID) (bool, error) {
	resp, err := c.s.Client().Txn(ctx).
		If(
			clientv3.Compare(clientv3.CreateRevision(c.key), "=", createRev),
			clientv3.Compare(clientv3.LeaseValue(c.key), "=", lease),
		).
		Then(clientv3.OpDelete(c.key)).
		Commit()
	if err != nil {
		return false, fmt.Errorf("election: remove stale %s: %w", c.key, err)
	}
	if resp.Succeeded && lease != clientv3.NoLease {
		if _, err := c.s.Client().Revoke(ctx, lease); err != nil {
			c.log.Debug("revoking a stale lease failed", "lease", int64(lease), "err", err)
		}
	}
	return resp.Succeeded, nil
}

// Current reads the holder of the role's ACTIVE key. ok is false when the
// role has no active.
func (c *Candidate) Current(ctx context.Context) (h Holder, ok bool, err error) {
	return ReadHolder(ctx, c.s.Client(), c.key)
}

// ReadHolder reads the holder of the ACTIVE key at key.
func ReadHolder(ctx context.Context, cli *clientv3.Client, key string) (Holder, bool, error) {
	resp, err := cli.Get(ctx, key)
	if err != nil {
		return Holder{}, false, fmt.Errorf("election: read %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return Holder{Revision: resp.Header.Revision}, false, nil
	}
	kv := resp.Kvs[0]
	h, err := holderOf(kv.Key, kv.Value, kv.CreateRevision, kv.Lease)
	h.Revision = resp.Header.Revision
	return h, err == nil, err
}

// HolderOf decodes the holder from an ACTIVE key as read or watched.
func HolderOf(kv *mvccpb.KeyValue) (Holder, error) {
	h, err := holderOf(kv.Key, kv.Value, kv.CreateRevision, kv.Lease)
	h.Revision = kv.ModRevision
	return h, err
}

func holderOf(key, val []byte, createRev, lease int64) (Holder, error) {
	h := Holder{Epoch: createRev, Lease: clientv3.LeaseID(lease)}
	info, err := session.DecodeInfo(string(key), val)
	if err != nil {
		return h, fmt.Errorf("%w: %w", ErrCorruptActive, err)
	}
	h.Info = info
	return h, nil
}

// WaitVacant blocks until the role has no active, starting from the holder
// h (as returned by Campaign or Current). It calls onChange, if not nil,
// whenever another process takes the key. It returns nil when the key is
// gone, or ctx's error.
func (c *Candidate) WaitVacant(ctx context.Context, h Holder, onChange func(Holder)) error {
	b := backoff.New()
	for {
		err := c.watchUntilVacant(ctx, &h, onChange)
		if err == nil || ctx.Err() != nil {
			return ctx.Err()
		}
		c.log.Debug("watch on active key failed, reading it again", "key", c.key, "err", err)
		if werr := b.Wait(ctx); werr != nil {
			return werr
		}
		cur, ok, err := c.Current(ctx)
		if err != nil && !errors.Is(err, ErrCorruptActive) {
			continue
		}
		if !ok && err == nil {
			return nil
		}
		if cur.Epoch != h.Epoch && onChange != nil {
			onChange(cur)
		}
		h = cur
	}
}

// watchUntilVacant watches the ACTIVE key from h.Revision+1. It returns nil
// when the key is deleted, and an error when the watch breaks.
func (c *Candidate) watchUntilVacant(ctx context.Context, h *Holder, onChange func(Holder)) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := c.s.Client().Watch(wctx, c.key, clientv3.WithRev(h.Revision+1))
	for resp := range wch {
		if err := resp.Err(); err != nil {
			return err
		}
		for _, ev := range resp.Events {
			if ev.Type == clientv3.EventTypeDelete {
				return nil
			}
			next, err := holderOf(ev.Kv.Key, ev.Kv.Value, ev.Kv.CreateRevision, ev.Kv.Lease)
			next.Revision = ev.Kv.ModRevision
			if err != nil {
				c.log.Warn("active key holds a corrupt value", "key", c.key, "err", err)
			}
			if next.Epoch != h.Epoch && onChange != nil {
				onChange(next)
			}
			*h = next
		}
		h.Revision = max(h.Revision, resp.Header.Revision)
	}
	return fmt.Errorf("election: watch on %s closed", c.key)
}
