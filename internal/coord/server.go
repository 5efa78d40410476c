package coord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
	"github.com/batonhq/baton/internal/config"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/version"
	"github.com/batonhq/baton/pkg/election"
	"github.com/batonhq/baton/pkg/session"
	"github.com/batonhq/baton/pkg/standby"
)

// Role is what a coordinator does as the active of its role.
type Role interface {
	standby.Handler
	// Register adds the role's gRPC services.
	Register(grpc.ServiceRegistrar)
	// GatedServices lists the full names of services only the active
	// answers.
	GatedServices() []string
}

// Background is implemented by roles that work for the whole life of the
// process, whatever its state (a warm standby following the role's state).
type Background interface {
	Start()
	Stop()
}

// Options describe one coordinator process.
type Options struct {
	Role   string // "rootcoord", "datacoord" or "querycoord"
	Config *config.Config
	Client *clientv3.Client
	Logger *slog.Logger
	// Impl is the role's implementation.
	Impl Role
	// Metrics, if set, receives state changes and activation times.
	Metrics *metrics.Metrics
	// Ready, if set, is called with the listening address once the
	// server accepts connections.
	Ready func(addr net.Addr)
}

// Server is one running coordinator process.
type Server struct {
	batonv1.UnimplementedCoordinatorServer

	role      string
	cfg       *config.Config
	log       *slog.Logger
	impl      Role
	sess      *session.Session
	member    *standby.Member
	grpc      *grpc.Server
	health    *health.Server
	gate      gate
	gatedSvcs map[string]bool
	prober    prober
	metrics   *metrics.Metrics
}

// Run runs a coordinator until ctx is cancelled (a clean stop returns nil)
// or it cannot go on.
func Run(ctx context.Context, o Options) error {
	// 1. Listen first, so a taken port fails at once.
	cc, err := o.Config.Coord(o.Role)
	if err != nil {
		return err
	}
	lis, err := listen(o.Role, cc)
	if err != nil {
		return err
	}
	defer lis.Close()
	advertised := net.JoinHostPort(cc.Address, strconv.Itoa(cc.Port))

	// 2. Register the session (waits for etcd).
	sess, err := session.New(ctx, o.Client, o.Config.Etcd.RootPath, o.Role, advertised,
		session.WithTTL(o.Config.Common.SessionTTL), session.WithLogger(o.Logger),
		session.WithVersion(version.Version))
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("%s: register session: %w", o.Role, err)
	}
	log := o.Logger.With("role", o.Role, "serverID", int64(sess.ServerID()))

	// 3. Wire the gRPC server and the member.
	s := newServer(o, cc, sess, log)
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.grpc.Serve(lis) }()
	if o.Ready != nil {
		o.Ready(lis.Addr())
	}
	log.Info("coordinator started", "address", advertised, "listen", lis.Addr().String(),
		"activeStandby", cc.ActiveStandby)

	// 4. Campaign and serve until stopped.
	if bg, ok := o.Impl.(Background); ok {
		bg.Start()
		defer bg.Stop()
	}
	runErr := s.member.Run(ctx)
	s.prober.close()
	s.stopGRPC()
	if err := <-serveErr; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		log.Warn("grpc server stopped with an error", "err", err)
	}
	if runErr == nil {
		log.Info("coordinator stopped")
	}
	return s.explain(runErr)
}

func newServer(o Options, cc *config.CoordConfig, sess *session.Session, log *slog.Logger) *Server {
	s := &Server{
		role:      o.Role,
		cfg:       o.Config,
		log:       log,
		impl:      o.Impl,
		sess:      sess,
		health:    health.NewServer(),
		gatedSvcs: map[string]bool{},
		metrics:   o.Metrics,
	}
	for _, svc := range o.Impl.GatedServices() {
		s.gatedSvcs[svc] = true
	}
	s.grpc = grpc.NewServer(grpc.ChainUnaryInterceptor(s.unaryGate))
	healthpb.RegisterHealthServer(s.grpc, s.health)
	batonv1.RegisterCoordinatorServer(s.grpc, s)
	o.Impl.Register(s.grpc)
	s.setHealth(false)
	opts := []standby.Option{
		standby.WithStandby(cc.ActiveStandby),
		standby.WithLogInterval(o.Config.Common.StandbyLogInterval),
		standby.WithLogger(o.Logger),
	}
	if o.Config.Common.FastDetection {
		opts = append(opts, standby.WithProbe(s.prober.probe))
	}
	if o.Metrics != nil {
		opts = append(opts, standby.WithStateHook(o.Metrics.StateHook(o.Role)),
			standby.WithEvictHook(o.Metrics.EvictHook(o.Role)))
	}
	s.member = standby.New(sess, s, opts...)
	return s
}

