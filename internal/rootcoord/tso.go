package rootcoord

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/batonhq/baton/pkg/election"
)

const (
	// LogicalBits is the width of the logical part of a timestamp.
	LogicalBits = 18
	// MaxTimestampCount is the largest count one AllocTimestamp may ask.
	MaxTimestampCount = 1 << LogicalBits
	logicalMask       = 1<<LogicalBits - 1

	// tsoWindow is how far ahead of the clock the saved bound is kept.
	tsoWindow = 3 * time.Second
	// maxLead is how far ahead of the clock the physical part may run when
	// callers ask for more than 2^18 timestamps a millisecond; beyond it,
	// Alloc waits for the clock. A new active starts at the saved bound,
	// which is at most tsoWindow ahead, so maxLead is the same.
	maxLead = tsoWindow
	// maxBound is the largest saved bound: the physical part of a timestamp
	// has 64-LogicalBits bits (until the year 4199), with room for a window.
	maxBound = int64(1<<(64-LogicalBits)-1) - 2*int64(tsoWindow/time.Millisecond)
)

// Errors of the root coordinator.
var (
	// ErrCorruptState is returned when persisted allocator state cannot be
	// parsed.
	ErrCorruptState = errors.New("rootcoord: corrupt persisted state")
	// ErrBadCount is returned for a count outside the allowed range.
	ErrBadCount = errors.New("rootcoord: bad count")
	// ErrExhausted is returned when an allocator has nothing left to give.
	ErrExhausted = errors.New("rootcoord: allocator exhausted")
)

// ComposeTS builds a hybrid timestamp.
func ComposeTS(physicalMs, logical int64) uint64 {
	return uint64(physicalMs)<<LogicalBits | uint64(logical&logicalMask)
}

// ParseTS splits a hybrid timestamp into wall time and logical counter.
func ParseTS(ts uint64) (time.Time, int64) {
	return time.UnixMilli(int64(ts >> LogicalBits)), int64(ts & logicalMask)
}

// TSO issues hybrid timestamps for one term.
type TSO struct {
	key string
	now func() time.Time

	// persistMu serialises writes of the bound.
	persistMu sync.Mutex
	mu        struct {
		sync.Mutex
		term     *election.Term
		physical int64 // ms of the last issued timestamp
		logical  int64 // next logical value at physical
		bound    int64 // saved bound: issued physical < bound
		start    int64 // physical at activation
		floor    int64 // Activate starts at or above it
	}
}

// NewTSO returns a TSO that persists its bound at key.
func NewTSO(key string) *TSO {
	return &TSO{key: key, now: time.Now}
}

// parseBound parses a saved bound: 0 when absent (nil), an error when
// corrupt.
func parseBound(key string, raw []byte) (int64, error) {
	if raw == nil {
		return 0, nil
	}
	v, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%w: TSO bound at %s is %q, not a positive integer of "+
			"milliseconds; restore it from a backup or set it above every timestamp issued",
			ErrCorruptState, key, raw)
	}
	if v > maxBound {
		return 0, fmt.Errorf("%w: TSO bound at %s is %d ms (%s), beyond the last time a "+
			"timestamp can hold (%d ms); it must be Unix milliseconds, not micro- or "+
			"nanoseconds: restore it from a backup or set it above every timestamp issued",
			ErrCorruptState, key, v, time.UnixMilli(v).UTC().Format(time.RFC3339), int64(maxBound))
	}
	return v, nil
}

// Activate starts at or above the saved bound (raw, nil when the cluster
// never saved one) and saves a new bound under term before any timestamp is
// issued.
func (t *TSO) Activate(ctx context.Context, raw []byte, term *election.Term) error {
	saved, err := parseBound(t.key, raw)
	if err != nil {
		return err
	}
	t.mu.Lock()
	start := max(t.now().UnixMilli(), saved, t.mu.floor)
	t.mu.term = term
	t.mu.physical = start
	t.mu.start = start
	t.mu.logical = 0
	t.mu.bound = 0
	t.mu.Unlock()
	return t.extend(ctx, start+tsoWindow.Milliseconds())
}

