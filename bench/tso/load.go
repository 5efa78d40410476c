package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
)

// callTimeout bounds one AllocTimestamp call; a call this slow is a
// failure, not a data point.
const callTimeout = 10 * time.Second

// call is one AllocTimestamp: when it was sent and answered (since the
// cell started, on the monotonic clock) and the first timestamp it got.
type call struct {
	start, end time.Duration
	ts         uint64
}

// clientResult is what one client of a cell saw.
type clientResult struct {
	calls []call // every call, warm-up included
	lat   []time.Duration
	lead  time.Duration // largest lead of a physical part over the wall clock
	err   error
}

// cell is one (clients, batch) measurement.
type cell struct {
	Clients     int           `json:"clients"`
	Batch       uint32        `json:"batch"`
	Calls       int           `json:"calls"`     // measured calls
	Elapsed     time.Duration `json:"elapsedNs"` // measured span
	CallsPerSec float64       `json:"callsPerSec"`
	TSPerSec    float64       `json:"timestampsPerSec"`
	P50         time.Duration `json:"p50Ns"`
	P99         time.Duration `json:"p99Ns"`
	P999        time.Duration `json:"p999Ns"`
	Max         time.Duration `json:"maxNs"`
	Checked     int           `json:"checkedCalls"`    // calls checked, warm-up included
	Ordered     int           `json:"realTimeChecked"` // calls checked for real-time order
	MaxLead     time.Duration `json:"maxLeadNs"`       // physical part ahead of the wall clock
	Note        string        `json:"note,omitempty"`
}

// runCell drives clients concurrent clients, client i on conns[i], for
// warm-up plus duration, checks every answer and summarises the measured
// calls.
func runCell(
	ctx context.Context,
	conns []*grpc.ClientConn,
	clients int,
	batch uint32,
	warmup, duration time.Duration,
	chk *checker,
) (cell, error) {
	// The first failure cancels the other clients and is the cell's error.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	results := make([]clientResult, clients)
	t0 := time.Now()
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = drive(ctx, conns[i], batch, t0, warmup, warmup+duration, chk)
			if err := results[i].err; err != nil {
				cancel(fmt.Errorf("client %d of %d, batch %d: %w", i+1, clients, batch, err))
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return cell{}, context.Cause(ctx)
	}
	return summarise(results, clients, batch, warmup, chk)
}

// drive is one client: it calls AllocTimestamp back to back until the
// cell's end, checking each answer as it comes. Calls sent at or after
// from are measured.
func drive(
	ctx context.Context,
	conn *grpc.ClientConn,
	batch uint32,
	t0 time.Time,
	from, until time.Duration,
	chk *checker,
) clientResult {
	var r clientResult
	rc := batonv1.NewRootCoordClient(conn)
	req := &batonv1.AllocTimestampRequest{Count: batch}
	var last uint64 // end of the previous range
	for {
		start := time.Since(t0)
		if start >= until {
			return r
		}
		resp, err := allocOnce(ctx, rc, req)
		end := time.Since(t0)
		if err != nil {
			r.err = fmt.Errorf("call %d: %w", len(r.calls)+1, err)
			return r
		}
		lead, err := chk.response(resp, batch, last, time.Now())
		if err != nil {
			r.err = fmt.Errorf("call %d: %w", len(r.calls)+1, err)
			return r
		}
		r.lead = max(r.lead, lead)
		last = resp.GetTimestamp() + uint64(batch) - 1
		r.calls = append(r.calls, call{start: start, end: end, ts: resp.GetTimestamp()})
		if start >= from {
			r.lat = append(r.lat, end-start)
		}
	}
}

func allocOnce(
	ctx context.Context,
	rc batonv1.RootCoordClient,
	req *batonv1.AllocTimestampRequest,
) (*batonv1.AllocTimestampResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return rc.AllocTimestamp(ctx, req)
}

// summarise checks the cell's calls across clients and computes its
// figures from the measured calls.
func summarise(
	results []clientResult,
	clients int,
	batch uint32,
	from time.Duration,
	chk *checker,
) (cell, error) {
	var all []call
	var lat []time.Duration
	var last time.Duration // end of the last measured call
	var lead time.Duration
	for _, r := range results {
		all = append(all, r.calls...)
		lat = append(lat, r.lat...)
		lead = max(lead, r.lead)
		for _, c := range r.calls {
			if c.start >= from {
				last = max(last, c.end)
			}
		}
	}
	ordered, err := chk.across(all, batch)
	if err != nil {
		return cell{}, fmt.Errorf("%d clients, batch %d: %w", clients, batch, err)
	}
	c := cell{Clients: clients, Batch: batch, Calls: len(lat), Checked: len(all),
		Ordered: ordered, MaxLead: lead}
	if len(lat) == 0 || last <= from {
		return c, fmt.Errorf("%d clients, batch %d: no call completed in the measured time",
			clients, batch)
	}
	c.Elapsed = last - from
	c.CallsPerSec = float64(len(lat)) / c.Elapsed.Seconds()
	c.TSPerSec = c.CallsPerSec * float64(batch)
	slices.Sort(lat)
	c.P50, c.P99, c.P999 = rank(lat, 0.50), rank(lat, 0.99), rank(lat, 0.999)
	c.Max = lat[len(lat)-1]
	return c, nil
}

// rank returns the q-quantile of sorted by nearest rank.
func rank(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(float64(len(sorted))*q)) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
