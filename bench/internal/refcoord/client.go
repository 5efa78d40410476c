package refcoord

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
	"github.com/batonhq/baton/internal/backoff"
)

// ErrNoLeader is returned when the group has no leader and the context
// ended while waiting for one.
var ErrNoLeader = errors.New("refcoord: no leader")

// Client calls the leader of one election prefix and follows it across
// failovers. It is safe for concurrent use.
type Client struct {
	etcd    *clientv3.Client
	prefix  string
	attempt time.Duration

	mu struct {
		sync.Mutex
		key  string // election key of the leader conn talks to
		conn *grpc.ClientConn
	}
}

// NewClient returns a client of the group campaigning under prefix; each
// attempt of a call is bounded by attempt.
func NewClient(etcd *clientv3.Client, prefix string, attempt time.Duration) *Client {
	return &Client{etcd: etcd, prefix: prefix, attempt: attempt}
}

// Close closes the connection to the leader.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.conn == nil {
		return nil
	}
	err := c.mu.conn.Close()
	c.mu.conn, c.mu.key = nil, ""
	return err
}

// AllocTimestamp returns the first of count timestamps, retrying across
// failovers until ctx ends.
func (c *Client) AllocTimestamp(ctx context.Context, count uint32) (uint64, error) {
	b := backoff.New()
	for {
		conn, key, err := c.leader(ctx)
		if err == nil {
			actx, cancel := context.WithTimeout(ctx, c.attempt)
			var resp *batonv1.AllocTimestampResponse
			resp, err = batonv1.NewRootCoordClient(conn).AllocTimestamp(actx,
				&batonv1.AllocTimestampRequest{Count: count})
			cancel()
			if err == nil {
				return resp.GetTimestamp(), nil
			}
			if !retryable(ctx, err) {
				return 0, err
			}
			c.forget(conn)
		}
		if werr := c.awaitNewLeader(ctx, key, b); werr != nil {
			return 0, fmt.Errorf("%w (last error: %v)", werr, err)
		}
	}
}

// leader returns a connection to the current leader and its election key.
// The leader is the key with the lowest create revision under the prefix,
// as in concurrency.Election.Leader.
func (c *Client) leader(ctx context.Context) (*grpc.ClientConn, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.conn != nil {
		return c.mu.conn, c.mu.key, nil
	}
	kv, _, err := c.readLeader(ctx)
	if err != nil {
		return nil, "", err
	}
	if kv == nil {
		return nil, "", ErrNoLeader
	}
	addr := string(kv.Value)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, "", fmt.Errorf("refcoord: dial %s: %w", addr, err)
	}
	c.mu.conn, c.mu.key = conn, string(kv.Key)
	return conn, c.mu.key, nil
}

// readLeader reads the leader's key (nil when there is none) and the
// store revision of the read.
func (c *Client) readLeader(ctx context.Context) (*mvccpb.KeyValue, int64, error) {
	resp, err := c.etcd.Get(ctx, c.prefix+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return nil, 0, fmt.Errorf("refcoord: read leader under %s: %w", c.prefix, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, resp.Header.Revision, nil
	}
	return resp.Kvs[0], resp.Header.Revision, nil
}

// forget drops conn so the next attempt reads the leader again.
func (c *Client) forget(conn *grpc.ClientConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.conn == conn {
		_ = c.mu.conn.Close()
		c.mu.conn, c.mu.key = nil, ""
	}
}

// awaitNewLeader returns at once if another key than gone leads, else
// after the next change under the prefix or a growing pause (the same
// leader may still be starting, or etcd may be unreachable). It fails only
// when ctx ends.
func (c *Client) awaitNewLeader(ctx context.Context, gone string, b *backoff.Backoff) error {
	kv, rev, err := c.readLeader(ctx)
	if err != nil {
		return b.Wait(ctx)
	}
	if kv != nil && string(kv.Key) != gone {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, b.Next())
	defer cancel()
	wch := c.etcd.Watch(clientv3.WithRequireLeader(wctx), c.prefix+"/",
		clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	for resp := range wch {
		if resp.Err() != nil || len(resp.Events) > 0 {
			break
		}
	}
	return ctx.Err()
}

// retryable reports whether err means "try the leader again, maybe a new
// one": the process refused or went away, or one attempt timed out.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	code := status.Code(err)
	return code == codes.Unavailable || code == codes.DeadlineExceeded
}