// SetFloor makes the next activations start at or above physical ms, a bound
// this process saw stored before, whatever etcd holds now.
func (t *TSO) SetFloor(ms int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mu.floor = max(t.mu.floor, ms)
}

// Deactivate forgets the term; Alloc fails until the next Activate.
func (t *TSO) Deactivate() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mu.term = nil
	t.mu.bound = 0
}

// extend saves bound (if higher than the saved one) with a fenced write.
func (t *TSO) extend(ctx context.Context, bound int64) error {
	t.persistMu.Lock()
	defer t.persistMu.Unlock()
	t.mu.Lock()
	term, cur := t.mu.term, t.mu.bound
	t.mu.Unlock()
	if term == nil {
		return errNotActive
	}
	if bound <= cur {
		return nil
	}
	op := clientv3.OpPut(t.key, strconv.FormatInt(bound, 10))
	if _, err := term.Txn(ctx, nil, op); err != nil {
		return fmt.Errorf("rootcoord: save TSO bound: %w", err)
	}
	t.mu.Lock()
	if t.mu.term == term {
		t.mu.bound = max(t.mu.bound, bound)
	}
	t.mu.Unlock()
	return nil
}

// Tick extends the bound when less than two thirds of the window is left.
// The server calls it every 50 ms while active.
func (t *TSO) Tick(ctx context.Context) error {
	now := t.now().UnixMilli()
	t.mu.Lock()
	need := t.mu.term != nil && t.mu.bound-now < tsoWindow.Milliseconds()*2/3
	t.mu.Unlock()
	if !need {
		return nil
	}
	return t.extend(ctx, now+tsoWindow.Milliseconds())
}

// Alloc returns the first of count consecutive timestamps.
func (t *TSO) Alloc(ctx context.Context, count int64) (uint64, error) {
	if count < 1 || count > MaxTimestampCount {
		return 0, fmt.Errorf("%w: timestamp count %d; ask for 1 to %d", ErrBadCount, count,
			MaxTimestampCount)
	}
	for extended := 0; ; {
		ts, need, wait, err := t.tryAlloc(count)
		switch {
		case err != nil:
			return 0, err
		case wait > 0:
			// More than 2^18 timestamps a millisecond for so long that the
			// physical part ran maxLead ahead of the clock: let it catch up.
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return 0, ctx.Err()
			case <-timer.C:
			}
		case need > 0:
			// The clock caught up with the saved bound: save a new one first.
			if extended++; extended > 3 {
				return 0, fmt.Errorf("rootcoord: TSO bound could not keep up with the clock")
			}
			if err := t.extend(ctx, need+tsoWindow.Milliseconds()); err != nil {
				return 0, err
			}
		default:
			return ts, nil
		}
	}
}

// tryAlloc issues timestamps if the bound allows. Otherwise it returns the
// physical time that the bound must exceed, or how long to wait for the
// clock when the physical part would run more than maxLead ahead of it.
func (t *TSO) tryAlloc(count int64) (ts uint64, need int64, wait time.Duration, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mu.term == nil || !t.mu.term.Valid() {
		return 0, 0, 0, errNotActive
	}
	now := t.now().UnixMilli()
	phys, logical := t.mu.physical, t.mu.logical
	if now > phys {
		phys, logical = now, 0
	}
	if logical+count > MaxTimestampCount {
		phys, logical = phys+1, 0
		// Lead is counted from the start of the term when the clock is
		// behind it (a clock that went back, or a saved bound ahead).
		if lead := phys - max(now, t.mu.start); lead > maxLead.Milliseconds() {
			return 0, 0, time.Duration(lead-maxLead.Milliseconds()) * time.Millisecond, nil
		}
	}
	if phys >= t.mu.bound {
		return 0, phys, 0, nil
	}
	t.mu.physical, t.mu.logical = phys, logical+count
	return ComposeTS(phys, logical), 0, 0, nil
}
