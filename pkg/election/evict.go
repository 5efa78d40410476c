package election

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Evict removes a holder that the caller has established is dead, without
// waiting for its lease to expire. It deletes the ACTIVE key only if the key
// still carries h's epoch and lease, so it can never remove a newer active;
// then it revokes h's lease, which also removes h's session key. It returns
// true if the key was deleted.
//
// Evicting a holder that is in fact alive is safe but disruptive: its term
// ends (it sees the deletion, and its next fenced write fails), and it
// campaigns again like any standby.
func (c *Candidate) Evict(ctx context.Context, h Holder) (bool, error) {
	resp, err := c.s.Client().Txn(ctx).
		If(
			clientv3.Compare(clientv3.CreateRevision(c.key), "=", h.Epoch),
			clientv3.Compare(clientv3.LeaseValue(c.key), "=", h.Lease),
		).
		Then(clientv3.OpDelete(c.key)).
		Commit()
	if err != nil {
		return false, fmt.Errorf("election: evict server %d from %s: %w", h.Info.ServerID, c.key, err)
	}
	if !resp.Succeeded {
		return false, nil
	}
	if _, err := c.s.Client().Revoke(ctx, h.Lease); err != nil {
		c.log.Debug("revoking the evicted holder's lease failed", "lease", int64(h.Lease), "err", err)
	}
	return true, nil
}
