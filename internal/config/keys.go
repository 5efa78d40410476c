package config

import (
	"strings"
)

// envPrefix starts the environment variable of every key.
const envPrefix = "BATON_"

// key is one configuration key: its dotted name in the file and the field of
// a Config that holds its value.
type key struct {
	// name is the dotted path in the YAML file, e.g. "etcd.rootPath".
	name string
	// field returns a pointer to the value's field in c: *string,
	// *[]string, *time.Duration, *int or *bool.
	field func(c *Config) any
	// alias marks an older spelling of another key; the shipped file
	// leaves it out.
	alias bool
}

// env returns the key's environment variable, e.g. BATON_ETCD_ROOTPATH.
func (k *key) env() string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(k.name, ".", "_"))
}

// keys lists every configuration key, in the order of the shipped file.
var keys = buildKeys()

// keysByName and keysByEnv index keys by dotted name and by variable.
var keysByName, keysByEnv = indexKeys(keys)

// buildKeys returns the key table.
func buildKeys() []*key {
	ks := []*key{
		{name: "etcd.endpoints", field: func(c *Config) any { return &c.Etcd.Endpoints }},
		{name: "etcd.rootPath", field: func(c *Config) any { return &c.Etcd.RootPath }},
		{name: "etcd.dialTimeout", field: func(c *Config) any { return &c.Etcd.DialTimeout }},
		{name: "common.session.ttl", field: func(c *Config) any { return &c.Common.SessionTTL }},
		{
			name:  "common.activeStandby.logInterval",
			field: func(c *Config) any { return &c.Common.StandbyLogInterval },
		},
		{
			name:  "common.activeStandby.fastDetection",
			field: func(c *Config) any { return &c.Common.FastDetection },
		},
		{
			name:  "common.activeStandby.warmStandby",
			field: func(c *Config) any { return &c.Common.WarmStandby },
		},
		{
			name:  "common.shutdownTimeout",
			field: func(c *Config) any { return &c.Common.ShutdownTimeout },
		},
		{name: "log.level", field: func(c *Config) any { return &c.Log.Level }},
		{name: "log.format", field: func(c *Config) any { return &c.Log.Format }},
		{name: "metrics.address", field: func(c *Config) any { return &c.Metrics.Address }},
	}
	for _, role := range Roles() {
		ks = append(ks, coordKeys(role)...)
	}
	return ks
}

// coordKeys returns the keys of one role's section.
func coordKeys(role string) []*key {
	sec := section(role)
	coord := func(c *Config) *CoordConfig {
		cc, _ := c.Coord(role) // role comes from Roles(), so never fails
		return cc
	}
	return []*key{
		{name: sec + ".address", field: func(c *Config) any { return &coord(c).Address }},
		{name: sec + ".port", field: func(c *Config) any { return &coord(c).Port }},
		{
			name:  sec + ".activeStandby.enabled",
			field: func(c *Config) any { return &coord(c).ActiveStandby },
		},
		{
			name:  sec + ".enableActiveStandby",
			field: func(c *Config) any { return &coord(c).ActiveStandby },
			alias: true,
		},
	}
}

// indexKeys maps each key's dotted name and environment variable to it.
func indexKeys(ks []*key) (byName, byEnv map[string]*key) {
	byName = make(map[string]*key, len(ks))
	byEnv = make(map[string]*key, len(ks))
	for _, k := range ks {
		byName[k.name] = k
		byEnv[k.env()] = k
	}
	return byName, byEnv
}

// envNames returns every key's environment variable, in table order.
func envNames() []string {
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		names = append(names, k.env())
	}
	return names
}

// suggest returns the candidate closest to name, or "" if none is close: a
// match ignoring case, else one within a small edit distance.
func suggest(name string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if strings.EqualFold(c, name) {
			return c
		}
		if d := editDistance(strings.ToLower(name), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance returns the Levenshtein distance between a and b, counting
// bytes. Inputs longer than 64 bytes are compared no further, to keep the
// cost bounded for hostile input.
func editDistance(a, b string) int {
	const limit = 64
	if len(a) > limit || len(b) > limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
