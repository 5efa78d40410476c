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
		addr     string
		conn     *grpc.ClientConn
		asked    time.Time
		holder   int64 // server ID the last identity check was about
		mismatch bool  // its verdict
	}
}

func (p *prober) probe(ctx context.Context, h election.Holder) bool {
	if standby.RefusedProbe(ctx, h) {
		return true
	}
	conn, due, verdict := p.identityCheck(h)
	if !due {
		return verdict
	}
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	st, err := batonv1.NewCoordinatorClient(conn).GetStatus(cctx, &batonv1.GetStatusRequest{})
	mismatch := err == nil && st.GetRole() == h.Info.Role &&
		st.GetServerId() != int64(h.Info.ServerID)
	p.mu.Lock()
	p.mu.mismatch = mismatch
	p.mu.Unlock()
	return mismatch
}

// identityCheck says whether it is time to ask who listens at h's address
// (and with which connection); if not, it returns the last verdict for h.
func (p *prober) identityCheck(h election.Holder) (*grpc.ClientConn, bool, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	addr, id := h.Info.Address, int64(h.Info.ServerID)
	if p.mu.holder == id && p.mu.addr == addr && time.Since(p.mu.asked) < identityEvery {
		return nil, false, p.mu.mismatch
	}
	p.mu.asked, p.mu.holder, p.mu.mismatch = time.Now(), id, false
	if p.mu.conn == nil || p.mu.addr != addr {
		if p.mu.conn != nil {
			_ = p.mu.conn.Close()
		}
		// No service config from DNS: its TXT lookup can stall resolution
		// for seconds where the name server drops such queries (a Docker
		// internal network), and Baton publishes none.
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDisableServiceConfig())
		if err != nil {
			p.mu.conn = nil
			return nil, false, false
		}
		p.mu.addr, p.mu.conn = addr, conn
	}
	return p.mu.conn, true, false
}

func (p *prober) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.conn != nil {
		_ = p.mu.conn.Close()
		p.mu.conn = nil
	}
}
