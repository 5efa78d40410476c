package coord

import (
	"sync"
	"time"

	"github.com/batonhq/baton/pkg/election"
)

// gate lets business calls through only while open, and counts those in
// flight so closing can wait for them.
type gate struct {
	mu       sync.Mutex
	term     *election.Term
	inflight int
	drained  chan struct{}
	opened   chan struct{} // closed and replaced at every open
}

// open lets calls through under term.
func (g *gate) open(term *election.Term) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.term = term
	if g.opened != nil {
		close(g.opened)
	}
	g.opened = make(chan struct{})
}

// openedCh returns a channel closed at the next open.
func (g *gate) openedCh() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.opened == nil {
		g.opened = make(chan struct{})
	}
	return g.opened
}

// enter admits one call and returns its term, or nil if the gate is closed
// or the term is no longer valid.
func (g *gate) enter() *election.Term {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.term == nil || !g.term.Valid() {
		return nil
	}
	g.inflight++
	return g.term
}

// leave marks one admitted call as finished.
func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inflight--
	if g.inflight == 0 && g.drained != nil {
		close(g.drained)
		g.drained = nil
	}
}

// close stops admitting calls and waits up to timeout for those in flight.
// It returns how many were still running when it gave up.
func (g *gate) close(timeout time.Duration) int {
	g.mu.Lock()
	g.term = nil
	if g.inflight == 0 {
		g.mu.Unlock()
		return 0
	}
	if g.drained == nil {
		g.drained = make(chan struct{})
	}
	drained := g.drained
	g.mu.Unlock()

	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-drained:
		return 0
	case <-t.C:
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.inflight
	}
}
