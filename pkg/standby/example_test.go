package standby_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/batonhq/baton/internal/etcdserver"
	"github.com/batonhq/baton/pkg/election"
	"github.com/batonhq/baton/pkg/session"
	"github.com/batonhq/baton/pkg/standby"
)

// startEtcd starts an embedded etcd on free loopback ports in a temporary
// directory and returns a client of it and a function that stops both.
func startEtcd() (*clientv3.Client, func()) {
	dir, err := os.MkdirTemp("", "baton-example-")
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := etcdserver.Start(ctx, etcdserver.Config{
		DataDir:   dir,
		ClientURL: "http://" + freeAddr(),
		PeerURL:   "http://" + freeAddr(),
	})
	if err != nil {
		log.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{srv.Endpoint()},
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	return cli, func() {
		_ = cli.Close()
		srv.Close()
		_ = os.RemoveAll(dir)
	}
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// coordinator is the part of a process that serves while it is active.
type coordinator struct{ name string }

func (c *coordinator) Activate(ctx context.Context, term *election.Term) error {
	fmt.Println(c.name, "activated")
	return nil
}

func (c *coordinator) Deactivate(reason error) {
	fmt.Println(c.name, "deactivated:", reason)
}

// join registers a session for a process and returns its member.
func join(cli *clientv3.Client, name, addr string, opts ...standby.Option) *standby.Member {
	s, err := session.New(context.Background(), cli, "by-dev", "rootcoord", addr,
		session.WithTTL(2*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	return standby.New(s, &coordinator{name: name}, opts...)
}

// run starts m and returns a function that stops it and waits for Run.
func run(m *standby.Member) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

// waitState polls until m is in state st, for at most ten seconds.
func waitState(m *standby.Member, st standby.State) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if got, _ := m.State(); got == st {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("timed out waiting for", st)
}

// Two processes form an active-standby group; when the active stops, the
// standby takes over. A third, with standby disabled, refuses to start.
func Example() {
	cli, stop := startEtcd()
	defer stop()

	// 1. The first member becomes ACTIVE, the second waits as STANDBY.
	a := join(cli, "a", "10.0.0.1:19530")
	stopA := run(a)
	waitState(a, standby.Active)
	b := join(cli, "b", "10.0.0.2:19530")
	stopB := run(b)
	waitState(b, standby.Standby)
	h, _ := b.Holder()
	fmt.Println("b is STANDBY behind", h.Info.Address)

	// 2. Stopping a hands the role to b at once.
	if err := stopA(); err != nil {
		log.Fatal(err)
	}
	waitState(b, standby.Active)
	fmt.Println("b serving:", b.Serving())

	// 3. A member that may not wait reports the active instead.
	c := join(cli, "c", "10.0.0.3:19530", standby.WithStandby(false))
	fmt.Println(c.Run(context.Background()))

	if err := stopB(); err != nil {
		log.Fatal(err)
	}

	// Output:
	// a activated
	// b is STANDBY behind 10.0.0.1:19530
	// a deactivated: election: resigned
	// b activated
	// b serving: true
	// standby: rootcoord already has an active: server 2 at 10.0.0.2:19530
	// b deactivated: election: resigned
}
