package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Older environment variables accepted as aliases. Each role's variables
// start with its prefix: ROOT_COORD_ADDRESS, ROOT_COORD_ENABLE_ACTIVE_STANDBY.
const (
	envEndpointsAlias = "ETCD_ENDPOINTS"
	envAddressSuffix  = "_ADDRESS"
	envEnableSuffix   = "_ENABLE_ACTIVE_STANDBY"
)

// aliasPrefixes maps each role to the prefix of its alias variables.
var aliasPrefixes = map[string]string{
	RoleRootCoord:  "ROOT_COORD",
	RoleDataCoord:  "DATA_COORD",
	RoleQueryCoord: "QUERY_COORD",
}

// environment is what Load reads from the process environment.
type environment struct {
	lookup func(string) (string, bool)
	names  []string // set variables whose names start with BATON_
}

// processEnv lists the BATON_ variables of the process environment that
// lookup also reports as set.
func processEnv(lookup func(string) (string, bool)) environment {
	var names []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix) {
			continue
		}
		if _, ok := lookup(name); ok {
			names = append(names, name)
		}
	}
	return environment{lookup: lookup, names: names}
}

// get returns a variable's value; an empty variable counts as unset.
func (e environment) get(name string) (string, bool) {
	v, ok := e.lookup(name)
	return v, ok && v != ""
}

// batonSettings returns a setting for each BATON_ variable that is set, and
// an error for each BATON_ variable that names no key.
func batonSettings(e environment) ([]setting, error) {
	var ss []setting
	for _, k := range keys {
		if v, ok := e.get(k.env()); ok {
			ss = append(ss, setting{key: k, val: raw{text: v, origin: "env " + k.env()}})
		}
	}

	var errs []error
	names := slices.Clone(e.names)
	slices.Sort(names)
	for _, name := range names {
		if _, ok := keysByEnv[name]; !ok {
			errs = append(errs, unknownEnv(name))
		}
	}
	return ss, errors.Join(errs...)
}

// unknownEnv returns the error for a BATON_ variable that names no key.
func unknownEnv(name string) error {
	hint := ""
	if near := suggest(name, envNames()); near != "" {
		hint = fmt.Sprintf(" (did you mean %s?)", near)
	}
	return fmt.Errorf("%w: environment variable %q names no key%s; "+
		"unset it or see configs/baton.yaml for the keys", ErrUnknownKey, clip(name), hint)
}

// aliasSettings returns the settings given by the older alias variables.
func aliasSettings(e environment) ([]setting, error) {
	var ss []setting
	var errs []error
	if v, ok := e.get(envEndpointsAlias); ok {
		val := raw{text: v, origin: "env " + envEndpointsAlias}
		ss = append(ss, setting{key: keysByName["etcd.endpoints"], val: val})
	}
	for _, role := range Roles() {
		rs, err := roleAliasSettings(e, role)
		ss = append(ss, rs...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return ss, errors.Join(errs...)
}

// roleAliasSettings returns the settings given by one role's aliases.
func roleAliasSettings(e environment, role string) ([]setting, error) {
	sec, prefix := section(role), aliasPrefixes[role]
	ss, err := addressAlias(e, role, prefix+envAddressSuffix)

	name := prefix + envEnableSuffix
	if v, ok := e.get(name); ok {
		k := keysByName[sec+".activeStandby.enabled"]
		ss = append(ss, setting{key: k, val: raw{text: v, origin: "env " + name}})
	}
	return ss, err
}

// addressAlias returns the address and port settings given by the host:port
// variable name for role.
func addressAlias(e environment, role, name string) ([]setting, error) {
	v, ok := e.get(name)
	if !ok {
		return nil, nil
	}
	host, port, err := splitHostPort(v)
	if err != nil {
		return nil, fmt.Errorf("%w: environment variable %s = %q: %v; "+
			"set it as host:port, such as 10.0.0.5:%d",
			ErrBadValue, name, clip(v), err, defaultPort(role))
	}
	sec, origin := section(role), "env "+name
	return []setting{
		{key: keysByName[sec+".address"], val: raw{text: host, origin: origin}},
		{key: keysByName[sec+".port"], val: raw{text: port, origin: origin}},
	}, nil
}

// splitHostPort splits host:port, requiring a host and a port in 1..65535.
func splitHostPort(s string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(s)
	if err != nil {
		return "", "", errors.New("not in host:port form")
	}
	if host == "" {
		return "", "", errors.New("the host is empty")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("port %q is not a number in 1..65535", port)
	}
	return host, port, nil
}

// defaultPort returns role's default port, for examples in messages.
func defaultPort(role string) int {
	cc, err := Default().Coord(role)
	if err != nil {
		return 0
	}
	return cc.Port
}
