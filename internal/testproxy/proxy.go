// Package testproxy is a TCP proxy on 127.0.0.1 for tests that need to cut a
// client off from a server it did not start, such as an etcd client from
// its embedded etcd, and to heal the cut later.
//
// A Proxy forwards every accepted connection to its target until Block is
// called. Block closes every open connection and, until Restore, treats new
// ones according to its Mode:
//
//   - Refuse closes each accepted connection at once, so a client sees its
//     connection attempts fail quickly (like a server that is down).
//   - Blackhole accepts connections and never answers, so a client sees
//     silence (like a network partition). On Restore the held connections
//     are forwarded as if nothing had happened; on Close they are closed.
//
// Every goroutine belongs to the Proxy; Close stops them and waits for them.
package testproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Mode says what a blocked proxy does with new connections.
type Mode int

// The modes of Block.
const (
	// Refuse closes each new connection as soon as it is accepted.
	Refuse Mode = iota + 1
	// Blackhole accepts new connections and holds them without forwarding.
	Blackhole
)

func (m Mode) String() string {
	switch m {
	case Refuse:
		return "refuse"
	case Blackhole:
		return "blackhole"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// dialTimeout bounds the connection to the target.
const dialTimeout = 5 * time.Second

// Proxy forwards TCP connections from Addr to a target. It is safe for
// concurrent use.
type Proxy struct {
	ln     net.Listener
	target string

	mu struct {
		sync.Mutex
		mode   Mode // 0 while forwarding
		open   map[net.Conn]struct{}
		held   []net.Conn
		closed bool
	}
	wg sync.WaitGroup
}

// Start listens on a free port of 127.0.0.1 and forwards to target.
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testproxy: listen on 127.0.0.1: %w", err)
	}
	p := &Proxy{ln: ln, target: target}
	p.mu.open = map[net.Conn]struct{}{}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// New starts a proxy to target that is closed when the test ends.
func New(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := Start(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Addr returns the host:port clients should dial.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Block closes every open connection and treats new ones by mode until
// Restore. A mode other than Blackhole is taken as Refuse.
func (p *Proxy) Block(mode Mode) {
	if mode != Blackhole {
		mode = Refuse
	}
	p.mu.Lock()
	p.mu.mode = mode
	open := p.takeOpenLocked()
	p.mu.Unlock()
	closeAll(open)
}

// Restore forwards again, starting with the connections held while
// blackholed.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.closed {
		return
	}
	p.mu.mode = 0
	for _, c := range p.mu.held {
		p.wg.Add(1)
		go p.forward(c)
	}
	p.mu.held = nil
}

// Close stops accepting, closes every connection and waits for the
// proxy's goroutines.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.mu.closed = true
	open := append(p.takeOpenLocked(), p.mu.held...)
	p.mu.held = nil
	p.mu.Unlock()
	_ = p.ln.Close()
	closeAll(open)
	p.wg.Wait()
}

func (p *Proxy) takeOpenLocked() []net.Conn {
	open := make([]net.Conn, 0, len(p.mu.open))
	for c := range p.mu.open {
		open = append(open, c)
	}
	clear(p.mu.open)
	return open
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		_ = c.Close()
	}
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				// Not expected on loopback; stop rather than spin.
				_ = p.ln.Close()
			}
			return
		}
		p.admit(c)
	}
}

// admit forwards, holds or closes a new connection according to the mode.
func (p *Proxy) admit(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.mu.closed || p.mu.mode == Refuse:
		_ = c.Close()
	case p.mu.mode == Blackhole:
		p.mu.held = append(p.mu.held, c)
	default:
		p.wg.Add(1)
		go p.forward(c)
	}
}

// forward dials the target and copies both ways until either side closes
// or the proxy closes them.
func (p *Proxy) forward(client net.Conn) {
	defer p.wg.Done()
	server, err := net.DialTimeout("tcp", p.target, dialTimeout)
	if err != nil {
		_ = client.Close()
		return
	}
	if !p.track(client, server) {
		_ = client.Close()
		_ = server.Close()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		pipe(server, client)
	}()
	pipe(client, server)
	<-done
	p.untrack(client, server)
}

// track records an open pair, unless the proxy was blocked or closed
// while the target was being dialled.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.closed || p.mu.mode != 0 {
		return false
	}
	for _, c := range conns {
		p.mu.open[c] = struct{}{}
	}
	return true
}

func (p *Proxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		delete(p.mu.open, c)
	}
}

// pipe copies src to dst, then closes both so the other direction ends too.
func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
}
