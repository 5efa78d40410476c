package refcoord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
)

// Log messages the benchmark waits for.
const (
	MsgStandby  = "waiting as a standby"
	MsgLeading  = "serving as the leader"
	MsgResigned = "resigned"
)

// ErrSessionLost is returned by Run when the session's lease expired
// while the process led.
var ErrSessionLost = errors.New("refcoord: session lost while leading")

// resignTimeout bounds the resignation at a clean stop.
const resignTimeout = 2 * time.Second

// Config describes one process.
type Config struct {
	// Endpoints are the etcd client endpoints.
	Endpoints []string
	// Address is the host:port to listen on; it is also the election
	// value, which clients dial.
	Address string
	// Prefix is the election prefix shared by every process of the group.
	Prefix string
	// TTL is the session lease TTL in seconds.
	TTL int
	// Logger receives the transitions.
	Logger *slog.Logger
}

// Run serves until ctx ends (a clean stop returns nil) or the session is
// lost while leading (ErrSessionLost).
func Run(ctx context.Context, cfg Config) error {
	// 1. Listen first, so a taken port fails at once.
	lis, err := net.Listen("tcp", cfg.Address)
	if err != nil {
		return fmt.Errorf("refcoord: listen on %s: %w", cfg.Address, err)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		_ = lis.Close()
		return fmt.Errorf("refcoord: etcd client: %w", err)
	}
	defer cli.Close()

	// 2. Answer from the start: a standby refuses with UNAVAILABLE.
	srv := &server{}
	g := grpc.NewServer()
	batonv1.RegisterRootCoordServer(g, srv)
	go func() { _ = g.Serve(lis) }()
	defer g.Stop()

	// 3. One session for the life of the process, and one campaign.
	sess, err := concurrency.NewSession(cli, concurrency.WithTTL(cfg.TTL))
	if err != nil {
		return fmt.Errorf("refcoord: session: %w", err)
	}
	defer sess.Close()
	e := concurrency.NewElection(sess, cfg.Prefix)
	cfg.Logger.Info(MsgStandby, "prefix", cfg.Prefix, "lease", int64(sess.Lease()))
	if err := e.Campaign(ctx, cfg.Address); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("refcoord: campaign on %s: %w", cfg.Prefix, err)
	}

	// 4. Lead until stopped or the lease is gone.
	srv.setLeading(true)
	cfg.Logger.Info(MsgLeading, "key", e.Key(), "revision", e.Rev())
	select {
	case <-ctx.Done():
		srv.setLeading(false)
		return resign(e, cfg.Logger)
	case <-sess.Done():
		srv.setLeading(false)
		return ErrSessionLost
	}
}

// resign gives the leadership up at once, so a standby need not wait for
// the lease.
func resign(e *concurrency.Election, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), resignTimeout)
	defer cancel()
	if err := e.Resign(ctx); err != nil {
		return fmt.Errorf("refcoord: resign: %w", err)
	}
	log.Info(MsgResigned)
	return nil
}
