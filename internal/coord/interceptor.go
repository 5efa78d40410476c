package coord

import (
	"context"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
	"github.com/batonhq/baton/pkg/election"
	"github.com/batonhq/baton/pkg/standby"
)

// ServerIDHeader is the metadata key in which a client names the server ID
// it expects to reach.
const ServerIDHeader = "baton-server-id"

// unaryGate admits calls to gated services only through the gate.
func (s *Server) unaryGate(
	ctx context.Context,
	req any,
	info *grpc.UnaryServerInfo,
	handler grpc.UnaryHandler,
) (any, error) {
	if !s.gated(info.FullMethod) {
		return handler(ctx, req)
	}
	if err := s.checkServerID(ctx); err != nil {
		return nil, err
	}
	if s.gate.enter() == nil && !s.awaitActivation(ctx) {
		return nil, s.notActive(ctx, "this "+s.role+" is not the active")
	}
	defer s.gate.leave()
	return handler(ctx, req)
}

// activationWait bounds how long a call that reaches a member while it is
// ACTIVATING waits for it to open, instead of failing at once.
const activationWait = time.Second

// awaitActivation waits for an ACTIVATING member to open its gate and then
// admits the call; it reports false if the call was not admitted.
func (s *Server) awaitActivation(ctx context.Context) bool {
	opened := s.gate.openedCh()
	if s.gate.enter() != nil {
		return true // opened just now
	}
	if st, _ := s.member.State(); st != standby.Activating {
		return false
	}
	t := time.NewTimer(activationWait)
	defer t.Stop()
	select {
	case <-opened:
		return s.gate.enter() != nil
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

func (s *Server) gated(fullMethod string) bool {
	svc, _, ok := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	return ok && s.gatedSvcs[svc]
}

func (s *Server) checkServerID(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(ServerIDHeader)
	if len(vals) == 0 {
		return nil
	}
	want, err := strconv.ParseInt(vals[0], 10, 64)
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "metadata %s=%q is not a server ID",
			ServerIDHeader, vals[0])
	}
	if own := int64(s.sess.ServerID()); want != own {
		return s.notActive(ctx, "this address now serves "+s.role+" server "+
			strconv.FormatInt(own, 10)+", not server "+vals[0])
	}
	return nil
}

// notActive builds an UNAVAILABLE status naming the active, if known.
func (s *Server) notActive(ctx context.Context, msg string) error {
	detail := &batonv1.NotActive{Role: s.role, ServerId: int64(s.sess.ServerID())}
	h, ok := s.member.Holder()
	if !ok {
		// Between terms (the role just changed hands) the member does not
		// know the holder yet; etcd does.
		rctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		h, ok, _ = election.ReadHolder(rctx, s.sess.Client(), s.sess.Keys().Active(s.role))
		cancel()
	}
	if ok && h.Info.ServerID != s.sess.ServerID() {
		detail.ActiveServerId = int64(h.Info.ServerID)
		detail.ActiveAddress = h.Info.Address
		msg += "; the active is server " + strconv.FormatInt(detail.ActiveServerId, 10) +
			" at " + detail.ActiveAddress
	}
	if aerr := s.member.ActivationError(); aerr != nil {
		msg += "; this " + s.role + "'s last attempt to become active failed: " + aerr.Error()
	}
	st, err := status.New(codes.Unavailable, msg).WithDetails(detail)
	if err != nil {
		return status.Error(codes.Unavailable, msg)
	}
	return st.Err()
}
