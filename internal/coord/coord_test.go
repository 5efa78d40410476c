package coord

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
	"github.com/batonhq/baton/internal/config"
	"github.com/batonhq/baton/internal/etcdtest"
	"github.com/batonhq/baton/internal/rootcoord"
	"github.com/batonhq/baton/pkg/election"
	"github.com/batonhq/baton/pkg/session"
)

// runRootCoord runs a rootcoord in this process on a free port and
// returns its address and a stop function that waits for it.
func runRootCoord(t *testing.T, c *etcdtest.Cluster) (string, func() error) {
	t.Helper()
	cfg := config.Default()
	cfg.Etcd.Endpoints = []string{c.Endpoint}
	cfg.Common.SessionTTL = 2 * time.Second
	cfg.RootCoord.ActiveStandby = true
	addr := etcdtest.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cfg.RootCoord.Port, _ = strconv.Atoi(port)

	log := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, Options{
			Role: "rootcoord", Config: cfg, Client: c.Client, Logger: log,
			Impl: rootcoord.New(c.Client, cfg.Etcd.RootPath, log, true),
		})
	}()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("coordinator did not stop within 10s")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return addr, stop
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// waitState polls GetStatus until the coordinator reports want.
func waitState(t *testing.T, conn *grpc.ClientConn, want batonv1.State) *batonv1.GetStatusResponse {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last *batonv1.GetStatusResponse
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := batonv1.NewCoordinatorClient(conn).GetStatus(ctx, &batonv1.GetStatusRequest{})
		cancel()
		if err == nil && st.State == want {
			return st
		}
		last = st
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("state %v never reached; last status %v", want, last)
	return nil
}

func healthOf(t *testing.T, conn *grpc.ClientConn, svc string) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
	if err != nil {
		t.Fatalf("health check %q: %v", svc, err)
	}
	return resp.Status
}

func TestStandbyRefusesWithActiveInDetails(t *testing.T) {
	c := etcdtest.Start(t)
	addrA, _ := runRootCoord(t, c)
	connA := dial(t, addrA)
	stA := waitState(t, connA, batonv1.State_STATE_ACTIVE)
	addrB, _ := runRootCoord(t, c)
	connB := dial(t, addrB)
	stB := waitState(t, connB, batonv1.State_STATE_STANDBY)

	// Health: SERVING only on the active, for "" and for the gated service.
	for _, svc := range []string{"", "baton.v1.RootCoord"} {
		if got := healthOf(t, connA, svc); got != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("active health %q = %v", svc, got)
		}
		if got := healthOf(t, connB, svc); got != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("standby health %q = %v", svc, got)
		}
	}

	// A business call on the standby: UNAVAILABLE naming the active.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := batonv1.NewRootCoordClient(connB).AllocTimestamp(ctx, &batonv1.AllocTimestampRequest{Count: 1})
	na := notActiveOf(t, err)
	if na.ActiveServerId != stA.ServerId || na.ActiveAddress != addrA || na.ServerId != stB.ServerId {
		t.Fatalf("NotActive detail %+v; want active %d at %s", na, stA.ServerId, addrA)
	}

	// A call that names another server ID is refused even by the active.
	mctx := metadata.AppendToOutgoingContext(ctx, ServerIDHeader, strconv.FormatInt(stA.ServerId+100, 10))
	_, err = batonv1.NewRootCoordClient(connA).AllocTimestamp(mctx, &batonv1.AllocTimestampRequest{Count: 1})
	notActiveOf(t, err)

	// The right server ID is served.
	mctx = metadata.AppendToOutgoingContext(ctx, ServerIDHeader, strconv.FormatInt(stA.ServerId, 10))
	if _, err := batonv1.NewRootCoordClient(connA).AllocTimestamp(mctx, &batonv1.AllocTimestampRequest{Count: 1}); err != nil {
		t.Fatalf("active refused its own server ID: %v", err)
	}
}

func notActiveOf(t *testing.T, err error) *batonv1.NotActive {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != codes.Unavailable {
		t.Fatalf("got %v, want UNAVAILABLE", err)
	}
	for _, d := range st.Details() {
		if na, ok := d.(*batonv1.NotActive); ok {
			return na
		}
	}
	t.Fatalf("UNAVAILABLE without a NotActive detail: %v", err)
	return nil
}

// TestStopHandsOver stops the active in process: it must resign, so the
// standby is active long before the 2 s TTL could lapse.
func TestStopHandsOver(t *testing.T) {
	c := etcdtest.Start(t)
	addrA, stopA := runRootCoord(t, c)
	waitState(t, dial(t, addrA), batonv1.State_STATE_ACTIVE)
	addrB, _ := runRootCoord(t, c)
	connB := dial(t, addrB)
	waitState(t, connB, batonv1.State_STATE_STANDBY)

	start := time.Now()
	if err := stopA(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	waitState(t, connB, batonv1.State_STATE_ACTIVE)
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Fatalf("hand-over took %v", took)
	}
	h, ok, err := election.ReadHolder(context.Background(), c.Client, "by-dev/meta/session/rootcoord")
	if err != nil || !ok || h.Info.Address != addrB {
		t.Fatalf("ACTIVE key after hand-over: %+v ok=%v err=%v", h, ok, err)
	}
}

func TestGateDrainsInFlight(t *testing.T) {
	c := etcdtest.Start(t)
	ctx := context.Background()
	s, err := session.New(ctx, c.Client, "gate", "rootcoord", "x:1", session.WithTTL(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	term, _, err := election.NewCandidate(s, nil).Campaign(ctx)
	if err != nil || term == nil {
		t.Fatalf("campaign: %v", err)
	}
	defer term.End(nil)

	var g gate
	if g.enter() != nil {
		t.Fatal("a closed gate admitted a call")
	}
	g.open(term)
	if g.enter() == nil || g.enter() == nil {
		t.Fatal("an open gate refused a call")
	}
	if left := g.close(50 * time.Millisecond); left != 2 {
		t.Fatalf("close with two calls in flight reported %d left", left)
	}
	if g.enter() != nil {
		t.Fatal("a closed gate admitted a call")
	}
	done := make(chan int)
	go func() { done <- g.close(5 * time.Second) }()
	g.leave()
	g.leave()
	select {
	case left := <-done:
		if left != 0 {
			t.Fatalf("close after the calls left reported %d", left)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("close did not return when the last call left")
	}

	// A term whose lease is no longer certain admits nothing.
	g.open(term)
	term.End(nil)
	if g.enter() != nil {
		t.Fatal("the gate admitted a call under an ended term")
	}
}
