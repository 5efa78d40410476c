package election

import (
	"context"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Term is one tenure of a candidate as the active of its role.
type Term struct {
	c     *Candidate
	epoch int64
	lease clientv3.LeaseID
	fence clientv3.Cmp

	done   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu struct {
		sync.Mutex
		err error
	}
}

func newTerm(c *Candidate, epoch int64, lease clientv3.LeaseID, lost <-chan struct{}) *Term {
	ctx, cancel := context.WithCancel(context.Background())
	t := &Term{
		c:      c,
		epoch:  epoch,
		lease:  lease,
		fence:  clientv3.Compare(clientv3.CreateRevision(c.key), "=", epoch),
		done:   make(chan struct{}),
		cancel: cancel,
	}
	t.wg.Add(1)
	go t.monitor(ctx, lost)
	return t
}

// Epoch returns the create revision of the ACTIVE key this term wrote.
func (t *Term) Epoch() int64 { return t.epoch }

// Done returns a channel that is closed when the term ends.
func (t *Term) Done() <-chan struct{} { return t.done }

// Err returns why the term ended, or nil while it lasts.
func (t *Term) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mu.err
}

// Valid reports whether the term still lasts and its lease is certainly
// alive at etcd by the local deadline.
func (t *Term) Valid() bool {
	select {
	case <-t.done:
		return false
	default:
	}
	lease, _ := t.c.s.Lease()
	return lease == t.lease && t.c.s.Alive()
}

// Fence returns the comparison that holds only while this term's ACTIVE key
// exists unchanged.
func (t *Term) Fence() clientv3.Cmp { return t.fence }

// Txn commits a transaction that applies then only if the fence and cmps
// all hold. It returns ErrFenced (and ends the term) if the fence failed and
// ErrConflict if only cmps failed. It refuses to send anything once Valid
// is false.
func (t *Term) Txn(
	ctx context.Context,
	cmps []clientv3.Cmp,
	then ...clientv3.Op,
) (*clientv3.TxnResponse, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("%w (epoch %d): %w", ErrFenced, t.epoch, t.reason())
	}
	// The lease too: a key overwritten onto another lease keeps its create
	// revision but no longer belongs to this term.
	onLease := clientv3.Compare(clientv3.LeaseValue(t.c.key), "=", t.lease)
	all := append([]clientv3.Cmp{t.fence, onLease}, cmps...)
	resp, err := t.c.s.Client().Txn(ctx).If(all...).Then(then...).
		Else(clientv3.OpGet(t.c.key)).Commit()
	if err != nil {
		return nil, fmt.Errorf("election: fenced txn (epoch %d): %w", t.epoch, err)
	}
	if resp.Succeeded {
		return resp, nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 || kvs[0].CreateRevision != t.epoch || kvs[0].Lease != int64(t.lease) {
		t.end(ErrFenced)
		return nil, fmt.Errorf("%w: epoch %d is over at revision %d", ErrFenced, t.epoch,
			resp.Header.Revision)
	}
	return resp, ErrConflict
}

func (t *Term) reason() error {
	if err := t.Err(); err != nil {
		return err
	}
	return ErrLeaseLost
}

// Resign ends the term and deletes the ACTIVE key if it still carries this
// term's epoch, so a standby can take over at once.
func (t *Term) Resign(ctx context.Context) error {
	t.End(ErrResigned)
	_, err := t.c.s.Client().Txn(ctx).If(t.fence).Then(clientv3.OpDelete(t.c.key)).Commit()
	if err != nil {
		return fmt.Errorf("election: resign %s (epoch %d): %w", t.c.key, t.epoch, err)
	}
	return nil
}

// End ends the term with reason (ErrResigned if nil) without touching etcd
// and waits for its goroutine.
func (t *Term) End(reason error) {
	if reason == nil {
		reason = ErrResigned
	}
	t.end(reason)
	t.wg.Wait()
}

func (t *Term) end(reason error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mu.err != nil {
		return
	}
	t.mu.err = reason
	t.cancel()
	close(t.done)
}

// monitor ends the term when the session lease is lost or the ACTIVE key
// stops carrying this term's epoch.
func (t *Term) monitor(ctx context.Context, lost <-chan struct{}) {
	defer t.wg.Done()
	deposed := make(chan struct{})
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		if t.watchKey(ctx) {
			close(deposed)
		}
	}()
	deadline := time.NewTimer(time.Until(t.c.s.Deadline()))
	defer deadline.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-lost:
			t.end(ErrLeaseLost)
			return
		case <-deposed:
			t.end(ErrDeposed)
			return
		case <-deadline.C:
			if !t.c.s.Alive() {
				t.end(ErrLeaseLost)
				return
			}
			deadline.Reset(time.Until(t.c.s.Deadline()))
		}
	}
}

// watchKey returns true once the ACTIVE key is deleted or re-created with
// another epoch, false when ctx is done. A broken watch (compaction, lost
// etcd leader) is resumed after reading the key directly.
func (t *Term) watchKey(ctx context.Context) bool {
	rev := t.epoch
	for ctx.Err() == nil {
		deposed, next := t.watchFrom(ctx, rev)
		if deposed {
			return true
		}
		rev = next
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
		h, ok, err := ReadHolder(ctx, t.c.s.Client(), t.c.key)
		if err == nil && (!ok || h.Epoch != t.epoch) {
			return true
		}
		if err == nil {
			rev = h.Revision + 1
		}
	}
	return false
}

// watchFrom watches the ACTIVE key from rev until the key stops carrying
// the term's epoch (true) or the watch breaks or ctx is done (false, and
// the revision to resume from). The watch is cancelled before it returns.
func (t *Term) watchFrom(ctx context.Context, rev int64) (deposed bool, next int64) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range t.c.s.Client().Watch(wctx, t.c.key, clientv3.WithRev(rev)) {
		if resp.Err() != nil {
			return false, rev
		}
		for _, ev := range resp.Events {
			// Deleted, recreated, or overwritten onto another lease (by
			// hand): the key no longer says this term holds the role.
			if ev.Type == clientv3.EventTypeDelete || ev.Kv.CreateRevision != t.epoch ||
				ev.Kv.Lease != int64(t.lease) {
				return true, rev
			}
		}
		rev = resp.Header.Revision + 1
	}
	return false, rev
}