func listen(role string, cc *config.CoordConfig) (net.Listener, error) {
	// An IP address is bound as given; localhost means loopback only; any
	// other host name binds every interface (the name is what others dial).
	host := ""
	if ip := net.ParseIP(cc.Address); ip != nil {
		host = cc.Address
	} else if strings.EqualFold(cc.Address, "localhost") {
		host = "127.0.0.1"
	}
	addr := net.JoinHostPort(host, strconv.Itoa(cc.Port))
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w; choose another port with --port "+
			"(baton run %s), %s.port in the config file or BATON_%s_PORT",
			role, addr, err, role, sectionOf(role), strings.ToUpper(sectionOf(role)))
	}
	return lis, nil
}

// Activate implements standby.Handler: the role loads its state, then the
// gate opens.
func (s *Server) Activate(ctx context.Context, term *election.Term) error {
	start := time.Now()
	if err := s.impl.Activate(ctx, term); err != nil {
		return err
	}
	s.gate.open(term)
	s.setHealth(true)
	if s.metrics != nil {
		s.metrics.ObserveActivation(s.role, time.Since(start))
	}
	return nil
}

// Deactivate implements standby.Handler: the gate closes and drains before
// the role lets its state go.
func (s *Server) Deactivate(reason error) {
	s.setHealth(false)
	if left := s.gate.close(s.cfg.Common.ShutdownTimeout); left > 0 {
		s.log.Warn("calls still running after the shutdown timeout", "calls", left,
			"timeout", s.cfg.Common.ShutdownTimeout)
	}
	s.impl.Deactivate(reason)
}

func (s *Server) setHealth(serving bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		st = healthpb.HealthCheckResponse_SERVING
	}
	s.health.SetServingStatus("", st)
	for svc := range s.gatedSvcs {
		s.health.SetServingStatus(svc, st)
	}
}

func (s *Server) stopGRPC() {
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		s.grpc.Stop()
		<-done
	}
}

// explain turns a refusal to run as a standby into one clear line.
func (s *Server) explain(err error) error {
	var exists *standby.ActiveExistsError
	if !errors.As(err, &exists) {
		return err
	}
	sec := sectionOf(s.role)
	return fmt.Errorf("%s already has an active: server %d at %s; to run this process as its "+
		"standby, set %s.activeStandby.enabled=true (or %s=true) on every %s",
		s.role, exists.Holder.Info.ServerID, exists.Holder.Info.Address, sec,
		enableEnvOf(s.role), s.role)
}

// GetStatus implements batonv1.CoordinatorServer.
func (s *Server) GetStatus(
	context.Context,
	*batonv1.GetStatusRequest,
) (*batonv1.GetStatusResponse, error) {
	st, since := s.member.State()
	resp := &batonv1.GetStatusResponse{
		Role:        s.role,
		ServerId:    int64(s.sess.ServerID()),
		Address:     s.sess.Info().Address,
		State:       toProtoState(st),
		SinceUnixMs: since.UnixMilli(),
	}
	if term := s.member.Term(); term != nil && st == standby.Active {
		resp.Epoch = term.Epoch()
	}
	if h, ok := s.member.Holder(); ok {
		resp.ActiveServerId = int64(h.Info.ServerID)
		resp.ActiveAddress = h.Info.Address
	}
	return resp, nil
}

func toProtoState(st standby.State) batonv1.State {
	switch st {
	case standby.Starting:
		return batonv1.State_STATE_STARTING
	case standby.Standby:
		return batonv1.State_STATE_STANDBY
	case standby.Activating:
		return batonv1.State_STATE_ACTIVATING
	case standby.Active:
		return batonv1.State_STATE_ACTIVE
	case standby.Stopping:
		return batonv1.State_STATE_STOPPING
	}
	return batonv1.State_STATE_UNSPECIFIED
}
