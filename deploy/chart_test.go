package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/config"
)

// envPrefixes maps each role to the prefix of its address and switch
// variables.
var envPrefixes = map[string]string{
	"rootcoord": "ROOT_COORD", "datacoord": "DATA_COORD", "querycoord": "QUERY_COORD",
}

// get walks nested maps and lists by key or index; nil if a step is missing.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any, path ...any) string { return toString(get(v, path...)) }

func list(v any, path ...any) []any {
	l, _ := get(v, path...).([]any)
	return l
}

// byKind returns the documents of kind, by name.
func byKind(docs []map[string]any, kind string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, d := range docs {
		if d["kind"] == kind {
			out[str(d, "metadata", "name")] = d
		}
	}
	return out
}

// container returns the only container of a workload's pod template.
func container(t *testing.T, workload map[string]any) map[string]any {
	t.Helper()
	cs := list(workload, "spec", "template", "spec", "containers")
	if len(cs) != 1 {
		t.Fatalf("%s: %d containers, want 1", str(workload, "metadata", "name"), len(cs))
	}
	return cs[0].(map[string]any)
}

// flags returns a container's --name=value arguments as a map.
func flags(c map[string]any) map[string]string {
	out := map[string]string{}
	for _, a := range list(c, "args") {
		name, val, ok := strings.Cut(toString(a), "=")
		if ok && strings.HasPrefix(name, "--") {
			out[name] = val
		}
	}
	return out
}

// subset reports whether every label of sel is in labels.
func subset(sel, labels any) bool {
	sm, _ := sel.(map[string]any)
	lm, _ := labels.(map[string]any)
	for k, v := range sm {
		if lm[k] != v {
			return false
		}
	}
	return len(sm) > 0
}

func TestChartDefaults(t *testing.T) {
	// A release named like the chart: its Services are baton-rootcoord and
	// the like, which is what makes Kubernetes' service links collide with
	// baton's BATON_ settings.
	files := renderChart(t, release{Name: "baton", Namespace: "db"})
	docs := manifests(t, files)

	counts := map[string]int{}
	for _, d := range docs {
		counts[toString(d["kind"])]++
		name := str(d, "metadata", "name")
		if d["apiVersion"] == nil || name == "" || len(name) > 63 {
			t.Errorf("%v %q: needs an apiVersion and a name of 1 to 63 characters", d["kind"], name)
		}
	}
	want := map[string]int{"ConfigMap": 1, "StatefulSet": 1, "Service": 5,
		"PodDisruptionBudget": 4, "Deployment": 3}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("objects by kind = %v, want %v", counts, want)
	}
	checkPodSecurity(t, docs)
	checkEtcd(t, docs, "db")
	checkCoordinators(t, docs, "active")
	if notes := files["NOTES.txt"]; !strings.Contains(notes,
		"kubectl -n db exec deploy/baton-rootcoord -- /baton ctl status") {
		t.Errorf("NOTES.txt does not say how to see the status:\n%s", notes)
	}
}

// checkPodSecurity: every pod runs as non-root on a read-only root, and
// gets no service links (they would set BATON_ variables).
func checkPodSecurity(t *testing.T, docs []map[string]any) {
	t.Helper()
	for _, kind := range []string{"StatefulSet", "Deployment"} {
		for name, w := range byKind(docs, kind) {
			pod := get(w, "spec", "template", "spec")
			if get(pod, "enableServiceLinks") != false {
				t.Errorf("%s %s: enableServiceLinks is not false", kind, name)
			}
			if get(pod, "securityContext", "runAsNonRoot") != true {
				t.Errorf("%s %s: runAsNonRoot is not true", kind, name)
			}
			c := container(t, w)
			if get(c, "securityContext", "readOnlyRootFilesystem") != true ||
				get(c, "securityContext", "allowPrivilegeEscalation") != false {
				t.Errorf("%s %s: container is not read-only and unprivileged", kind, name)
			}
		}
	}
}

