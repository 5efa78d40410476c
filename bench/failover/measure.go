package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
)

// pollEvery is how often the poller asks the standby for a timestamp: the
// resolution of every "first success" figure.
const pollEvery = 2 * time.Millisecond

// gapPace is the pause between two calls of the client loop, so the loop
// does not take a whole core from the processes it measures.
const gapPace = time.Millisecond

// poller asks one member for timestamps directly, without discovery.
type poller struct {
	conn *grpc.ClientConn
	rc   batonv1.RootCoordClient
}

// newPoller connects to addr and makes one call, so the connection is up
// before anything is timed (a standby's refusal is expected).
func newPoller(ctx context.Context, addr string) (*poller, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	p := &poller{conn: conn, rc: batonv1.NewRootCoordClient(conn)}
	_ = p.call(ctx)
	return p, nil
}

func (p *poller) close() { _ = p.conn.Close() }

func (p *poller) call(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := p.rc.AllocTimestamp(cctx, &batonv1.AllocTimestampRequest{Count: 1})
	return err
}

// firstSuccess polls until a call succeeds and returns when its answer
// arrived; it gives up after timeout.
func (p *poller) firstSuccess(ctx context.Context, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if last = p.call(ctx); last == nil {
			return time.Now(), nil
		}
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		time.Sleep(pollEvery)
	}
	return time.Time{}, fmt.Errorf("no successful AllocTimestamp within %v; last error: %v",
		timeout, last)
}

// allocator is a client that follows the active across failovers:
// pkg/client for Baton, refcoord.Client for the reference group.
type allocator interface {
	AllocTimestamp(ctx context.Context, count uint32) (uint64, error)
	Close() error
}

// callLoop calls an allocator back to back in a goroutine and records when
// each call succeeded.
type callLoop struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu struct {
		sync.Mutex
		oks  []time.Time
		errs int
		err  error // the last error
		grew chan struct{}
	}
}

// startLoop starts calling a; each call may retry for up to callTimeout.
func startLoop(a allocator, callTimeout time.Duration) *callLoop {
	ctx, cancel := context.WithCancel(context.Background())
	l := &callLoop{cancel: cancel, done: make(chan struct{})}
	l.mu.grew = make(chan struct{})
	go func() {
		defer close(l.done)
		for ctx.Err() == nil {
			cctx, ccancel := context.WithTimeout(ctx, callTimeout)
			_, err := a.AllocTimestamp(cctx, 1)
			ccancel()
			l.record(ctx, err)
			time.Sleep(gapPace)
		}
	}()
	return l
}

func (l *callLoop) record(ctx context.Context, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil:
		l.mu.oks = append(l.mu.oks, time.Now())
		close(l.mu.grew)
		l.mu.grew = make(chan struct{})
	case ctx.Err() == nil:
		l.mu.errs++
		l.mu.err = err
	}
}

// waitSuccessAfter waits until a call succeeded after t, and returns when.
func (l *callLoop) waitSuccessAfter(
	ctx context.Context,
	t time.Time,
	timeout time.Duration,
) (time.Time, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		l.mu.Lock()
		n, grew, last := len(l.mu.oks), l.mu.grew, l.mu.err
		var at time.Time
		if n > 0 {
			at = l.mu.oks[n-1]
		}
		l.mu.Unlock()
		if n > 0 && at.After(t) {
			return at, nil
		}
		select {
		case <-grew:
		case <-timer.C:
			return time.Time{}, fmt.Errorf("client loop: no success within %v; last error: %v",
				timeout, last)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// stop ends the loop and returns the success times and the failed calls.
func (l *callLoop) stop() ([]time.Time, int, error) {
	l.cancel()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.oks, l.mu.errs, l.mu.err
}

// longestGap returns the longest time between two consecutive successes.
func longestGap(oks []time.Time) time.Duration {
	var gap time.Duration
	for i := 1; i < len(oks); i++ {
		gap = max(gap, oks[i].Sub(oks[i-1]))
	}
	return gap
}
