package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Limits on values, checked by Validate.
const (
	minSessionTTL = time.Second
	maxSessionTTL = time.Hour
)

// Allowed values of log.level and log.format.
var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
)

// Validate checks every value against its allowed range and returns all
// problems joined, each wrapping ErrInvalid and naming the key, its
// environment variable and what to do. It returns nil for a valid config.
func (c *Config) Validate() error {
	if c == nil {
		return fmt.Errorf("%w: the config is nil; start from Default or Load", ErrInvalid)
	}
	var errs []error
	errs = append(errs, c.validateEtcd()...)
	errs = append(errs, c.validateCommon()...)
	errs = append(errs, c.validateLog()...)
	errs = append(errs, c.validateMetrics()...)
	errs = append(errs, c.validateCoords()...)
	return errors.Join(errs...)
}

// invalid returns an ErrInvalid error about the key called name.
func invalid(name, format string, args ...any) error {
	env := ""
	if k, ok := keysByName[name]; ok {
		env = " (env " + k.env() + ")"
	}
	return fmt.Errorf("%w: %s %s%s", ErrInvalid, name, fmt.Sprintf(format, args...), env)
}

// validateEtcd checks the etcd section.
func (c *Config) validateEtcd() []error {
	var errs []error
	if len(c.Etcd.Endpoints) == 0 {
		errs = append(errs, invalid("etcd.endpoints",
			"is empty; list at least one endpoint, such as 127.0.0.1:2379"))
	}
	for i, ep := range c.Etcd.Endpoints {
		if problem := checkEndpoint(ep); problem != "" {
			errs = append(errs, invalid("etcd.endpoints", "item %d %q %s", i+1, clip(ep), problem))
		}
	}
	if problem := checkRootPath(c.Etcd.RootPath); problem != "" {
		errs = append(errs, invalid("etcd.rootPath", "%q %s", clip(c.Etcd.RootPath), problem))
	}
	if c.Etcd.DialTimeout <= 0 {
		errs = append(errs, invalid("etcd.dialTimeout",
			"is %v; set a positive duration such as 5s", c.Etcd.DialTimeout))
	}
	return errs
}

// checkEndpoint returns what is wrong with an etcd endpoint, or "".
func checkEndpoint(ep string) string {
	if strings.IndexFunc(ep, unicode.IsSpace) >= 0 {
		return "contains spaces; remove them"
	}
	if strings.Contains(ep, "://") {
		return checkEndpointURL(ep)
	}
	host, port, err := net.SplitHostPort(ep)
	if err != nil || host == "" {
		return "is not host:port or a URL; write it like 127.0.0.1:2379 or http://host:2379"
	}
	if !validPort(port) {
		return "has a port that is not in 1..65535; fix the port"
	}
	return ""
}

// checkEndpointURL returns what is wrong with an etcd endpoint URL, or "".
func checkEndpointURL(ep string) string {
	u, err := url.Parse(ep)
	if err != nil {
		return "is not a valid URL; write it like http://host:2379"
	}
	switch u.Scheme {
	case "http", "https":
		if u.Hostname() == "" {
			return "has no host; write it like http://host:2379"
		}
		if p := u.Port(); p != "" && !validPort(p) {
			return "has a port that is not in 1..65535; fix the port"
		}
	case "unix", "unixs":
		if u.Host == "" && u.Path == "" {
			return "names no socket; write it like unix:///path/to/etcd.sock"
		}
	default:
		return "has scheme " + strconv.Quote(u.Scheme) + "; use http, https, unix or unixs"
	}
	return ""
}

// validPort reports whether s is a decimal port in 1..65535.
func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535
}

// checkRootPath returns what is wrong with etcd.rootPath, or "".
func checkRootPath(p string) string {
	switch {
	case p == "":
		return "is empty; set a prefix such as by-dev"
	case strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/"):
		return "starts or ends with /; remove the slash (Baton adds its own)"
	case strings.IndexFunc(p, unicode.IsSpace) >= 0:
		return "contains spaces; remove them"
	}
	// Keys are joined as paths: an empty, "." or ".." segment would name
	// the same keys as another root path.
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "has an empty, . or .. segment; write plain names separated by single slashes"
		}
	}
	return ""
}

