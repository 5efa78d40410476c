package testproxy_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/leakcheck"
	"github.com/batonhq/baton/internal/testproxy"
)

// echoServer answers every line with the same line until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(c, c) })
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// roundTrip writes a line and reads the answer, waiting at most wait.
func roundTrip(c net.Conn, line string, wait time.Duration) (string, error) {
	_ = c.SetDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	return got[:len(got)-1], nil
}

func mustEcho(t *testing.T, c net.Conn, line string) {
	t.Helper()
	got, err := roundTrip(c, line, 5*time.Second)
	if err != nil || got != line {
		t.Fatalf("echo of %q: got %q, %v", line, got, err)
	}
}

// closedByPeer reports whether reading c ends with EOF or a reset within
// wait, rather than a timeout.
func closedByPeer(c net.Conn, wait time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(wait))
	_, err := c.Read(make([]byte, 1))
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

func TestForwards(t *testing.T) {
	leakcheck.Check(t)
	p := testproxy.New(t, echoServer(t))
	a, b := dial(t, p.Addr()), dial(t, p.Addr())
	mustEcho(t, a, "hello")
	mustEcho(t, b, "world")
	mustEcho(t, a, "again")
}

func TestBlockClosesOpenConnections(t *testing.T) {
	for _, mode := range []testproxy.Mode{testproxy.Refuse, testproxy.Blackhole} {
		t.Run(mode.String(), func(t *testing.T) {
			leakcheck.Check(t)
			p := testproxy.New(t, echoServer(t))
			c := dial(t, p.Addr())
			mustEcho(t, c, "before")
			p.Block(mode)
			if !closedByPeer(c, 5*time.Second) {
				t.Fatal("an open connection was not closed by Block")
			}
		})
	}
}

func TestRefuseClosesNewConnections(t *testing.T) {
	leakcheck.Check(t)
	p := testproxy.New(t, echoServer(t))
	p.Block(testproxy.Refuse)
	c := dial(t, p.Addr())
	if !closedByPeer(c, 5*time.Second) {
		t.Fatal("a new connection to a refusing proxy was not closed")
	}

	p.Restore()
	mustEcho(t, dial(t, p.Addr()), "after restore")
}

func TestBlackholeIsSilentUntilRestore(t *testing.T) {
	leakcheck.Check(t)
	p := testproxy.New(t, echoServer(t))
	p.Block(testproxy.Blackhole)
	c := dial(t, p.Addr())
	_, err := roundTrip(c, "into the void", 300*time.Millisecond)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("blackholed connection: want silence (a read timeout), got %v", err)
	}

	// The held connection is forwarded on Restore, bytes sent during the
	// cut included.
	p.Restore()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || got != "into the void\n" {
		t.Fatalf("held connection after Restore: got %q, %v", got, err)
	}
	mustEcho(t, c, "still there")
	mustEcho(t, dial(t, p.Addr()), "new connection")
}

func TestCloseStopsEverything(t *testing.T) {
	leakcheck.Check(t)
	p, err := testproxy.Start(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	open := dial(t, p.Addr())
	mustEcho(t, open, "open")
	p.Block(testproxy.Blackhole)
	held := dial(t, p.Addr())

	p.Close()
	if !closedByPeer(open, 5*time.Second) || !closedByPeer(held, 5*time.Second) {
		t.Fatal("Close left a connection open")
	}
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		_ = c.Close()
		t.Fatal("the proxy still accepts after Close")
	}
	p.Restore() // must not restart anything
}

func TestUnreachableTarget(t *testing.T) {
	leakcheck.Check(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := ln.Addr().String()
	_ = ln.Close()
	p := testproxy.New(t, target)
	if !closedByPeer(dial(t, p.Addr()), 5*time.Second) {
		t.Fatal("a connection to a proxy whose target is down was not closed")
	}
}
