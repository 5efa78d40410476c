package election_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/batonhq/baton/internal/etcdserver"
	"github.com/batonhq/baton/pkg/election"
	"github.com/batonhq/baton/pkg/session"
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

// Two processes campaign for the rootcoord role; the winner writes through
// its term, resigns, and the other takes over. The old term's writes are
// fenced from then on.
func Example() {
	cli, stop := startEtcd()
	defer stop()
	ctx := context.Background()

	// 1. Each process registers a session and becomes a candidate.
	a, err := session.New(ctx, cli, "by-dev", "rootcoord", "10.0.0.1:19530")
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close(ctx)
	b, err := session.New(ctx, cli, "by-dev", "rootcoord", "10.0.0.2:19530")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close(ctx)
	ca, cb := election.NewCandidate(a, nil), election.NewCandidate(b, nil)

	// 2. The first campaign wins; the second learns who won.
	term, _, err := ca.Campaign(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("a won:", term != nil)
	lost, holder, err := cb.Campaign(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("b won: %v; active is server %d at %s\n", lost != nil,
		holder.Info.ServerID, holder.Info.Address)

	// 3. The active writes through its term, fenced by its epoch.
	_, err = term.Txn(ctx, nil, clientv3.OpPut("by-dev/tso", "100"))
	fmt.Println("a writes:", err)

	// 4. a resigns; b, waiting for the role, wins it.
	if err := term.Resign(ctx); err != nil {
		log.Fatal(err)
	}
	if err := cb.WaitVacant(ctx, holder, nil); err != nil {
		log.Fatal(err)
	}
	next, _, err := cb.Campaign(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer next.Resign(ctx)
	fmt.Println("b won:", next != nil, "with a later epoch:", next.Epoch() > term.Epoch())

	// 5. Whatever a still tries to write is fenced.
	_, err = term.Txn(ctx, nil, clientv3.OpPut("by-dev/tso", "50"))
	fmt.Println("a writes again:", errors.Is(err, election.ErrFenced))

	// Output:
	// a won: true
	// b won: false; active is server 1 at 10.0.0.1:19530
	// a writes: <nil>
	// b won: true with a later epoch: true
	// a writes again: true
}
