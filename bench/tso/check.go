package main

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
	"github.com/batonhq/baton/internal/rootcoord"
)

// errCheck marks a wrong answer from the rootcoord, as opposed to a failed
// call.
var errCheck = errors.New("timestamp check failed")

// maxLead is how far ahead of the wall clock a physical part may be before
// it is taken for garbage. The TSO runs ahead of the clock only when a
// millisecond's logical counter is used up, which these batch sizes over
// gRPC do not come near; the lead seen is reported per cell.
const maxLead = time.Minute

// checker checks timestamps. It is safe for concurrent use.
type checker struct {
	// notBefore is a time before the rootcoord started: no physical part
	// may be earlier.
	notBefore time.Time
}

// response checks one answer to a request for batch timestamps; last is
// the end of the same client's previous range (0 before its first call)
// and now the wall-clock time just after the answer. It returns how far
// the physical part is ahead of now.
func (c *checker) response(
	resp *batonv1.AllocTimestampResponse,
	batch uint32,
	last uint64,
	now time.Time,
) (time.Duration, error) {
	ts := resp.GetTimestamp()
	phys, logical := rootcoord.ParseTS(ts)
	lead := phys.Sub(now)
	switch {
	case resp.GetCount() != batch:
		return 0, fmt.Errorf("%w: asked for %d timestamps, answer says %d",
			errCheck, batch, resp.GetCount())
	case ts <= last:
		return 0, fmt.Errorf("%w: timestamp %d is not above %d, the end of this client's "+
			"previous range", errCheck, ts, last)
	case logical+int64(batch) > rootcoord.MaxTimestampCount:
		return 0, fmt.Errorf("%w: range of %d from timestamp %d (logical %d) runs past the "+
			"%d logical values of its millisecond", errCheck, batch, ts, logical,
			rootcoord.MaxTimestampCount)
	case phys.Before(c.notBefore):
		return 0, fmt.Errorf("%w: timestamp %d has physical time %s, before the rootcoord "+
			"started (%s)", errCheck, ts, phys.Format(time.RFC3339Nano),
			c.notBefore.Format(time.RFC3339Nano))
	case lead > maxLead:
		return 0, fmt.Errorf("%w: timestamp %d has physical time %s, %v ahead of the clock",
			errCheck, ts, phys.Format(time.RFC3339Nano), lead)
	}
	return max(lead, 0), nil
}

// across checks the calls of all clients of a cell together: no two
// ranges of batch timestamps overlap, and a call sent after another was
// answered got a larger timestamp. It returns how many calls were sent
// after at least one other was answered, i.e. were checked for order.
func (c *checker) across(calls []call, batch uint32) (int, error) {
	if err := noOverlap(calls, batch); err != nil {
		return 0, err
	}
	return realTimeOrder(calls)
}

func noOverlap(calls []call, batch uint32) error {
	byTS := slices.Clone(calls)
	slices.SortFunc(byTS, func(a, b call) int { return cmp.Compare(a.ts, b.ts) })
	for i := 1; i < len(byTS); i++ {
		prevEnd := byTS[i-1].ts + uint64(batch) - 1
		if byTS[i].ts <= prevEnd {
			return fmt.Errorf("%w: two calls got overlapping ranges: %d..%d and %d..%d",
				errCheck, byTS[i-1].ts, prevEnd, byTS[i].ts, byTS[i].ts+uint64(batch)-1)
		}
	}
	return nil
}

// realTimeOrder sweeps the calls in the order they were sent, keeping the
// largest timestamp of the calls answered before the current one was
// sent.
func realTimeOrder(calls []call) (int, error) {
	byStart := slices.Clone(calls)
	slices.SortFunc(byStart, func(a, b call) int { return cmp.Compare(a.start, b.start) })
	byEnd := slices.Clone(calls)
	slices.SortFunc(byEnd, func(a, b call) int { return cmp.Compare(a.end, b.end) })
	var top call // the answered call with the largest timestamp so far
	checked, j := 0, 0
	for _, cur := range byStart {
		for ; j < len(byEnd) && byEnd[j].end < cur.start; j++ {
			if byEnd[j].ts > top.ts {
				top = byEnd[j]
			}
		}
		if j == 0 {
			continue
		}
		checked++
		if cur.ts <= top.ts {
			return checked, fmt.Errorf("%w: a call sent at +%v got timestamp %d, but a call "+
				"answered earlier, at +%v, had got %d", errCheck, cur.start, cur.ts, top.end, top.ts)
		}
	}
	return checked, nil
}
