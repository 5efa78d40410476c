package rootcoord

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
	"github.com/batonhq/baton/pkg/election"
)

// Catalog errors.
var (
	// ErrExists is returned when creating a collection whose name is taken.
	ErrExists = errors.New("rootcoord: collection already exists")
	// ErrNotFound is returned for a collection that does not exist.
	ErrNotFound = errors.New("rootcoord: collection not found")
)

// readYourWrites bounds how long a DDL waits for its own change to come
// back through the watch.
const readYourWrites = 2 * time.Second

// Catalog is the collection catalog of one term. Writes go to etcd as
// fenced transactions; reads come from the follower, which sees every
// write (its own ones too) through its watch.
type Catalog struct {
	prefix string
	f      *follower
	log    interface {
		Warn(msg string, args ...any)
	}

	// ddl serialises DDL.
	ddl sync.Mutex
	mu  struct {
		sync.RWMutex
		term *election.Term
	}
}

func newCatalog(f *follower) *Catalog {
	return &Catalog{prefix: f.collPfx, f: f, log: f.log}
}

func (c *Catalog) key(name string) string { return c.prefix + name }

// activate serves the follower's state under term; it must have caught
// up. A collection that does not decode stops activation.
func (c *Catalog) activate(term *election.Term) error {
	if _, corrupt := c.f.snapshot(); corrupt != nil {
		return corrupt
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.term = term
	return nil
}

// Deactivate stops serving.
func (c *Catalog) Deactivate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.term = nil
}

// Len returns the number of collections.
func (c *Catalog) Len() int { return c.f.count() }

func (c *Catalog) currentTerm() (*election.Term, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.mu.term == nil {
		return nil, errNotActive
	}
	return c.mu.term, nil
}

// Create stores coll (already validated, with ID and timestamp) if no
// collection of that name exists.
func (c *Catalog) Create(ctx context.Context, coll *batonv1.Collection) error {
	c.ddl.Lock()
	defer c.ddl.Unlock()
	term, err := c.currentTerm()
	if err != nil {
		return err
	}
	val, err := protojson.Marshal(coll)
	if err != nil {
		return fmt.Errorf("rootcoord: encode collection %q: %w", coll.GetName(), err)
	}
	key := c.key(coll.GetName())
	absent := clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
	resp, err := term.Txn(ctx, []clientv3.Cmp{absent}, clientv3.OpPut(key, string(val)))
	if errors.Is(err, election.ErrConflict) {
		return fmt.Errorf("%w: %q", ErrExists, coll.GetName())
	}
	if err != nil {
		return fmt.Errorf("rootcoord: create collection %q: %w", coll.GetName(), err)
	}
	c.awaitOwn(ctx, resp.Header.Revision)
	return nil
}

// Drop deletes the collection called name.
func (c *Catalog) Drop(ctx context.Context, name string) error {
	c.ddl.Lock()
	defer c.ddl.Unlock()
	term, err := c.currentTerm()
	if err != nil {
		return err
	}
	key := c.key(name)
	present := clientv3.Compare(clientv3.CreateRevision(key), ">", 0)
	resp, err := term.Txn(ctx, []clientv3.Cmp{present}, clientv3.OpDelete(key))
	if errors.Is(err, election.ErrConflict) {
		return fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	if err != nil {
		return fmt.Errorf("rootcoord: drop collection %q: %w", name, err)
	}
	c.awaitOwn(ctx, resp.Header.Revision)
	return nil
}

// awaitOwn waits until the follower has applied a write of ours, so the
// caller's next read sees it. The write is durable either way.
func (c *Catalog) awaitOwn(ctx context.Context, rev int64) {
	wctx, cancel := context.WithTimeout(ctx, readYourWrites)
	defer cancel()
	if err := c.f.waitRev(wctx, rev); err != nil {
		c.log.Warn("catalog cache lags behind a committed write", "revision", rev, "err", err)
	}
}

// Has reports whether a collection called name exists.
func (c *Catalog) Has(name string) bool {
	c.f.mu.RLock()
	defer c.f.mu.RUnlock()
	_, ok := c.f.mu.colls[name]
	return ok
}

// Describe returns a copy of the collection called name.
func (c *Catalog) Describe(name string) (*batonv1.Collection, error) {
	if _, err := c.currentTerm(); err != nil {
		return nil, err
	}
	c.f.mu.RLock()
	defer c.f.mu.RUnlock()
	coll, ok := c.f.mu.colls[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return proto.Clone(coll).(*batonv1.Collection), nil
}

// List returns copies of all collections, ordered by name.
func (c *Catalog) List() ([]*batonv1.Collection, error) {
	if _, err := c.currentTerm(); err != nil {
		return nil, err
	}
	c.f.mu.RLock()
	out := make([]*batonv1.Collection, 0, len(c.f.mu.colls))
	for _, coll := range c.f.mu.colls {
		out = append(out, proto.Clone(coll).(*batonv1.Collection))
	}
	c.f.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out, nil
}
