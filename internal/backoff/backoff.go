// Package backoff provides a jittered exponential backoff that honours a context.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is a jittered exponential backoff from 50 ms up to 1 s.
type Backoff struct {
	cur time.Duration
}

const (
	backoffMin = 50 * time.Millisecond
	backoffMax = time.Second
)

// New returns a backoff starting at 50 ms.
func New() *Backoff { return &Backoff{cur: backoffMin} }

// Reset starts again from the smallest delay.
func (b *Backoff) Reset() { b.cur = backoffMin }

// Next returns the next delay: a random point in [cur/2, cur), then doubles
// cur up to the ceiling.
func (b *Backoff) Next() time.Duration {
	d := b.cur/2 + rand.N(b.cur/2+1)
	b.cur = min(b.cur*2, backoffMax)
	return d
}

// Wait sleeps for the next delay or until ctx is done.
func (b *Backoff) Wait(ctx context.Context) error {
	t := time.NewTimer(b.Next())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
