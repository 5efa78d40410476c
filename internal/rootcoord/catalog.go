package rootcoord

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

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

// Catalog is the collection catalog of one term, cached in memory.
type Catalog struct {
	prefix string

	// ddl serialises DDL so the cache follows etcd's order.
	ddl sync.Mutex
	mu  struct {
		sync.RWMutex
		term   *election.Term
		byName map[string]*batonv1.Collection
	}
}

// NewCatalog returns a catalog stored under prefix (ending in "/").
func NewCatalog(prefix string) *Catalog { return &Catalog{prefix: prefix} }

func (c *Catalog) key(name string) string { return c.prefix + name }

// Activate reads every collection from etcd. A value that does not decode
// stops activation with an error naming its key.
func (c *Catalog) Activate(ctx context.Context, kv clientv3.KV, term *election.Term) error {
	resp, err := kv.Get(ctx, c.prefix, clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("rootcoord: read catalog under %s: %w", c.prefix, err)
	}
	byName := make(map[string]*batonv1.Collection, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		coll := &batonv1.Collection{}
		if err := protojson.Unmarshal(kv.Value, coll); err != nil {
			return fmt.Errorf("%w: collection at %s does not decode: %v", ErrCorruptState,
				kv.Key, err)
		}
		byName[coll.GetName()] = coll
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.term, c.mu.byName = term, byName
	return nil
}

// Deactivate drops the cache.
func (c *Catalog) Deactivate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.term, c.mu.byName = nil, nil
}

// Len returns the number of collections.
func (c *Catalog) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.mu.byName)
}

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
	_, err = term.Txn(ctx, []clientv3.Cmp{absent}, clientv3.OpPut(key, string(val)))
	if errors.Is(err, election.ErrConflict) {
		return fmt.Errorf("%w: %q", ErrExists, coll.GetName())
	}
	if err != nil {
		return fmt.Errorf("rootcoord: create collection %q: %w", coll.GetName(), err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.term == term {
		c.mu.byName[coll.GetName()] = coll
	}
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
	_, err = term.Txn(ctx, []clientv3.Cmp{present}, clientv3.OpDelete(key))
	if errors.Is(err, election.ErrConflict) {
		return fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	if err != nil {
		return fmt.Errorf("rootcoord: drop collection %q: %w", name, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.term == term {
		delete(c.mu.byName, name)
	}
	return nil
}

// Has reports whether a collection called name exists.
func (c *Catalog) Has(name string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.mu.byName[name]
	return ok
}

// Describe returns a copy of the collection called name.
func (c *Catalog) Describe(name string) (*batonv1.Collection, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.mu.term == nil {
		return nil, errNotActive
	}
	coll, ok := c.mu.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return proto.Clone(coll).(*batonv1.Collection), nil
}

// List returns copies of all collections, ordered by name.
func (c *Catalog) List() ([]*batonv1.Collection, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.mu.term == nil {
		return nil, errNotActive
	}
	out := make([]*batonv1.Collection, 0, len(c.mu.byName))
	for _, coll := range c.mu.byName {
		out = append(out, proto.Clone(coll).(*batonv1.Collection))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out, nil
}
