package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"

	"github.com/batonhq/baton/internal/config"
	"github.com/batonhq/baton/internal/coord"
	"github.com/batonhq/baton/internal/datacoord"
	"github.com/batonhq/baton/internal/etcdserver"
	"github.com/batonhq/baton/internal/logging"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/querycoord"
	"github.com/batonhq/baton/internal/rootcoord"
)

func newRunCmd() *cobra.Command {
	run := &cobra.Command{
		Use:   "run",
		Short: "Run etcd, a coordinator, or everything in one process",
	}
	run.AddCommand(newRunEtcdCmd(), newRunStandaloneCmd())
	for _, role := range config.Roles() {
		run.AddCommand(newRunRoleCmd(role))
	}
	return run
}

type etcdFlags struct {
	dataDir, clientURL, peerURL, name, initialCluster, clusterState, logLevel string
	advertiseClientURL, advertisePeerURL                                      string
}

func (f *etcdFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.dataDir, "data-dir", filepath.Join("baton-data", "etcd"), "etcd data directory")
	fl.StringVar(&f.clientURL, "listen-client-urls", "http://127.0.0.1:2379",
		"URL clients connect to (also advertised unless --advertise-client-urls is set)")
	fl.StringVar(&f.peerURL, "listen-peer-urls", "http://127.0.0.1:2380",
		"URL other etcd members connect to (also advertised unless "+
			"--initial-advertise-peer-urls is set)")
	fl.StringVar(&f.advertiseClientURL, "advertise-client-urls", "",
		"client URL told to the cluster (default: --listen-client-urls)")
	fl.StringVar(&f.advertisePeerURL, "initial-advertise-peer-urls", "",
		"peer URL told to the other members; must match --initial-cluster "+
			"(default: --listen-peer-urls)")
	fl.StringVar(&f.name, "name", "default", "member name")
	fl.StringVar(&f.initialCluster, "initial-cluster", "",
		"all members as name=peerURL,... (empty: a single-member cluster)")
	fl.StringVar(&f.clusterState, "initial-cluster-state", "new", "new or existing")
	fl.StringVar(&f.logLevel, "etcd-log-level", "error", "etcd's own log level")
}

func (f *etcdFlags) config() etcdserver.Config {
	return etcdserver.Config{
		Name: f.name, DataDir: f.dataDir, ClientURL: f.clientURL, PeerURL: f.peerURL,
		AdvertiseClientURL: f.advertiseClientURL, AdvertisePeerURL: f.advertisePeerURL,
		InitialCluster: f.initialCluster, ClusterState: f.clusterState, LogLevel: f.logLevel,
	}
}

func newRunEtcdCmd() *cobra.Command {
	var f etcdFlags
	cmd := &cobra.Command{
		Use:   "etcd",
		Short: "Run an embedded etcd member",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logging.New(os.Stderr, "info", "text")
			if err != nil {
				return err
			}
			srv, err := etcdserver.Start(cmd.Context(), f.config())
			if err != nil {
				return err
			}
			defer srv.Close()
			log.Info("etcd is serving", "client", f.clientURL, "peer", f.peerURL,
				"advertiseClient", f.advertiseClientURL, "advertisePeer", f.advertisePeerURL,
				"dataDir", f.dataDir, "leaseCheckpoint", true)
			select {
			case <-cmd.Context().Done():
				log.Info("etcd stopping")
				return nil
			case err := <-srv.Err():
				return fmt.Errorf("etcd failed: %w", err)
			}
		},
	}
	f.register(cmd)
	return cmd
}

type roleFlags struct {
	configFile string
	port       int
}

