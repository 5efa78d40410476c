package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
	"github.com/batonhq/baton/internal/backoff"
	"github.com/batonhq/baton/pkg/election"
	"github.com/batonhq/baton/pkg/session"
)

// ErrNoActive is returned when the role has no active and the context
// ended while waiting for one.
var ErrNoActive = errors.New("client: no active rootcoord")

// ServerIDHeader is the metadata key carrying the expected server ID.
const ServerIDHeader = "baton-server-id"

const role = "rootcoord"

// Client calls the active rootcoord. It is safe for concurrent use.
type Client struct {
	etcd    *clientv3.Client
	key     string
	attempt time.Duration

	mu struct {
		sync.Mutex
		conn   *grpc.ClientConn
		holder election.Holder
	}
}

// Option configures a Client.
type Option func(*Client)

// WithAttemptTimeout bounds one attempt of a call (default 5 s), so a hung
// active does not use up the whole context of the call.
func WithAttemptTimeout(d time.Duration) Option { return func(c *Client) { c.attempt = d } }

// New returns a client that finds the active through etcd under rootPath.
func New(etcd *clientv3.Client, rootPath string, opts ...Option) *Client {
	c := &Client{etcd: etcd, key: session.NewKeys(rootPath).Active(role), attempt: 5 * time.Second}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Close closes the gRPC connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.conn == nil {
		return nil
	}
	err := c.mu.conn.Close()
	c.mu.conn = nil
	return err
}

// Active returns the active the client is talking to, looking it up if
// needed.
func (c *Client) Active(ctx context.Context) (election.Holder, error) {
	_, h, err := c.connect(ctx)
	return h, err
}

// connect returns a connection to the active, dialling if needed.
func (c *Client) connect(ctx context.Context) (*grpc.ClientConn, election.Holder, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.conn != nil {
		return c.mu.conn, c.mu.holder, nil
	}
	h, ok, err := election.ReadHolder(ctx, c.etcd, c.key)
	if err != nil {
		return nil, election.Holder{}, err
	}
	if !ok {
		return nil, election.Holder{}, ErrNoActive
	}
	// WithDisableServiceConfig: Baton publishes no service config in DNS,
	// and the TXT lookup for one can stall every new connection for
	// seconds where the name server drops such queries (a Docker internal
	// network).
	conn, err := grpc.NewClient(h.Info.Address,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDisableServiceConfig())
	if err != nil {
		return nil, election.Holder{}, fmt.Errorf("client: dial %s: %w", h.Info.Address, err)
	}
	c.mu.conn, c.mu.holder = conn, h
	return conn, h, nil
}

// forget drops the connection to conn's active so the next call looks the
// active up again.
func (c *Client) forget(conn *grpc.ClientConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.conn == conn {
		_ = c.mu.conn.Close()
		c.mu.conn = nil
	}
}

// call runs fn against the active, retrying across failovers until ctx
// ends.
func (c *Client) call(ctx context.Context, fn func(context.Context, batonv1.RootCoordClient) error) error {
	b := backoff.New()
	var last error
	for {
		conn, h, err := c.connect(ctx)
		if err != nil && !retryable(err) {
			// A corrupt ACTIVE key, or the caller's context: retrying
			// cannot help.
			return err
		}
		if err == nil {
			cctx := metadata.AppendToOutgoingContext(ctx, ServerIDHeader,
				strconv.FormatInt(int64(h.Info.ServerID), 10))
			actx, cancel := context.WithTimeout(cctx, c.attempt)
			stop := c.abandonIfReplaced(actx, h.Epoch, cancel)
			err = fn(actx, batonv1.NewRootCoordClient(conn))
			replaced := stop()
			cancel()
			attemptTimedOut := ctx.Err() == nil &&
				(status.Code(err) == codes.DeadlineExceeded || replaced && err != nil)
			if err == nil || !(retryable(err) || attemptTimedOut) {
				return err
			}
			c.forget(conn)
		}
		last = err
		// Wait for a new active to show up in etcd rather than polling.
		if werr := c.awaitNewActive(ctx, h.Epoch, b); werr != nil {
			return fmt.Errorf("%w (last error: %v)", werr, last)
		}
	}
}

// replacedAfter is how long an attempt runs before the client starts
// watching for the active to be replaced under it.
const replacedAfter = 100 * time.Millisecond

// abandonIfReplaced cancels an attempt that has run for replacedAfter when
// the ACTIVE key comes to name an active other than epoch: the one being
// called is frozen or cut off, and its term is over, so the call goes to the
// new active at once instead of waiting out the attempt timeout. stop ends
// the watch and reports whether it cancelled the attempt.
func (c *Client) abandonIfReplaced(ctx context.Context, epoch int64, cancel context.CancelFunc) (stop func() bool) {
	wctx, wcancel := context.WithCancel(ctx)
	var replaced atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTimer(replacedAfter)
		defer t.Stop()
		select {
		case <-wctx.Done():
			return
		case <-t.C:
		}
		if c.waitReplaced(wctx, epoch) == nil {
			replaced.Store(true)
			cancel()
		}
	}()
	return func() bool {
		wcancel()
		<-done
		return replaced.Load()
	}
}

