package etcdserver

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/etcd/pkg/v3/featuregate"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/features"
)

// Config describes one etcd member.
type Config struct {
	// Name of the member; "default" when empty.
	Name string
	// DataDir holds the member's WAL and snapshots.
	DataDir string
	// ClientURL is the URL the member listens on for clients,
	// e.g. http://127.0.0.1:2379.
	ClientURL string
	// PeerURL is the URL the member listens on for other members,
	// e.g. http://127.0.0.1:2380.
	PeerURL string
	// AdvertiseClientURL is the client URL told to the cluster, for when
	// ClientURL is not reachable as written (http://0.0.0.0:2379 in a
	// container). Empty means ClientURL.
	AdvertiseClientURL string
	// AdvertisePeerURL is the peer URL told to the other members; it must
	// match this member's entry in InitialCluster. Empty means PeerURL.
	AdvertisePeerURL string
	// InitialCluster lists every member as name=peerURL, comma separated.
	// Empty means a single-member cluster of this member.
	InitialCluster string
	// ClusterState is "new" (default) or "existing".
	ClusterState string
	// LogLevel is etcd's own log level: debug, info, warn or error.
	// Empty means "error", so etcd does not drown Baton's own log.
	LogLevel string
	// ReadyTimeout bounds how long Start waits for the member to serve.
	// Zero means one minute.
	ReadyTimeout time.Duration
}

// Server is a running embedded etcd member.
type Server struct {
	etcd    *embed.Etcd
	cfg     Config
	closing *atomic.Bool
}

// ErrNotReady is returned by Start when the member did not become ready
// within Config.ReadyTimeout.
var ErrNotReady = errors.New("etcdserver: member not ready")

// Start starts a member and blocks until it serves clients, ctx is done or
// the ready timeout passes.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	ecfg, err := embedConfig(cfg)
	if err != nil {
		return nil, err
	}
	closing := &atomic.Bool{}
	lg, err := newLogger(ecfg.LogLevel, closing)
	if err != nil {
		return nil, err
	}
	ecfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(lg)
	e, err := embed.StartEtcd(ecfg)
	if err != nil {
		hint := ""
		if errors.Is(err, syscall.EADDRINUSE) {
			hint = "; another process holds the port: stop it, or choose other ports with " +
				"--listen-client-urls and --listen-peer-urls"
		}
		return nil, fmt.Errorf("etcdserver: start member %q in %s: %w%s", ecfg.Name, cfg.DataDir, err, hint)
	}
	timeout := cfg.ReadyTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
		return &Server{etcd: e, cfg: cfg, closing: closing}, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcdserver: member %q failed: %w", ecfg.Name, err)
	case <-timer.C:
		e.Close()
		return nil, fmt.Errorf("%w after %v (are the other members of %q up?)",
			ErrNotReady, timeout, cfg.InitialCluster)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
}

// Endpoint returns the host:port clients should dial.
func (s *Server) Endpoint() string {
	u := s.etcd.Clients[0].Addr().String()
	return u
}

// Err reports a fatal error of the running member.
func (s *Server) Err() <-chan error { return s.etcd.Err() }

// Close stops the member and waits for it to release its files and ports.
func (s *Server) Close() {
	s.closing.Store(true)
	s.etcd.Close()
}

func embedConfig(cfg Config) (*embed.Config, error) {
	ecfg := embed.NewConfig()
	if cfg.Name != "" {
		ecfg.Name = cfg.Name
	}
	if cfg.DataDir == "" {
		return nil, errors.New("etcdserver: data dir is empty; pass --data-dir DIR")
	}
	ecfg.Dir = cfg.DataDir
	curl, err := parseURL("--listen-client-urls", cfg.ClientURL)
	if err != nil {
		return nil, err
	}
	purl, err := parseURL("--listen-peer-urls", cfg.PeerURL)
	if err != nil {
		return nil, err
	}
	acurl, err := parseAdvertiseURL("--advertise-client-urls", cfg.AdvertiseClientURL, curl)
	if err != nil {
		return nil, err
	}
	apurl, err := parseAdvertiseURL("--initial-advertise-peer-urls", cfg.AdvertisePeerURL, purl)
	if err != nil {
		return nil, err
	}
	ecfg.ListenClientUrls = []url.URL{*curl}
	ecfg.AdvertiseClientUrls = []url.URL{*acurl}
	ecfg.ListenPeerUrls = []url.URL{*purl}
	ecfg.AdvertisePeerUrls = []url.URL{*apurl}
	ecfg.InitialCluster = ecfg.Name + "=" + apurl.String()
	if cfg.InitialCluster != "" {
		ecfg.InitialCluster = cfg.InitialCluster
	}
	switch cfg.ClusterState {
	case "", embed.ClusterStateFlagNew:
		ecfg.ClusterState = embed.ClusterStateFlagNew
	case embed.ClusterStateFlagExisting:
		ecfg.ClusterState = embed.ClusterStateFlagExisting
	default:
		return nil, fmt.Errorf("etcdserver: --initial-cluster-state %q: want new or existing",
			cfg.ClusterState)
	}
	ecfg.LogLevel = "error"
	if cfg.LogLevel != "" {
		ecfg.LogLevel = cfg.LogLevel
	}
	gate, ok := ecfg.ServerFeatureGate.(featuregate.MutableFeatureGate)
	if !ok {
		return nil, errors.New("etcdserver: etcd feature gate is not settable")
	}
	checkpoint := fmt.Sprintf("%s=true,%s=true", features.LeaseCheckpoint, features.LeaseCheckpointPersist)
	if err := gate.Set(checkpoint); err != nil {
		return nil, fmt.Errorf("etcdserver: enable lease checkpointing: %w", err)
	}
	return ecfg, nil
}

// parseAdvertiseURL parses raw, or returns listen when raw is empty.
func parseAdvertiseURL(flag, raw string, listen *url.URL) (*url.URL, error) {
	if raw == "" {
		return listen, nil
	}
	return parseURL(flag, raw)
}

func parseURL(flag, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("etcdserver: %s is empty; give a URL such as http://127.0.0.1:2379", flag)
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Port() == "" {
		return nil, fmt.Errorf("etcdserver: %s %q is not a URL with host and port "+
			"(like http://127.0.0.1:2379)", flag, raw)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("etcdserver: %s %q: only http is supported", flag, raw)
	}
	return u, nil
}
