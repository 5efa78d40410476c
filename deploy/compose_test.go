package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/config"
)

// composeFile is the compose project under test; compose/test.sh runs it
// for real, with Docker.
const composeFile = "compose/compose.yaml"

// defaultPorts are the roles' gRPC ports.
var defaultPorts = map[string]int{"rootcoord": 53100, "datacoord": 13333, "querycoord": 19531}

// interpolate applies compose's ${NAME:-default} with nothing set, as a
// plain `up` sees it.
func interpolate(s string) string {
	re := regexp.MustCompile(`\$\{[A-Z_]+:-([^}]*)\}`)
	return re.ReplaceAllString(s, "$1")
}

// composeServices returns compose.yaml's services, merge keys applied.
func composeServices(t *testing.T) (map[string]any, map[string]any) {
	t.Helper()
	doc := readYAML(composeFile)
	services, ok := doc["services"].(map[string]any)
	if !ok {
		t.Fatalf("%s has no services", composeFile)
	}
	return doc, services
}

func TestComposeNetworkAndPorts(t *testing.T) {
	doc, services := composeServices(t)
	if get(doc, "networks", "default", "internal") != true {
		t.Errorf("the default network is not internal")
	}
	for name, s := range services {
		if get(s, "ports") != nil || get(s, "network_mode") != nil || get(s, "networks") != nil {
			t.Errorf("%s: publishes ports or leaves the internal network", name)
		}
		if interpolate(str(s, "image")) != "baton:dev" || get(s, "read_only") != true ||
			!slices.Equal(list(s, "cap_drop"), []any{"ALL"}) {
			t.Errorf("%s: want image baton:dev, a read-only root and no capabilities", name)
		}
	}
	health := list(services["etcd"], "healthcheck", "test")
	if len(health) < 3 || health[0] != "CMD" || health[1] != "/baton" || health[2] != "ctl" {
		t.Errorf("etcd's healthcheck %v is not `baton ctl` in exec form (there is no shell)", health)
	}
}

// TestComposeCoordinators: two of each role, each advertising its own
// service name, and baton accepts each one's environment.
func TestComposeCoordinators(t *testing.T) {
	_, services := composeServices(t)
	perRole := map[string]int{}
	for name, s := range services {
		role, _, ok := strings.Cut(name, "-")
		if _, known := defaultPorts[role]; !ok || !known {
			continue
		}
		perRole[role]++
		if !slices.Equal(list(s, "command"), []any{"run", role}) || str(s, "hostname") != name {
			t.Errorf("%s: command %v, hostname %q", name, list(s, "command"), str(s, "hostname"))
		}
		t.Run(name, func(t *testing.T) {
			env, _ := get(s, "environment").(map[string]any)
			for k, v := range env {
				t.Setenv(k, interpolate(toString(v)))
			}
			cfg, err := config.Load("", os.LookupEnv)
			if err == nil {
				err = cfg.Validate()
			}
			if err != nil {
				t.Fatalf("baton refuses the environment of %s: %v", name, err)
			}
			cc, _ := cfg.Coord(role)
			if cc.Address != name || cc.Port != defaultPorts[role] || !cc.ActiveStandby {
				t.Errorf("advertises %s:%d with active-standby %v; want %s:%d, true",
					cc.Address, cc.Port, cc.ActiveStandby, name, defaultPorts[role])
			}
			if !slices.Equal(cfg.Etcd.Endpoints, []string{"etcd:2379"}) ||
				cfg.Common.SessionTTL != 10*time.Second {
				t.Errorf("etcd %v, session TTL %v", cfg.Etcd.Endpoints, cfg.Common.SessionTTL)
			}
		})
	}
	want := map[string]int{"rootcoord": 2, "datacoord": 2, "querycoord": 2}
	if fmt.Sprint(perRole) != fmt.Sprint(want) {
		t.Errorf("coordinators per role = %v, want %v", perRole, want)
	}
}

// TestEtcdFlags: every flag the compose file and the chart give
// `baton run etcd` exists, and etcd advertises what the others dial.
func TestEtcdFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the baton binary")
	}
	bin := filepath.Join(t.TempDir(), "baton")
	build := exec.Command("go", "build", "-o", bin, "../cmd/baton")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build baton: %v\n%s", err, out)
	}
	help, err := exec.Command(bin, "run", "etcd", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("baton run etcd --help: %v\n%s", err, help)
	}

	_, services := composeServices(t)
	composeArgs := list(services["etcd"], "command")
	sts := byKind(manifests(t, renderChart(t, release{Name: "b", Namespace: "x"})),
		"StatefulSet")["b-baton-etcd"]
	chartArgs := list(container(t, sts), "args")
	for _, args := range [][]any{composeArgs, chartArgs} {
		if len(args) < 2 || args[0] != "run" || args[1] != "etcd" {
			t.Errorf("etcd's arguments %v do not start with run etcd", args)
		}
		for _, a := range args[min(2, len(args)):] {
			name, _, _ := strings.Cut(toString(a), "=")
			if !strings.HasPrefix(name, "--") || !strings.Contains(string(help), " "+name+" ") {
				t.Errorf("`baton run etcd` has no flag %q", name)
			}
		}
	}
	f := flags(map[string]any{"args": composeArgs})
	if f["--advertise-client-urls"] != "http://etcd:2379" ||
		f["--listen-client-urls"] != "http://0.0.0.0:2379" {
		t.Errorf("compose etcd listens on %q and advertises %q; want all interfaces and etcd:2379",
			f["--listen-client-urls"], f["--advertise-client-urls"])
	}
}
