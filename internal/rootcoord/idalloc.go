package rootcoord

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/batonhq/baton/pkg/election"
)

const (
	// MaxIDCount is the largest count one AllocID may ask for.
	MaxIDCount = 1 << 20
	// idBatch is how many IDs beyond a request are reserved per save.
	idBatch = 10000
	// firstID is the first ID of a fresh cluster.
	firstID = 1
	// maxIDEnd is the largest saved end: IDs stay positive int64s.
	maxIDEnd = math.MaxInt64
)

var errNotActive = errors.New("rootcoord: not active")

// IDAllocator hands out unique int64 IDs for one term.
type IDAllocator struct {
	key string

	mu struct {
		sync.Mutex
		term  *election.Term
		next  int64 // next ID to hand out
		end   int64 // saved end: IDs below it may be handed out
		floor int64 // Activate starts at or above it
	}
}

// NewIDAllocator returns an allocator that persists its range end at key.
func NewIDAllocator(key string) *IDAllocator { return &IDAllocator{key: key} }

// Activate starts at the saved end (raw, nil when the cluster never saved
// one).
func (a *IDAllocator) Activate(raw []byte, term *election.Term) error {
	end := int64(firstID)
	if raw != nil {
		v, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || v < firstID {
			return fmt.Errorf("%w: ID allocator end at %s is %q, not a positive integer; "+
				"set it above every ID issued", ErrCorruptState, a.key, raw)
		}
		if v > maxIDEnd {
			return fmt.Errorf("%w: ID allocator end at %s is %d: the int64 ID space is used up "+
				"(the last usable end is %d); check that the value was not mistyped",
				ErrCorruptState, a.key, v, int64(maxIDEnd))
		}
		end = v
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	end = max(end, a.mu.floor)
	a.mu.term, a.mu.next, a.mu.end = term, end, end
	return nil
}

// SetFloor makes the next activations start at or above end, a range end
// this process saw stored before, whatever etcd holds now.
func (a *IDAllocator) SetFloor(end int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mu.floor = max(a.mu.floor, end)
}

// Deactivate forgets the term; Alloc fails until the next Activate.
func (a *IDAllocator) Deactivate() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mu.term = nil
}

// Alloc returns the first of count consecutive unused IDs.
func (a *IDAllocator) Alloc(ctx context.Context, count int64) (int64, error) {
	if count < 1 || count > MaxIDCount {
		return 0, fmt.Errorf("%w: ID count %d; ask for 1 to %d", ErrBadCount, count, MaxIDCount)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mu.term == nil || !a.mu.term.Valid() {
		return 0, errNotActive
	}
	if a.mu.next > maxIDEnd-count {
		return 0, fmt.Errorf("%w: the int64 ID space is used up (next ID %d)", ErrExhausted, a.mu.next)
	}
	if a.mu.next+count > a.mu.end {
		end := min(a.mu.next+count+idBatch, maxIDEnd)
		op := clientv3.OpPut(a.key, strconv.FormatInt(end, 10))
		if _, err := a.mu.term.Txn(ctx, nil, op); err != nil {
			return 0, fmt.Errorf("rootcoord: save ID range end: %w", err)
		}
		a.mu.end = end
	}
	first := a.mu.next
	a.mu.next += count
	return first, nil
}
