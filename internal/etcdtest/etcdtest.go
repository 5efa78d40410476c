// Package etcdtest starts a real embedded etcd member for tests, on free
// loopback ports in a temporary directory.
package etcdtest

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/batonhq/baton/internal/etcdserver"
)

// Cluster is one running member and a client connected to it.
type Cluster struct {
	Server   *etcdserver.Server
	Endpoint string
	Client   *clientv3.Client
}

// Start starts a member that is stopped when the test ends.
func Start(t testing.TB) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := etcdserver.Start(ctx, etcdserver.Config{
		DataDir:   t.TempDir(),
		ClientURL: "http://" + FreeAddr(t),
		PeerURL:   "http://" + FreeAddr(t),
	})
	if err != nil {
		t.Fatalf("start embedded etcd: %v", err)
	}
	t.Cleanup(srv.Close)
	c := &Cluster{Server: srv, Endpoint: srv.Endpoint()}
	c.Client = c.NewClient(t)
	return c
}

// NewClient returns a new client of the member, closed when the test ends.
func (c *Cluster) NewClient(t testing.TB) *clientv3.Client {
	t.Helper()
	return NewClient(t, c.Endpoint)
}

// NewClient returns a client of endpoint, closed when the test ends.
func NewClient(t testing.TB, endpoint string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{endpoint},
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("etcd client: %v", err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// FreeAddr returns a loopback host:port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr())
}