// checkEtcd: each member advertises its stable DNS name, which is its entry
// in --initial-cluster and one of the coordinators' endpoints.
func checkEtcd(t *testing.T, docs []map[string]any, ns string) {
	t.Helper()
	sts := byKind(docs, "StatefulSet")["baton-etcd"]
	if sts == nil {
		t.Fatalf("no StatefulSet baton-etcd")
	}
	headless := byKind(docs, "Service")[str(sts, "spec", "serviceName")]
	if str(headless, "spec", "clusterIP") != "None" ||
		get(headless, "spec", "publishNotReadyAddresses") != true {
		t.Errorf("serviceName %q is not a headless Service that publishes unready members",
			str(sts, "spec", "serviceName"))
	}
	if str(sts, "spec", "podManagementPolicy") != "Parallel" {
		t.Errorf("podManagementPolicy is not Parallel: the first member would wait for quorum alone")
	}
	n, _ := toInt(get(sts, "spec", "replicas"))
	c := container(t, sts)
	f := flags(c)
	cluster := map[string]string{}
	for _, m := range strings.Split(f["--initial-cluster"], ",") {
		name, url, _ := strings.Cut(m, "=")
		cluster[name] = url
	}
	domain := fmt.Sprintf("%s.%s.svc.cluster.local", str(headless, "metadata", "name"), ns)
	var endpoints []string
	for i := range n {
		pod := fmt.Sprintf("baton-etcd-%d", i)
		expand := func(s string) string { return strings.ReplaceAll(s, "$(POD_NAME)", pod) }
		if got := expand(f["--initial-advertise-peer-urls"]); got != cluster[pod] ||
			got != fmt.Sprintf("http://%s.%s:2380", pod, domain) {
			t.Errorf("%s advertises peer URL %q; --initial-cluster has %q", pod, got, cluster[pod])
		}
		endpoints = append(endpoints, strings.TrimPrefix(expand(f["--advertise-client-urls"]),
			"http://"))
	}
	if n != 3 || len(cluster) != 3 || f["--name"] != "$(POD_NAME)" {
		t.Errorf("want 3 members named after their pods; replicas %d, --initial-cluster %v, --name %q",
			n, cluster, f["--name"])
	}
	for _, d := range byKind(docs, "Deployment") {
		if got := envOf(container(t, d))["ETCD_ENDPOINTS"]; got != strings.Join(endpoints, ",") {
			t.Errorf("%s: ETCD_ENDPOINTS=%q, want the members' client URLs %q",
				str(d, "metadata", "name"), got, strings.Join(endpoints, ","))
		}
	}
}

// envOf returns a container's plain environment values by name.
func envOf(c map[string]any) map[string]string {
	out := map[string]string{}
	for _, e := range list(c, "env") {
		out[str(e, "name")] = str(e, "value")
	}
	return out
}