// waitReplaced returns nil once the ACTIVE key names an active other than
// the one with epoch gone, and an error if ctx ends or etcd cannot be read
// first.
func (c *Client) waitReplaced(ctx context.Context, gone int64) error {
	h, ok, err := election.ReadHolder(ctx, c.etcd, c.key)
	if err != nil {
		return err
	}
	if ok && h.Epoch != gone {
		return nil
	}
	wch := c.etcd.Watch(clientv3.WithRequireLeader(ctx), c.key,
		clientv3.WithRev(h.Revision+1), clientv3.WithFilterDelete())
	for resp := range wch {
		if err := resp.Err(); err != nil {
			return err
		}
		for _, ev := range resp.Events {
			if ev.Kv.CreateRevision != gone {
				return nil
			}
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.New("client: watch on the ACTIVE key closed")
}

// awaitNewActive returns once the ACTIVE key names an active other than
// the one with epoch gone, or after a growing pause (the same active may
// still be activating, or etcd may be unreachable). It fails only when ctx
// ends.
func (c *Client) awaitNewActive(ctx context.Context, gone int64, b *backoff.Backoff) error {
	wctx, cancel := context.WithTimeout(ctx, b.Next())
	defer cancel()
	if err := c.waitReplaced(wctx, gone); err != nil && ctx.Err() == nil {
		// No new active within the pause, or etcd unreachable: pause out
		// the rest, then try again.
		<-wctx.Done()
	}
	return ctx.Err()
}

// retryable reports whether err means "try the active again, maybe
// another one".
func retryable(err error) bool {
	if errors.Is(err, ErrNoActive) {
		return true
	}
	st, ok := status.FromError(err)
	if !ok {
		// etcd read errors while looking the active up.
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) &&
			!errors.Is(err, election.ErrCorruptActive)
	}
	return st.Code() == codes.Unavailable
}

// NotActiveDetail returns the NotActive detail of err, if any.
func NotActiveDetail(err error) (*batonv1.NotActive, bool) {
	st, ok := status.FromError(err)
	if !ok {
		return nil, false
	}
	for _, d := range st.Details() {
		if na, ok := d.(*batonv1.NotActive); ok {
			return na, true
		}
	}
	return nil, false
}

// AllocTimestamp returns the first of count timestamps.
func (c *Client) AllocTimestamp(ctx context.Context, count uint32) (uint64, error) {
	var ts uint64
	err := c.call(ctx, func(ctx context.Context, rc batonv1.RootCoordClient) error {
		resp, err := rc.AllocTimestamp(ctx, &batonv1.AllocTimestampRequest{Count: count})
		ts = resp.GetTimestamp()
		return err
	})
	return ts, err
}

// AllocID returns the first of count IDs.
func (c *Client) AllocID(ctx context.Context, count uint32) (int64, error) {
	var first int64
	err := c.call(ctx, func(ctx context.Context, rc batonv1.RootCoordClient) error {
		resp, err := rc.AllocID(ctx, &batonv1.AllocIDRequest{Count: count})
		first = resp.GetFirst()
		return err
	})
	return first, err
}

// CreateCollection creates a collection. Unless req carries a request ID,
// it gets a random one, so that a retry after a failover whose first attempt
// did commit returns the collection instead of ALREADY_EXISTS.
func (c *Client) CreateCollection(
	ctx context.Context,
	req *batonv1.CreateCollectionRequest,
) (*batonv1.Collection, error) {
	if req.GetRequestId() == "" {
		req = proto.CloneOf(req)
		req.RequestId = newRequestID()
	}
	var coll *batonv1.Collection
	err := c.call(ctx, func(ctx context.Context, rc batonv1.RootCoordClient) error {
		resp, err := rc.CreateCollection(ctx, req)
		coll = resp.GetCollection()
		return err
	})
	return coll, err
}

// DropCollection drops a collection.
func (c *Client) DropCollection(ctx context.Context, name string) error {
	return c.call(ctx, func(ctx context.Context, rc batonv1.RootCoordClient) error {
		_, err := rc.DropCollection(ctx, &batonv1.DropCollectionRequest{Name: name})
		return err
	})
}

// DescribeCollection describes a collection.
func (c *Client) DescribeCollection(ctx context.Context, name string) (*batonv1.Collection, error) {
	var coll *batonv1.Collection
	err := c.call(ctx, func(ctx context.Context, rc batonv1.RootCoordClient) error {
		resp, err := rc.DescribeCollection(ctx, &batonv1.DescribeCollectionRequest{Name: name})
		coll = resp.GetCollection()
		return err
	})
	return coll, err
}

// ListCollections lists all collections, ordered by name.
func (c *Client) ListCollections(ctx context.Context) ([]*batonv1.Collection, error) {
	var colls []*batonv1.Collection
	err := c.call(ctx, func(ctx context.Context, rc batonv1.RootCoordClient) error {
		resp, err := rc.ListCollections(ctx, &batonv1.ListCollectionsRequest{})
		colls = resp.GetCollections()
		return err
	})
	return colls, err
}

// newRequestID returns 16 random bytes in hex.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails since Go 1.24
	return hex.EncodeToString(b[:])
}
