package config

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors. Every error from Load, Validate and Coord wraps one of
// them; check with errors.Is.
var (
	// ErrUnknownKey is returned when the file has a key, or the environment
	// a BATON_ variable, that names no configuration key.
	ErrUnknownKey = errors.New("config: unknown key")
	// ErrBadValue is returned when a value cannot be read as its key's type.
	ErrBadValue = errors.New("config: bad value")
	// ErrConflict is returned when one source sets both spellings of the
	// active-standby switch to different values.
	ErrConflict = errors.New("config: conflicting values")
	// ErrSyntax is returned when the file is not valid YAML or its top
	// level is not a mapping.
	ErrSyntax = errors.New("config: invalid YAML")
	// ErrInvalid is returned by Validate when a value is out of range.
	ErrInvalid = errors.New("config: invalid setting")
	// ErrUnknownRole is returned by Coord for a role not in Roles().
	ErrUnknownRole = errors.New("config: unknown role")
)

// Role names, as returned by Roles.
const (
	RoleRootCoord  = "rootcoord"
	RoleDataCoord  = "datacoord"
	RoleQueryCoord = "querycoord"
)

// Config is the whole of Baton's configuration. The zero value is not
// usable; start from Default or Load.
type Config struct {
	Etcd       EtcdConfig
	Common     CommonConfig
	Log        LogConfig
	Metrics    MetricsConfig
	RootCoord  CoordConfig
	DataCoord  CoordConfig
	QueryCoord CoordConfig
}

// EtcdConfig says how to reach etcd and where Baton's keys live.
type EtcdConfig struct {
	Endpoints   []string      // etcd.endpoints, default ["127.0.0.1:2379"]
	RootPath    string        // etcd.rootPath, default "by-dev"
	DialTimeout time.Duration // etcd.dialTimeout, default 5s
}

// CommonConfig holds settings shared by every coordinator.
type CommonConfig struct {
	// SessionTTL is common.session.ttl, default 10s.
	SessionTTL time.Duration
	// StandbyLogInterval is common.activeStandby.logInterval, default 10s.
	StandbyLogInterval time.Duration
	// FastDetection is common.activeStandby.fastDetection, default true: a
	// standby probes the active's address and evicts an active whose port
	// refuses connections instead of waiting for its lease to expire.
	FastDetection bool
	// WarmStandby is common.activeStandby.warmStandby, default true: a
	// standby keeps the role's state loaded and follows it by watch, so
	// promotion does not reload it.
	WarmStandby bool
	// ShutdownTimeout is common.shutdownTimeout, default 10s: the bound on
	// draining in-flight requests at stop.
	ShutdownTimeout time.Duration
}

// MetricsConfig configures the Prometheus endpoint.
type MetricsConfig struct {
	// Address is metrics.address: host:port serving /metrics, or empty
	// (the default) for none.
	Address string
}

// LogConfig configures the process's logger.
type LogConfig struct {
	Level  string // log.level: debug|info|warn|error, default info
	Format string // log.format: text|json, default text
}

// CoordConfig configures one coordinator role.
type CoordConfig struct {
	// Address is <role>.address, default "127.0.0.1": the host or IP
	// advertised to others. It carries no port.
	Address string
	// Port is <role>.port: rootCoord 53100, dataCoord 13333, queryCoord 19531.
	Port int
	// ActiveStandby is <role>.activeStandby.enabled (alias
	// <role>.enableActiveStandby), default false.
	ActiveStandby bool
}

// Default returns a new Config holding the built-in defaults.
func Default() *Config {
	return &Config{
		Etcd: EtcdConfig{
			Endpoints:   []string{"127.0.0.1:2379"},
			RootPath:    "by-dev",
			DialTimeout: 5 * time.Second,
		},
		Common: CommonConfig{
			SessionTTL:         10 * time.Second,
			StandbyLogInterval: 10 * time.Second,
			FastDetection:      true,
			WarmStandby:        true,
			ShutdownTimeout:    10 * time.Second,
		},
		Log:        LogConfig{Level: "info", Format: "text"},
		RootCoord:  CoordConfig{Address: "127.0.0.1", Port: 53100},
		DataCoord:  CoordConfig{Address: "127.0.0.1", Port: 13333},
		QueryCoord: CoordConfig{Address: "127.0.0.1", Port: 19531},
	}
}

// Roles returns the coordinator roles in a fixed order: rootcoord,
// datacoord, querycoord.
func Roles() []string {
	return []string{RoleRootCoord, RoleDataCoord, RoleQueryCoord}
}

// Coord returns the settings of role, one of Roles(). The result points
// into c. An unknown role returns an error wrapping ErrUnknownRole.
func (c *Config) Coord(role string) (*CoordConfig, error) {
	if c == nil {
		return nil, fmt.Errorf("%w %q: the config is nil", ErrUnknownRole, role)
	}
	switch role {
	case RoleRootCoord:
		return &c.RootCoord, nil
	case RoleDataCoord:
		return &c.DataCoord, nil
	case RoleQueryCoord:
		return &c.QueryCoord, nil
	}
	return nil, fmt.Errorf("%w %q: use one of %s",
		ErrUnknownRole, role, strings.Join(Roles(), ", "))
}

// section returns the YAML section name of role: rootcoord is rootCoord.
func section(role string) string {
	switch role {
	case RoleRootCoord:
		return "rootCoord"
	case RoleDataCoord:
		return "dataCoord"
	case RoleQueryCoord:
		return "queryCoord"
	}
	return role
}