// checkCoordinators: each role's Deployment, Service and budget fit
// together, and what the pod gives baton is what baton accepts.
func checkCoordinators(t *testing.T, docs []map[string]any, readiness string) {
	t.Helper()
	deps := byKind(docs, "Deployment")
	cms := byKind(docs, "ConfigMap")
	for role, prefix := range envPrefixes {
		d := deps["baton-"+role]
		if d == nil {
			t.Fatalf("no Deployment baton-%s", role)
		}
		c := container(t, d)
		port, _ := toInt(get(c, "ports", 0, "containerPort"))
		if r, _ := toInt(get(d, "spec", "replicas")); r != 2 {
			t.Errorf("%s: %d replicas, want 2", role, r)
		}

		// 1. Probes: liveness never looks at the health status.
		if str(c, "livenessProbe", "tcpSocket", "port") != "grpc" {
			t.Errorf("%s: liveness is not a TCP check of the grpc port", role)
		}
		grpcPort, _ := toInt(get(c, "readinessProbe", "grpc", "port"))
		wantUnavailable := "0"
		if readiness == "active" {
			wantUnavailable = "100%"
			if grpcPort != port {
				t.Errorf("%s: readiness is not the gRPC health check of port %d", role, port)
			}
		} else if str(c, "readinessProbe", "tcpSocket", "port") != "grpc" {
			t.Errorf("%s: readiness is not a TCP check of the grpc port", role)
		}
		if got := str(d, "spec", "strategy", "rollingUpdate", "maxUnavailable"); got != wantUnavailable {
			t.Errorf("%s: maxUnavailable %q, want %q", role, got, wantUnavailable)
		}

		// 2. The pod IP is defined before the address that uses it.
		env := list(c, "env")
		if str(env, 0, "name") != "POD_IP" ||
			str(env, 0, "valueFrom", "fieldRef", "fieldPath") != "status.podIP" {
			t.Errorf("%s: the first variable is not POD_IP from status.podIP", role)
		}
		if got := envOf(c)[prefix+"_ADDRESS"]; got != fmt.Sprintf("$(POD_IP):%d", port) {
			t.Errorf("%s: %s_ADDRESS=%q, want $(POD_IP):%d", role, prefix, got, port)
		}

		// 3. Baton accepts the mounted file and the environment.
		cm := cms[str(d, "spec", "template", "spec", "volumes", 0, "configMap", "name")]
		if cm == nil {
			t.Fatalf("%s: its config volume names no ConfigMap of the chart", role)
		}
		t.Run(role+"/config", func(t *testing.T) {
			checkBatonConfig(t, role, c, str(cm, "data", "baton.yaml"), port)
		})

		// 4. The Service and the budget select this role's pods.
		labels := get(d, "spec", "template", "metadata", "labels")
		svc := byKind(docs, "Service")["baton-"+role]
		pdb := byKind(docs, "PodDisruptionBudget")["baton-"+role]
		if !subset(get(svc, "spec", "selector"), labels) ||
			!subset(get(pdb, "spec", "selector", "matchLabels"), labels) {
			t.Errorf("%s: its Service or PodDisruptionBudget does not select its pods", role)
		}
		wantPolicy := map[string]string{"active": "AlwaysAllow", "listening": ""}[readiness]
		if got := str(pdb, "spec", "unhealthyPodEvictionPolicy"); got != wantPolicy {
			t.Errorf("%s: unhealthyPodEvictionPolicy %q, want %q", role, got, wantPolicy)
		}
	}
}

// checkBatonConfig loads the pod's baton.yaml and environment with baton's
// own loader, as `baton run ROLE --config ...` does, with POD_IP expanded.
func checkBatonConfig(t *testing.T, role string, c map[string]any, file string, port int) {
	path := filepath.Join(t.TempDir(), "baton.yaml")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := list(c, "args"); !reflect.DeepEqual(got,
		[]any{"run", role, "--config", "/etc/baton/baton.yaml"}) {
		t.Errorf("args %v", got)
	}
	for name, val := range envOf(c) {
		t.Setenv(name, strings.ReplaceAll(val, "$(POD_IP)", "10.1.2.3"))
	}
	cfg, err := config.Load(path, os.LookupEnv)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		t.Fatalf("baton refuses the pod's configuration: %v", err)
	}
	cc, err := cfg.Coord(role)
	if err != nil {
		t.Fatal(err)
	}
	if cc.Address != "10.1.2.3" || cc.Port != port || !cc.ActiveStandby {
		t.Errorf("address %s:%d, active-standby %v; want 10.1.2.3:%d, true",
			cc.Address, cc.Port, cc.ActiveStandby, port)
	}
	if len(cfg.Etcd.Endpoints) != 3 || cfg.Etcd.RootPath != "by-dev" {
		t.Errorf("etcd endpoints %v, root path %q", cfg.Etcd.Endpoints, cfg.Etcd.RootPath)
	}
}

func TestChartListeningReadiness(t *testing.T) {
	docs := manifests(t, renderChart(t, release{Name: "baton", Namespace: "db",
		values: map[string]any{"coordinators": map[string]any{"readiness": "listening"}}}))
	checkCoordinators(t, docs, "listening")
}

