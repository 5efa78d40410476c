package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// shippedFile is the example configuration, relative to this package.
const shippedFile = "../../configs/baton.yaml"

// mapEnv returns an environment backed by m.
func mapEnv(m map[string]string) environment {
	var names []string
	for name := range m {
		if strings.HasPrefix(name, envPrefix) {
			names = append(names, name)
		}
	}
	lookup := func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
	return environment{lookup: lookup, names: names}
}

// writeConfig writes text to baton.yaml in a fresh directory and returns
// its path.
func writeConfig(t testing.TB, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "baton.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return path
}

// loadCase is one Load scenario: a file (none if yaml is empty and noFile
// is unset) and an environment, and either the expected changes to
// Default() or the expected error.
type loadCase struct {
	name    string
	yaml    string
	env     map[string]string
	want    func(c *Config)
	wantErr error
	wantMsg []string // substrings of the error message
}

// run runs one case.
func (tc loadCase) run(t *testing.T) {
	t.Helper()
	path := ""
	if tc.yaml != "" {
		path = writeConfig(t, tc.yaml)
	}
	got, err := load(path, mapEnv(tc.env))
	if tc.wantErr != nil {
		checkErr(t, err, tc.wantErr, tc.wantMsg...)
		if got != nil {
			t.Errorf("load returned a config with an error: %+v", got)
		}
		return
	}
	if err != nil {
		t.Fatalf("load: unexpected error: %v", err)
	}
	want := Default()
	if tc.want != nil {
		tc.want(want)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("load:\n got %+v\nwant %+v", got, want)
	}
}

