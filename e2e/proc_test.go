package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/batonhq/baton/internal/etcdtest"
)

// binary is the baton binary built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "baton-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "baton")
	build := exec.Command("go", "build", "-o", binary, "../cmd/baton")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build baton:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one baton process whose output is kept in memory.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start runs baton with args and extra environment; the process is killed
// when the test ends and its output is logged if the test failed.
func start(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("---- output of %s ----\n%s", name, p.out.String())
		}
	})
	return p
}

func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %s: %v", p.name, err)
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(timeout time.Duration) (int, bool) {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), true
	case <-time.After(timeout):
		return -1, false
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// cluster is an etcd process plus the settings coordinators need.
type cluster struct {
	t        *testing.T
	endpoint string
	etcd     *proc
	cli      *clientv3.Client
}

func startEtcd(t *testing.T) *cluster {
	t.Helper()
	client, peer := etcdtest.FreeAddr(t), etcdtest.FreeAddr(t)
	p := start(t, "etcd", nil, "run", "etcd", "--data-dir", t.TempDir(),
		"--listen-client-urls", "http://"+client, "--listen-peer-urls", "http://"+peer)
	c := &cluster{t: t, endpoint: client, etcd: p, cli: etcdtest.NewClient(t, client)}
	eventually(t, 30*time.Second, "etcd serves", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := c.cli.Get(ctx, "probe")
		return err
	})
	return c
}

// env returns the environment of a coordinator of this cluster: a short
// TTL and standby log interval so the tests run quickly.
func (c *cluster) env(extra ...string) []string {
	return append([]string{
		"ETCD_ENDPOINTS=" + c.endpoint,
		"BATON_COMMON_SESSION_TTL=2",
		"BATON_COMMON_ACTIVESTANDBY_LOGINTERVAL=1s",
		"BATON_LOG_LEVEL=info",
	}, extra...)
}

// rootcoord starts a rootcoord with active-standby enabled on a free port.
func (c *cluster) rootcoord(name string, extraEnv ...string) (*proc, string) {
	addr := etcdtest.FreeAddr(c.t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	env := c.env(append([]string{"ROOT_COORD_ENABLE_ACTIVE_STANDBY=true"}, extraEnv...)...)
	return start(c.t, name, env, "run", "rootcoord", "--port", port), addr
}

// ctl runs `baton ctl` against the cluster and returns stdout; it fails the
// test on a non-zero exit.
func (c *cluster) ctl(args ...string) string {
	c.t.Helper()
	out, err := c.ctlErr(args...)
	if err != nil {
		c.t.Fatalf("baton ctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (c *cluster) ctlErr(args ...string) (string, error) {
	full := append([]string{"ctl", "--etcd", c.endpoint}, args...)
	cmd := exec.Command(binary, full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

type statusRow struct {
	Role       string `json:"role"`
	ServerID   int64  `json:"serverID"`
	Address    string `json:"address"`
	State      string `json:"state"`
	Epoch      int64  `json:"epoch"`
	TTLSeconds int64  `json:"ttlSeconds"`
	LeaseID    string `json:"leaseID"`
}

func (c *cluster) status() []statusRow {
	c.t.Helper()
	var rows []statusRow
	out := c.ctl("status", "-o", "json")
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		c.t.Fatalf("ctl status -o json printed %q: %v", out, err)
	}
	return rows
}

// waitState waits until the coordinator at addr shows state in ctl status.
func (c *cluster) waitState(addr, state string, timeout time.Duration) statusRow {
	c.t.Helper()
	var found statusRow
	eventually(c.t, timeout, addr+" is "+state, func() error {
		for _, r := range c.status() {
			if r.Address == addr && r.State == state {
				found = r
				return nil
			}
		}
		return fmt.Errorf("not yet")
	})
	return found
}

// eventually polls fn every 50 ms until it returns nil or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = fn(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting until %s: %v", timeout, what, err)
}