func TestChartVariants(t *testing.T) {
	tests := []struct {
		name   string
		rel    release
		check  func(t *testing.T, docs []map[string]any)
		errHas string // the render must fail with this
	}{
		{
			name: "other release name",
			rel:  release{Name: "prod", Namespace: "x"},
			check: func(t *testing.T, docs []map[string]any) {
				if byKind(docs, "Deployment")["prod-baton-rootcoord"] == nil {
					t.Errorf("no Deployment prod-baton-rootcoord")
				}
			},
		},
		{
			name: "external etcd",
			rel: release{Name: "b", Namespace: "x", values: map[string]any{
				"etcd":         map[string]any{"enabled": false},
				"externalEtcd": map[string]any{"endpoints": []any{"e1:2379", "e2:2379"}},
			}},
			check: func(t *testing.T, docs []map[string]any) {
				if len(byKind(docs, "StatefulSet")) != 0 {
					t.Errorf("a StatefulSet was rendered with etcd.enabled false")
				}
				for name, d := range byKind(docs, "Deployment") {
					if got := envOf(container(t, d))["ETCD_ENDPOINTS"]; got != "e1:2379,e2:2379" {
						t.Errorf("%s: ETCD_ENDPOINTS=%q", name, got)
					}
				}
			},
		},
		{
			name: "external etcd without endpoints",
			rel: release{Name: "b", Namespace: "x",
				values: map[string]any{"etcd": map[string]any{"enabled": false}}},
			errHas: "externalEtcd.endpoints",
		},
		{
			name: "unknown readiness",
			rel: release{Name: "b", Namespace: "x",
				values: map[string]any{"coordinators": map[string]any{"readiness": "serving"}}},
			errHas: "coordinators.readiness",
		},
		{
			name: "endpoints in config",
			rel: release{Name: "b", Namespace: "x", values: map[string]any{
				"config": map[string]any{"etcd": map[string]any{"endpoints": []any{"a:1"}}}}},
			errHas: "config.etcd.endpoints",
		},
		{
			name: "one copy without active-standby, preStop sleep, no persistence",
			rel: release{Name: "b", Namespace: "x", values: map[string]any{
				"datacoord":    map[string]any{"activeStandby": false, "replicas": 1},
				"coordinators": map[string]any{"preStopSleepSeconds": 5},
				"etcd": map[string]any{"replicas": 1,
					"persistence": map[string]any{"enabled": false}},
			}},
			check: func(t *testing.T, docs []map[string]any) {
				d := byKind(docs, "Deployment")["b-baton-datacoord"]
				c := container(t, d)
				if str(d, "spec", "strategy", "type") != "Recreate" ||
					envOf(c)["DATA_COORD_ENABLE_ACTIVE_STANDBY"] != "false" {
					t.Errorf("datacoord without active-standby: want Recreate and the switch off")
				}
				if s, _ := toInt(get(c, "lifecycle", "preStop", "sleep", "seconds")); s != 5 {
					t.Errorf("preStop sleep %d, want 5", s)
				}
				sts := byKind(docs, "StatefulSet")["b-baton-etcd"]
				if get(sts, "spec", "volumeClaimTemplates") != nil ||
					get(sts, "spec", "template", "spec", "volumes", 0, "emptyDir") == nil {
					t.Errorf("etcd without persistence: want an emptyDir and no claim")
				}
				if got := flags(container(t, sts))["--initial-cluster"]; strings.Count(got, "=") != 1 {
					t.Errorf("--initial-cluster %q, want one member", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := tryRenderChart(tt.rel)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("render error %v, want one about %s", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			docs := manifests(t, files)
			checkPodSecurity(t, docs)
			tt.check(t, docs)
		})
	}
}

// TestChartValuesConfig: values.yaml's config section is a baton.yaml that
// baton accepts, and every key it sets is one of baton's.
func TestChartValuesConfig(t *testing.T) {
	values := readYAML(filepath.Join(chartDir, "values.yaml"))
	text, err := toYAML(values["config"])
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "baton.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		t.Fatalf("values.yaml config: %v", err)
	}
	if !slices.Equal(cfg.Etcd.Endpoints, config.Default().Etcd.Endpoints) {
		t.Errorf("values.yaml config sets etcd.endpoints; the chart sets them")
	}
}