// loadConfig applies defaults < file < environment < flags and validates.
func loadConfig(cmd *cobra.Command, file string, role string, port int) (*config.Config, error) {
	cfg, err := config.Load(file, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	if role != "" && cmd.Flags().Changed("port") {
		cc, err := cfg.Coord(role)
		if err != nil {
			return nil, err
		}
		cc.Port = port
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func newRunRoleCmd(role string) *cobra.Command {
	var f roleFlags
	section, envPrefix := roleNames(role)
	defaults, _ := config.Default().Coord(role)
	cmd := &cobra.Command{
		Use:   role,
		Short: "Run a " + role,
		Long: fmt.Sprintf(`Run a %[1]s. It registers a session in etcd and competes for the
role's ACTIVE key; the winner serves.

Active-standby is off by default: a second %[1]s of a cluster that already
has an active exits with an error. To run one ACTIVE and others STANDBY
(taking over when the active dies or stops), set
%[2]s.activeStandby.enabled: true in the config file, or
%[3]s_ENABLE_ACTIVE_STANDBY=true, on every %[1]s.

Settings: built-in defaults < --config file < environment
(BATON_<KEY>, ETCD_ENDPOINTS, %[3]s_ADDRESS=host:port) < flags.
configs/baton.yaml documents every key.`, role, section, envPrefix),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, f.configFile, role, f.port)
			if err != nil {
				return err
			}
			return runRoles(cmd.Context(), cfg, []string{role})
		},
	}
	cmd.Flags().StringVar(&f.configFile, "config", "", "YAML config file (see configs/baton.yaml)")
	cmd.Flags().IntVar(&f.port, "port", 0, fmt.Sprintf("gRPC port (default %d; overrides %s.port)",
		defaults.Port, section))
	return cmd
}

// roleNames returns a role's config section and environment prefix:
// rootCoord and ROOT_COORD for rootcoord.
func roleNames(role string) (section, envPrefix string) {
	base := strings.TrimSuffix(role, "coord")
	return base + "Coord", strings.ToUpper(base) + "_COORD"
}

func newRunStandaloneCmd() *cobra.Command {
	var f etcdFlags
	var configFile string
	cmd := &cobra.Command{
		Use:   "standalone",
		Short: "Run embedded etcd and all three coordinators in one process",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, configFile, "", 0)
			if err != nil {
				return err
			}
			srv, err := etcdserver.Start(cmd.Context(), f.config())
			if err != nil {
				return err
			}
			defer srv.Close()
			cfg.Etcd.Endpoints = []string{srv.Endpoint()}
			fmt.Fprintf(os.Stderr, "baton standalone: embedded etcd at %s (data in %s); "+
				"starting rootcoord :%d, datacoord :%d, querycoord :%d\n", srv.Endpoint(),
				f.dataDir, cfg.RootCoord.Port, cfg.DataCoord.Port, cfg.QueryCoord.Port)
			return runRoles(cmd.Context(), cfg, config.Roles())
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&configFile, "config", "", "YAML config file (see configs/baton.yaml)")
	return cmd
}

// runRoles runs one coordinator per role in this process until ctx ends or
// one of them fails; a failure stops the others.
func runRoles(ctx context.Context, cfg *config.Config, roles []string) error {
	log, err := logging.New(os.Stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	cli, err := newEtcdClient(cfg)
	if err != nil {
		return err
	}
	defer cli.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var met *metrics.Metrics
	var metErr error
	if cfg.Metrics.Address != "" {
		met = metrics.New()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if metErr = met.Serve(ctx, cfg.Metrics.Address); metErr != nil {
				cancel()
			}
		}()
	}
	errs := make([]error, len(roles))
	for i, role := range roles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = coord.Run(ctx, coord.Options{
				Role: role, Config: cfg, Client: cli, Logger: log, Metrics: met,
				Impl: newRole(role, cli, cfg, log),
			})
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	return errors.Join(append(errs, metErr)...)
}

func newRole(role string, cli *clientv3.Client, cfg *config.Config, log *slog.Logger) coord.Role {
	l := log.With("role", role)
	switch role {
	case "rootcoord":
		return rootcoord.New(cli, cfg.Etcd.RootPath, l, cfg.Common.WarmStandby)
	case "datacoord":
		return datacoord.New(l)
	default:
		return querycoord.New(l)
	}
}

func newEtcdClient(cfg *config.Config) (*clientv3.Client, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Etcd.Endpoints,
		DialTimeout: cfg.Etcd.DialTimeout,
		Logger:      zap.NewNop(),
		// gRPC's default reconnect backoff grows to 120 s: after etcd
		// refused connections for a while, a coordinator could stay cut
		// off for tens of seconds more once etcd is back.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: grpcbackoff.Config{
				BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2,
				MaxDelay: time.Second,
			},
			MinConnectTimeout: cfg.Etcd.DialTimeout,
		})},
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client for %s: %w; check etcd.endpoints or ETCD_ENDPOINTS",
			strings.Join(cfg.Etcd.Endpoints, ","), err)
	}
	return cli, nil
}