// CheckRootPath returns an error naming what is wrong with a root path
// given outside the config (baton ctl --root-path), or nil.
func CheckRootPath(p string) error {
	if problem := checkRootPath(p); problem != "" {
		return fmt.Errorf("root path %q %s", p, problem)
	}
	return nil
}

// validateCommon checks the common section.
func (c *Config) validateCommon() []error {
	var errs []error
	if ttl := c.Common.SessionTTL; ttl < minSessionTTL || ttl > maxSessionTTL {
		errs = append(errs, invalid("common.session.ttl",
			"is %v; set a duration between %v and %v", ttl, minSessionTTL, maxSessionTTL))
	}
	if d := c.Common.StandbyLogInterval; d <= 0 {
		errs = append(errs, invalid("common.activeStandby.logInterval",
			"is %v; set a positive duration such as 10s", d))
	}
	if d := c.Common.ShutdownTimeout; d <= 0 {
		errs = append(errs, invalid("common.shutdownTimeout",
			"is %v; set a positive duration such as 10s", d))
	}
	return errs
}

// validateLog checks the log section.
func (c *Config) validateLog() []error {
	var errs []error
	if !slices.Contains(logLevels, c.Log.Level) {
		errs = append(errs, invalid("log.level", "is %q; use one of %s",
			clip(c.Log.Level), strings.Join(logLevels, ", ")))
	}
	if !slices.Contains(logFormats, c.Log.Format) {
		errs = append(errs, invalid("log.format", "is %q; use one of %s",
			clip(c.Log.Format), strings.Join(logFormats, ", ")))
	}
	return errs
}

// validateCoords checks each role's section, then that no two roles share
// both address and port.
func (c *Config) validateCoords() []error {
	var errs []error
	roles := Roles()
	for _, role := range roles {
		cc, _ := c.Coord(role)
		errs = append(errs, validateCoord(section(role), cc)...)
	}
	for i, a := range roles {
		for _, b := range roles[i+1:] {
			if err := c.checkClash(a, b); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// validateCoord checks one role's address and port; sec is its section.
func validateCoord(sec string, cc *CoordConfig) []error {
	var errs []error
	if problem := checkAddress(cc.Address); problem != "" {
		errs = append(errs, invalid(sec+".address", "%q %s", clip(cc.Address), problem))
	}
	if cc.Port < 1 || cc.Port > 65535 {
		errs = append(errs, invalid(sec+".port", "is %d; set a port in 1..65535", cc.Port))
	}
	return errs
}

// checkAddress returns what is wrong with an advertised address, or "".
func checkAddress(addr string) string {
	switch {
	case addr == "":
		return "is empty; set the host name or IP that other processes reach this one at"
	case strings.IndexFunc(addr, unicode.IsSpace) >= 0:
		return "contains spaces; remove them"
	case strings.Contains(addr, ":") && net.ParseIP(addr) == nil:
		return "is not a host name or IP; give the host alone and the port in <role>.port"
	}
	return ""
}

// checkClash returns an error if roles a and b have the same address and
// port. Addresses are compared as written: localhost and 127.0.0.1 differ.
func (c *Config) checkClash(a, b string) error {
	ca, _ := c.Coord(a)
	cb, _ := c.Coord(b)
	if ca.Address != cb.Address || ca.Port != cb.Port || !validPort(strconv.Itoa(ca.Port)) {
		return nil // an out-of-range port is reported on its own
	}
	return invalid(section(a)+".port", "and %s.port are both %d on address %q; "+
		"give each role its own port", section(b), ca.Port, clip(ca.Address))
}

// validateMetrics checks the metrics section.
func (c *Config) validateMetrics() []error {
	addr := c.Metrics.Address
	if addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		return []error{invalid("metrics.address",
			"%q is not host:port; write e.g. 127.0.0.1:9091, or leave it empty for no endpoint",
			clip(addr))}
	}
	return nil
}
