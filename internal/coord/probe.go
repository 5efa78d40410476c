package coord

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
	"github.com/batonhq/baton/pkg/election"
	"github.com/batonhq/baton/pkg/standby"
)

// identityEvery bounds how often the prober asks the process at the
// active's address who it is.
const identityEvery = 250 * time.Millisecond

// prober decides that an active is dead when its port refuses connections,
// or when the process now listening there is another coordinator of the
// same role (the dead one's address was reused by a restart).
type prober struct {
	mu struct {
		sync.Mutex
		addr  string
		conn  *grpc.ClientConn
		asked time.Time
	}
}

func (p *prober) probe(ctx context.Context, h election.Holder) bool {
	if standby.RefusedProbe(ctx, h) {
		return true
	}
	conn := p.connFor(h.Info.Address)
	if conn == nil {
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	st, err := batonv1.NewCoordinatorClient(conn).GetStatus(cctx, &batonv1.GetStatusRequest{})
	if err != nil {
		return false
	}
	return st.GetRole() == h.Info.Role && st.GetServerId() != int64(h.Info.ServerID)
}

// connFor returns a connection to addr when an identity check is due.
func (p *prober) connFor(addr string) *grpc.ClientConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.mu.asked) < identityEvery {
		return nil
	}
	p.mu.asked = time.Now()
	if p.mu.conn != nil && p.mu.addr == addr {
		return p.mu.conn
	}
	if p.mu.conn != nil {
		_ = p.mu.conn.Close()
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		p.mu.conn = nil
		return nil
	}
	p.mu.addr, p.mu.conn = addr, conn
	return conn
}

func (p *prober) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.conn != nil {
		_ = p.mu.conn.Close()
		p.mu.conn = nil
	}
}