// checkErr fails t unless err wraps sentinel and contains every substring.
func checkErr(t *testing.T, err, sentinel error, substrings ...string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error = %v; want one wrapping %v", err, sentinel)
	}
	for _, s := range substrings {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

func TestLoadPrecedence(t *testing.T) {
	cases := []loadCase{
		{name: "defaults only"},
		{
			name: "file over defaults",
			yaml: "etcd:\n  rootPath: fromfile\nlog:\n  level: debug\n",
			want: func(c *Config) { c.Etcd.RootPath = "fromfile"; c.Log.Level = "debug" },
		},
		{
			name: "env over file",
			yaml: "etcd:\n  rootPath: fromfile\n",
			env:  map[string]string{"BATON_ETCD_ROOTPATH": "fromenv"},
			want: func(c *Config) { c.Etcd.RootPath = "fromenv" },
		},
		{
			name: "env bare seconds over file duration",
			yaml: "common:\n  session:\n    ttl: 20s\n",
			env:  map[string]string{"BATON_COMMON_SESSION_TTL": "3"},
			want: func(c *Config) { c.Common.SessionTTL = 3 * time.Second },
		},
		{
			name: "file keys left out keep defaults",
			yaml: "rootCoord:\n  port: 6000\n",
			want: func(c *Config) { c.RootCoord.Port = 6000 },
		},
		{
			name: "empty env var counts as unset",
			yaml: "etcd:\n  rootPath: fromfile\n",
			env:  map[string]string{"BATON_ETCD_ROOTPATH": "", "ETCD_ENDPOINTS": ""},
			want: func(c *Config) { c.Etcd.RootPath = "fromfile" },
		},
		{name: "empty file", yaml: "# nothing but a comment\n"},
		{name: "empty sections", yaml: "etcd:\nlog: ~\n"},
		{
			name: "anchors and aliases",
			yaml: "dataCoord:\n  address: &h 10.0.0.1\nqueryCoord:\n  address: *h\n",
			want: func(c *Config) {
				c.DataCoord.Address = "10.0.0.1"
				c.QueryCoord.Address = "10.0.0.1"
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
}

func TestLoadValues(t *testing.T) {
	cases := []loadCase{
		{
			name: "durations: bare integer, fraction, Go strings",
			yaml: "etcd:\n  dialTimeout: 2.5\ncommon:\n  session:\n    ttl: 10\n" +
				"  activeStandby:\n    logInterval: 500ms\n  shutdownTimeout: 1m30s\n",
			want: func(c *Config) {
				c.Etcd.DialTimeout = 2500 * time.Millisecond
				c.Common.SessionTTL = 10 * time.Second
				c.Common.StandbyLogInterval = 500 * time.Millisecond
				c.Common.ShutdownTimeout = 90 * time.Second
			},
		},
		{
			name: "endpoints as a YAML list",
			yaml: "etcd:\n  endpoints:\n    - a:1\n    - http://b:2\n",
			want: func(c *Config) { c.Etcd.Endpoints = []string{"a:1", "http://b:2"} },
		},
		{
			name: "endpoints as a comma-separated string in the file",
			yaml: "etcd:\n  endpoints: a:1, b:2\n",
			want: func(c *Config) { c.Etcd.Endpoints = []string{"a:1", "b:2"} },
		},
		{
			name: "endpoints from BATON_ETCD_ENDPOINTS",
			env:  map[string]string{"BATON_ETCD_ENDPOINTS": "a:1,b:2"},
			want: func(c *Config) { c.Etcd.Endpoints = []string{"a:1", "b:2"} },
		},
		{
			name: "bools in every spelling",
			yaml: "rootCoord:\n  activeStandby:\n    enabled: yes\n",
			env: map[string]string{
				"BATON_DATACOORD_ACTIVESTANDBY_ENABLED": "TRUE",
				"BATON_QUERYCOORD_ENABLEACTIVESTANDBY":  "1",
			},
			want: func(c *Config) {
				c.RootCoord.ActiveStandby = true
				c.DataCoord.ActiveStandby = true
				c.QueryCoord.ActiveStandby = true
			},
		},
		{
			name: "every BATON_ variable of a role",
			env: map[string]string{
				"BATON_QUERYCOORD_ADDRESS":               "q.example",
				"BATON_QUERYCOORD_PORT":                  "7000",
				"BATON_QUERYCOORD_ACTIVESTANDBY_ENABLED": "true",
				"BATON_LOG_FORMAT":                       "json",
				"BATON_COMMON_ACTIVESTANDBY_LOGINTERVAL": "1m",
				"BATON_COMMON_SHUTDOWNTIMEOUT":           "2",
				"BATON_ETCD_DIALTIMEOUT":                 "1s",
			},
			want: func(c *Config) {
				c.QueryCoord = CoordConfig{Address: "q.example", Port: 7000, ActiveStandby: true}
				c.Log.Format = "json"
				c.Common.StandbyLogInterval = time.Minute
				c.Common.ShutdownTimeout = 2 * time.Second
				c.Etcd.DialTimeout = time.Second
			},
		},
		{
			name: "older spelling in the file",
			yaml: "dataCoord:\n  enableActiveStandby: true\n",
			want: func(c *Config) { c.DataCoord.ActiveStandby = true },
		},
		{
			name: "both spellings in the file, agreeing",
			yaml: "dataCoord:\n  enableActiveStandby: true\n  activeStandby:\n    enabled: 1\n",
			want: func(c *Config) { c.DataCoord.ActiveStandby = true },
		},
		{
			name: "env spelling overrides the other spelling in the file",
			yaml: "dataCoord:\n  enableActiveStandby: true\n",
			env:  map[string]string{"BATON_DATACOORD_ACTIVESTANDBY_ENABLED": "no"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
}

func TestLoadAliases(t *testing.T) {
	cases := []loadCase{
		{
			name: "ETCD_ENDPOINTS",
			env:  map[string]string{"ETCD_ENDPOINTS": "e1:2379, e2:2379"},
			want: func(c *Config) { c.Etcd.Endpoints = []string{"e1:2379", "e2:2379"} },
		},
		{
			name: "BATON_ETCD_ENDPOINTS wins over ETCD_ENDPOINTS",
			env: map[string]string{
				"ETCD_ENDPOINTS":       "alias:1",
				"BATON_ETCD_ENDPOINTS": "baton:1",
			},
			want: func(c *Config) { c.Etcd.Endpoints = []string{"baton:1"} },
		},
		{
			name: "ETCD_ENDPOINTS wins over the file",
			yaml: "etcd:\n  endpoints: [file:1]\n",
			env:  map[string]string{"ETCD_ENDPOINTS": "alias:1"},
			want: func(c *Config) { c.Etcd.Endpoints = []string{"alias:1"} },
		},
		{
			name: "X_COORD_ADDRESS for each role",
			env: map[string]string{
				"ROOT_COORD_ADDRESS":  "r.example:6001",
				"DATA_COORD_ADDRESS":  "10.0.0.2:6002",
				"QUERY_COORD_ADDRESS": "[::1]:6003",
			},
			want: func(c *Config) {
				c.RootCoord.Address, c.RootCoord.Port = "r.example", 6001
				c.DataCoord.Address, c.DataCoord.Port = "10.0.0.2", 6002
				c.QueryCoord.Address, c.QueryCoord.Port = "::1", 6003
			},
		},
		{
			name: "BATON_ port wins over the port of ROOT_COORD_ADDRESS",
			yaml: "rootCoord:\n  address: file.example\n  port: 5000\n",
			env: map[string]string{
				"ROOT_COORD_ADDRESS":    "alias.example:6000",
				"BATON_ROOTCOORD_PORT":  "7000",
				"BATON_DATACOORD_PORT":  "7001",
				"BATON_QUERYCOORD_PORT": "7002",
			},
			want: func(c *Config) {
				c.RootCoord.Address, c.RootCoord.Port = "alias.example", 7000
				c.DataCoord.Port, c.QueryCoord.Port = 7001, 7002
			},
		},
		{
			name: "X_COORD_ENABLE_ACTIVE_STANDBY for each role",
			env: map[string]string{
				"ROOT_COORD_ENABLE_ACTIVE_STANDBY":  "Yes",
				"DATA_COORD_ENABLE_ACTIVE_STANDBY":  "1",
				"QUERY_COORD_ENABLE_ACTIVE_STANDBY": "true",
			},
			want: func(c *Config) {
				c.RootCoord.ActiveStandby = true
				c.DataCoord.ActiveStandby = true
				c.QueryCoord.ActiveStandby = true
			},
		},
		{
			name: "alias false overrides file true",
			yaml: "rootCoord:\n  activeStandby:\n    enabled: true\n",
			env:  map[string]string{"ROOT_COORD_ENABLE_ACTIVE_STANDBY": "NO"},
		},
		{
			name: "BATON_ enable variable wins over the alias",
			env: map[string]string{
				"ROOT_COORD_ENABLE_ACTIVE_STANDBY":      "true",
				"BATON_ROOTCOORD_ACTIVESTANDBY_ENABLED": "false",
				"DATA_COORD_ENABLE_ACTIVE_STANDBY":      "false",
				"BATON_DATACOORD_ENABLEACTIVESTANDBY":   "true",
			},
			want: func(c *Config) { c.DataCoord.ActiveStandby = true },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
}

func TestLoadFileErrors(t *testing.T) {
	cases := []loadCase{
		{
			name:    "unknown key in a section",
			yaml:    "etcd:\n  rootpth: x\n",
			wantErr: ErrUnknownKey,
			wantMsg: []string{`"etcd.rootpth"`, "baton.yaml:2", `did you mean "etcd.rootPath"`,
				"valid keys in etcd: endpoints, rootPath, dialTimeout"},
		},
		{
			name:    "unknown key three levels down",
			yaml:    "common:\n  session:\n    tll: 3\n",
			wantErr: ErrUnknownKey,
			wantMsg: []string{`"common.session.tll"`, "baton.yaml:3",
				"valid keys in common.session: ttl"},
		},
		{
			name:    "unknown key under a role",
			yaml:    "rootCoord:\n  activeStandby:\n    enable: true\n",
			wantErr: ErrUnknownKey,
			wantMsg: []string{`"rootCoord.activeStandby.enable"`,
				`did you mean "rootCoord.activeStandby.enabled"`},
		},
		{
			name:    "unknown section",
			yaml:    "rootcoord:\n  port: 1\n",
			wantErr: ErrUnknownKey,
			wantMsg: []string{`"rootcoord"`, `did you mean "rootCoord"`, "the top level"},
		},
		{
			name:    "every unknown key is reported",
			yaml:    "etcd:\n  a: 1\nlog:\n  b: 2\n",
			wantErr: ErrUnknownKey,
			wantMsg: []string{`"etcd.a"`, `"log.b"`},
		},
		{
			name:    "port is not a number",
			yaml:    "rootCoord:\n  port: abc\n",
			wantErr: ErrBadValue,
			wantMsg: []string{"rootCoord.port", `"abc"`, "an integer", "baton.yaml:2"},
		},
		{
			name:    "port is a list",
			yaml:    "rootCoord:\n  port: [1, 2]\n",
			wantErr: ErrBadValue,
			wantMsg: []string{"rootCoord.port", "not a list"},
		},
		{
			name:    "string key given a mapping",
			yaml:    "log:\n  level: {a: b}\n",
			wantErr: ErrBadValue,
			wantMsg: []string{"log.level", "a mapping"},
		},
		{
			name:    "section given a value",
			yaml:    "etcd: localhost\n",
			wantErr: ErrBadValue,
			wantMsg: []string{"etcd", "must be a mapping", "rootPath"},
		},
		{
			name:    "key with no value",
			yaml:    "log:\n  level:\n",
			wantErr: ErrBadValue,
			wantMsg: []string{"log.level has no value"},
		},
		{
			name:    "endpoint list with a mapping item",
			yaml:    "etcd:\n  endpoints:\n    - a:1\n    - {b: 2}\n",
			wantErr: ErrBadValue,
			wantMsg: []string{"item 2 of etcd.endpoints"},
		},
		{
			name:    "endpoint string with an empty item",
			yaml:    "etcd:\n  endpoints: a:1,,b:2\n",
			wantErr: ErrBadValue,
			wantMsg: []string{"etcd.endpoints", "item 2 is empty"},
		},
		{
			name:    "bad duration",
			yaml:    "common:\n  session:\n    ttl: 10x\n",
			wantErr: ErrBadValue,
			wantMsg: []string{"common.session.ttl", `"10x"`, "a duration"},
		},
		{
			name:    "duration that overflows",
			yaml:    "common:\n  shutdownTimeout: 1e300\n",
			wantErr: ErrBadValue,
			wantMsg: []string{"common.shutdownTimeout"},
		},
		{
			name:    "duration NaN",
			yaml:    "common:\n  shutdownTimeout: .nan\n",
			wantErr: ErrBadValue,
			wantMsg: []string{"common.shutdownTimeout"},
		},
		{
			name:    "bad bool",
			yaml:    "queryCoord:\n  enableActiveStandby: maybe\n",
			wantErr: ErrBadValue,
			wantMsg: []string{"queryCoord.enableActiveStandby", `"maybe"`, "a boolean"},
		},
		{
			name: "both spellings disagree",
			yaml: "rootCoord:\n  enableActiveStandby: true\n" +
				"  activeStandby:\n    enabled: false\n",
			wantErr: ErrConflict,
			wantMsg: []string{"rootCoord.enableActiveStandby", "rootCoord.activeStandby.enabled",
				"baton.yaml:2", "baton.yaml:4"},
		},
		{
			name:    "syntax error names file and line",
			yaml:    "etcd:\n  rootPath: [a\nlog:\n  level: info\n",
			wantErr: ErrSyntax,
			wantMsg: []string{"baton.yaml", "line"},
		},
		{
			name:    "tab indentation",
			yaml:    "etcd:\n\trootPath: x\n",
			wantErr: ErrSyntax,
			wantMsg: []string{"baton.yaml", "line 2"},
		},
		{
			name:    "duplicate key",
			yaml:    "log:\n  level: info\n  level: debug\n",
			wantErr: ErrSyntax,
			wantMsg: []string{`"log.level" is set twice`, "baton.yaml:3"},
		},
		{
			name:    "two documents",
			yaml:    "log:\n  level: info\n---\nlog:\n  level: debug\n",
			wantErr: ErrSyntax,
			wantMsg: []string{"second document", "line 3"},
		},
		{
			name:    "top level is a list",
			yaml:    "- etcd\n",
			wantErr: ErrSyntax,
			wantMsg: []string{"top level must be a mapping", "baton.yaml:1"},
		},
		{
			name:    "a key that is a list",
			yaml:    "? [a, b]\n: 1\n",
			wantErr: ErrSyntax,
			wantMsg: []string{"keys must be plain names"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.yaml")
	_, err := Load(path, mapEnv(nil).lookup)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(missing) error = %v; want fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file %s", err, path)
	}
}

func TestLoadEnvErrors(t *testing.T) {
	cases := []loadCase{
		{
			name:    "unknown BATON_ variable",
			env:     map[string]string{"BATON_ETCD_ROOTPAHT": "x"},
			wantErr: ErrUnknownKey,
			wantMsg: []string{"BATON_ETCD_ROOTPAHT", "did you mean BATON_ETCD_ROOTPATH"},
		},
		{
			name:    "unknown BATON_ variable with nothing close",
			env:     map[string]string{"BATON_WHATEVER_ELSE_ENTIRELY": "x"},
			wantErr: ErrUnknownKey,
			wantMsg: []string{"BATON_WHATEVER_ELSE_ENTIRELY", "names no key"},
		},
		{
			name:    "bad bool in BATON_ variable",
			env:     map[string]string{"BATON_ROOTCOORD_ACTIVESTANDBY_ENABLED": "maybe"},
			wantErr: ErrBadValue,
			wantMsg: []string{"rootCoord.activeStandby.enabled", `"maybe"`,
				"env BATON_ROOTCOORD_ACTIVESTANDBY_ENABLED"},
		},
		{
			name:    "bad bool in alias",
			env:     map[string]string{"DATA_COORD_ENABLE_ACTIVE_STANDBY": "2"},
			wantErr: ErrBadValue,
			wantMsg: []string{"env DATA_COORD_ENABLE_ACTIVE_STANDBY", `"2"`},
		},
		{
			name:    "bad duration in env",
			env:     map[string]string{"BATON_COMMON_SESSION_TTL": "soon"},
			wantErr: ErrBadValue,
			wantMsg: []string{"common.session.ttl", "env BATON_COMMON_SESSION_TTL"},
		},
		{
			name:    "bad port in env",
			env:     map[string]string{"BATON_DATACOORD_PORT": "80a"},
			wantErr: ErrBadValue,
			wantMsg: []string{"dataCoord.port", `"80a"`, "an integer"},
		},
		{
			name:    "address alias without a port",
			env:     map[string]string{"ROOT_COORD_ADDRESS": "localhost"},
			wantErr: ErrBadValue,
			wantMsg: []string{"ROOT_COORD_ADDRESS", `"localhost"`, "host:port"},
		},
		{
			name:    "address alias without a host",
			env:     map[string]string{"DATA_COORD_ADDRESS": ":13333"},
			wantErr: ErrBadValue,
			wantMsg: []string{"DATA_COORD_ADDRESS", "host is empty"},
		},
		{
			name:    "address alias with a bad port",
			env:     map[string]string{"QUERY_COORD_ADDRESS": "h:70000"},
			wantErr: ErrBadValue,
			wantMsg: []string{"QUERY_COORD_ADDRESS", `"70000"`},
		},
		{
			name: "both BATON_ spellings disagree",
			env: map[string]string{
				"BATON_QUERYCOORD_ACTIVESTANDBY_ENABLED": "true",
				"BATON_QUERYCOORD_ENABLEACTIVESTANDBY":   "false",
			},
			wantErr: ErrConflict,
			wantMsg: []string{"env BATON_QUERYCOORD_ACTIVESTANDBY_ENABLED",
				"env BATON_QUERYCOORD_ENABLEACTIVESTANDBY"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
}

func TestLoadValidates(t *testing.T) {
	cases := []loadCase{
		{
			name:    "port out of range",
			yaml:    "rootCoord:\n  port: 0\n",
			wantErr: ErrInvalid,
			wantMsg: []string{"rootCoord.port is 0", "BATON_ROOTCOORD_PORT"},
		},
		{
			name:    "two roles on one address and port",
			env:     map[string]string{"BATON_DATACOORD_PORT": "53100"},
			wantErr: ErrInvalid,
			wantMsg: []string{"rootCoord.port and dataCoord.port are both 53100"},
		},
		{
			name: "same port on different addresses is fine",
			env: map[string]string{
				"BATON_DATACOORD_PORT":    "53100",
				"BATON_DATACOORD_ADDRESS": "10.0.0.2",
			},
			want: func(c *Config) { c.DataCoord.Port, c.DataCoord.Address = 53100, "10.0.0.2" },
		},
		{
			name:    "TTL too short",
			env:     map[string]string{"BATON_COMMON_SESSION_TTL": "500ms"},
			wantErr: ErrInvalid,
			wantMsg: []string{"common.session.ttl is 500ms", "between 1s and 1h"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(c *Config)
		wantMsg []string // nil means valid
	}{
		{name: "defaults", mutate: func(*Config) {}},
		{
			name: "accepted edge values",
			mutate: func(c *Config) {
				c.Etcd.Endpoints = []string{
					"h:1", "https://h:65535", "http://h", "unix:///run/e.sock",
				}
				c.Common.SessionTTL = time.Hour
				c.RootCoord.Address, c.RootCoord.Port = "::1", 65535
				c.DataCoord.Port = 1
			},
		},
		{name: "TTL at 1s", mutate: func(c *Config) { c.Common.SessionTTL = time.Second }},
		{
			name:    "no endpoints",
			mutate:  func(c *Config) { c.Etcd.Endpoints = nil },
			wantMsg: []string{"etcd.endpoints is empty", "BATON_ETCD_ENDPOINTS"},
		},
		{
			name:    "endpoint without a port",
			mutate:  func(c *Config) { c.Etcd.Endpoints = []string{"h:1", "nohost"} },
			wantMsg: []string{`etcd.endpoints item 2 "nohost"`, "host:port or a URL"},
		},
		{
			name:    "endpoint with a bad port",
			mutate:  func(c *Config) { c.Etcd.Endpoints = []string{"h:70000"} },
			wantMsg: []string{"etcd.endpoints", "1..65535"},
		},
		{
			name:    "endpoint with an unknown scheme",
			mutate:  func(c *Config) { c.Etcd.Endpoints = []string{"ftp://h:1"} },
			wantMsg: []string{"etcd.endpoints", `scheme "ftp"`},
		},
		{
			name:    "endpoint URL without a host",
			mutate:  func(c *Config) { c.Etcd.Endpoints = []string{"http://:2379"} },
			wantMsg: []string{"etcd.endpoints", "has no host"},
		},
		{
			name:    "endpoint with a space",
			mutate:  func(c *Config) { c.Etcd.Endpoints = []string{"a b:1"} },
			wantMsg: []string{"etcd.endpoints", "spaces"},
		},
		{
			name:    "empty rootPath",
			mutate:  func(c *Config) { c.Etcd.RootPath = "" },
			wantMsg: []string{"etcd.rootPath", "is empty"},
		},
		{
			name:    "rootPath with a leading slash",
			mutate:  func(c *Config) { c.Etcd.RootPath = "/by-dev" },
			wantMsg: []string{"etcd.rootPath", "remove the slash"},
		},
		{
			name:    "rootPath with a trailing slash",
			mutate:  func(c *Config) { c.Etcd.RootPath = "by-dev/" },
			wantMsg: []string{"etcd.rootPath", "remove the slash"},
		},
		{
			name:    "rootPath with a space",
			mutate:  func(c *Config) { c.Etcd.RootPath = "by dev" },
			wantMsg: []string{"etcd.rootPath", "spaces"},
		},
		{
			name:    "dial timeout zero",
			mutate:  func(c *Config) { c.Etcd.DialTimeout = 0 },
			wantMsg: []string{"etcd.dialTimeout is 0s", "BATON_ETCD_DIALTIMEOUT"},
		},
		{
			name:    "TTL too long",
			mutate:  func(c *Config) { c.Common.SessionTTL = time.Hour + time.Nanosecond },
			wantMsg: []string{"common.session.ttl", "between 1s and 1h"},
		},
		{
			name:    "log interval zero",
			mutate:  func(c *Config) { c.Common.StandbyLogInterval = 0 },
			wantMsg: []string{"common.activeStandby.logInterval is 0s", "positive"},
		},
		{
			name:    "shutdown timeout negative",
			mutate:  func(c *Config) { c.Common.ShutdownTimeout = -time.Second },
			wantMsg: []string{"common.shutdownTimeout is -1s", "positive"},
		},
		{
			name:    "log level",
			mutate:  func(c *Config) { c.Log.Level = "INFO" },
			wantMsg: []string{`log.level is "INFO"`, "debug, info, warn, error"},
		},
		{
			name:    "log format",
			mutate:  func(c *Config) { c.Log.Format = "xml" },
			wantMsg: []string{`log.format is "xml"`, "text, json"},
		},
		{
			name:    "empty address",
			mutate:  func(c *Config) { c.QueryCoord.Address = "" },
			wantMsg: []string{"queryCoord.address", "is empty", "BATON_QUERYCOORD_ADDRESS"},
		},
		{
			name:    "address with a port",
			mutate:  func(c *Config) { c.QueryCoord.Address = "h:1" },
			wantMsg: []string{"queryCoord.address", "port in <role>.port"},
		},
		{
			name:    "port too large",
			mutate:  func(c *Config) { c.DataCoord.Port = 65536 },
			wantMsg: []string{"dataCoord.port is 65536"},
		},
		{
			name: "all three roles clash",
			mutate: func(c *Config) {
				c.DataCoord.Port, c.QueryCoord.Port = 53100, 53100
			},
			wantMsg: []string{"rootCoord.port and dataCoord.port",
				"rootCoord.port and queryCoord.port", "dataCoord.port and queryCoord.port"},
		},
		{
			name: "every problem is reported",
			mutate: func(c *Config) {
				c.Log.Level, c.Log.Format, c.Etcd.RootPath = "x", "y", ""
			},
			wantMsg: []string{"log.level", "log.format", "etcd.rootPath"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.mutate(c)
			err := c.Validate()
			if tc.wantMsg == nil {
				if err != nil {
					t.Fatalf("Validate: unexpected error: %v", err)
				}
				return
			}
			checkErr(t, err, ErrInvalid, tc.wantMsg...)
		})
	}
}

func TestValidateNil(t *testing.T) {
	var c *Config
	checkErr(t, c.Validate(), ErrInvalid, "nil")
}

func TestCoord(t *testing.T) {
	c := Default()
	cases := []struct {
		role string
		want *CoordConfig
	}{
		{RoleRootCoord, &c.RootCoord},
		{RoleDataCoord, &c.DataCoord},
		{RoleQueryCoord, &c.QueryCoord},
	}
	for _, tc := range cases {
		got, err := c.Coord(tc.role)
		if err != nil || got != tc.want {
			t.Errorf("Coord(%q) = %p, %v; want %p", tc.role, got, err, tc.want)
		}
	}

	_, err := c.Coord("rootCoord")
	checkErr(t, err, ErrUnknownRole, `"rootCoord"`, "rootcoord, datacoord, querycoord")
	_, err = (*Config)(nil).Coord(RoleRootCoord)
	checkErr(t, err, ErrUnknownRole, "nil")
}

func TestRoles(t *testing.T) {
	want := []string{"rootcoord", "datacoord", "querycoord"}
	if got := Roles(); !reflect.DeepEqual(got, want) {
		t.Errorf("Roles() = %v; want %v", got, want)
	}
	Roles()[0] = "changed"
	if Roles()[0] != "rootcoord" {
		t.Error("Roles() returns a shared slice")
	}
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	a, b := Default(), Default()
	a.Etcd.Endpoints[0] = "changed:1"
	if b.Etcd.Endpoints[0] == "changed:1" {
		t.Error("Default() configs share their endpoint slice")
	}
}

func TestShippedFileEqualsDefault(t *testing.T) {
	got, err := Load(shippedFile, mapEnv(nil).lookup)
	if err != nil {
		t.Fatalf("Load(%s): %v", shippedFile, err)
	}
	if want := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("Load(%s):\n got %+v\nwant %+v", shippedFile, got, want)
	}
}

func TestShippedFileListsEveryKey(t *testing.T) {
	ss, err := fileSettings(shippedFile)
	if err != nil {
		t.Fatalf("fileSettings(%s): %v", shippedFile, err)
	}
	present := make(map[string]bool)
	for _, s := range ss {
		present[s.key.name] = true
	}
	text, err := os.ReadFile(shippedFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !k.alias && !present[k.name] {
			t.Errorf("%s does not set %s", shippedFile, k.name)
		}
		if !strings.Contains(string(text), k.env()) {
			t.Errorf("%s does not mention %s", shippedFile, k.env())
		}
	}
	for _, alias := range []string{"ETCD_ENDPOINTS", "ROOT_COORD_ADDRESS",
		"DATA_COORD_ENABLE_ACTIVE_STANDBY", "QUERY_COORD_ADDRESS"} {
		if !strings.Contains(string(text), alias) {
			t.Errorf("%s does not mention the alias %s", shippedFile, alias)
		}
	}
}

func TestKeyTable(t *testing.T) {
	if len(keysByEnv) != len(keys) || len(keysByName) != len(keys) {
		t.Fatalf("key names or variables collide: %d keys, %d names, %d variables",
			len(keys), len(keysByName), len(keysByEnv))
	}
	want := map[string]string{
		"common.session.ttl":              "BATON_COMMON_SESSION_TTL",
		"rootCoord.activeStandby.enabled": "BATON_ROOTCOORD_ACTIVESTANDBY_ENABLED",
		"etcd.rootPath":                   "BATON_ETCD_ROOTPATH",
	}
	for name, env := range want {
		if got := keysByName[name].env(); got != env {
			t.Errorf("%s.env() = %s; want %s", name, got, env)
		}
	}
}

// TestLoadProcessEnv checks that Load lists the process environment for
// unknown BATON_ variables, and that a map-backed lookup hides it.
func TestLoadProcessEnv(t *testing.T) {
	t.Setenv("BATON_LOG_LEVEL", "debug")
	c, err := Load("", os.LookupEnv)
	if err != nil || c.Log.Level != "debug" {
		t.Fatalf("Load with os.LookupEnv = %+v, %v; want log level debug", c, err)
	}

	t.Setenv("BATON_NO_SUCH_KEY", "1")
	_, err = Load("", os.LookupEnv)
	checkErr(t, err, ErrUnknownKey, "BATON_NO_SUCH_KEY")

	if _, err := Load("", mapEnv(nil).lookup); err != nil {
		t.Errorf("Load with an empty map saw the process environment: %v", err)
	}
	if _, err := Load("", nil); err != nil {
		t.Errorf("Load with a nil lookup: %v", err)
	}
}

func TestRootPathSegments(t *testing.T) {
	for _, p := range []string{"a//b", ".", "..", "a/../b", "a/./b", "/x", "x/", "a b"} {
		if err := CheckRootPath(p); err == nil {
			t.Errorf("root path %q accepted; two spellings must not name the same keys", p)
		}
	}
	for _, p := range []string{"by-dev", "team/prod", "a.b/c-d_e"} {
		if err := CheckRootPath(p); err != nil {
			t.Errorf("root path %q refused: %v", p, err)
		}
	}
}
