package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// etcdReady bounds the wait for etcd to answer after it starts.
const etcdReady = 30 * time.Second

// harness owns everything a run starts: a temporary directory with the
// binaries, etcd's data and every process's log; one etcd member on free
// loopback ports; and the coordinators. close stops them all.
type harness struct {
	dir      string
	keep     bool
	baton    string // baton binary
	ref      string // refcoord binary
	endpoint string // etcd client address
	cli      *clientv3.Client
	progress io.Writer
	begin    time.Time
	maxPhase time.Duration // cap on the random wait before a signal; 0: none

	mu struct {
		sync.Mutex
		procs []*proc
		seq   int
	}
}

// newHarness builds the binaries and starts etcd.
func newHarness(ctx context.Context, progress io.Writer, keep bool) (*harness, error) {
	dir, err := os.MkdirTemp("", "baton-bench-")
	if err != nil {
		return nil, err
	}
	h := &harness{dir: dir, keep: keep, progress: progress, begin: time.Now()}
	if err := h.build(ctx); err != nil {
		h.close()
		return nil, err
	}
	if err := h.startEtcd(ctx); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

// build compiles baton and refcoord once into the temporary directory.
func (h *harness) build(ctx context.Context) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	h.baton = filepath.Join(h.dir, "baton")
	h.ref = filepath.Join(h.dir, "refcoord")
	builds := []struct{ bin, pkg string }{
		{h.baton, "./cmd/baton"},
		{h.ref, "./bench/failover/refcoord"},
	}
	for _, b := range builds {
		bin, pkg := b.bin, b.pkg
		h.progressf("building %s", pkg)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
		}
	}
	return nil
}

// moduleRoot returns the directory of Baton's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run the benchmark inside the Baton module (go env GOMOD is %q)", gomod)
	}
	return filepath.Dir(gomod), nil
}

// startEtcd starts `baton run etcd` on two free loopback ports.
func (h *harness) startEtcd(ctx context.Context) error {
	client, err := freeAddr()
	if err != nil {
		return err
	}
	peer, err := freeAddr()
	if err != nil {
		return err
	}
	p, err := h.start("etcd", "", h.baton, nil, "run", "etcd",
		"--data-dir", filepath.Join(h.dir, "etcd"),
		"--listen-client-urls", "http://"+client, "--listen-peer-urls", "http://"+peer)
	if err != nil {
		return err
	}
	h.endpoint = client
	h.cli, err = clientv3.New(clientv3.Config{
		Endpoints: []string{client}, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
	})
	if err != nil {
		return fmt.Errorf("etcd client: %w", err)
	}
	deadline := time.Now().Add(etcdReady)
	for {
		gctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := h.cli.Get(gctx, "bench-probe")
		cancel()
		switch {
		case err == nil:
			h.progressf("etcd serving at %s", client)
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case p.exited() || time.Now().After(deadline):
			return fmt.Errorf("etcd at %s does not answer: %v\n%s", client, err, p.tail(20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// start starts a process whose log goes to <dir>/<name>.log; it is
// stopped by close if still running.
func (h *harness) start(name, addr, bin string, env []string, args ...string) (*proc, error) {
	p, err := startProc(name, addr, filepath.Join(h.dir, name+".log"), bin,
		append(baseEnv(), env...), args...)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.mu.procs = append(h.mu.procs, p)
	h.mu.Unlock()
	return p, nil
}

// nextName returns a unique process name with prefix.
func (h *harness) nextName(prefix string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mu.seq++
	return fmt.Sprintf("%s-%d", prefix, h.mu.seq)
}

// close stops every process (coordinators first, etcd last) and removes
// the directory unless asked to keep it.
func (h *harness) close() {
	h.mu.Lock()
	procs := h.mu.procs
	h.mu.procs = nil
	h.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop(5 * time.Second)
	}
	if h.cli != nil {
		_ = h.cli.Close()
	}
	if h.keep {
		h.progressf("logs and data kept in %s", h.dir)
		return
	}
	_ = os.RemoveAll(h.dir)
}

// progressf prints one progress line, stamped with the time since start.
func (h *harness) progressf(format string, args ...any) {
	fmt.Fprintf(h.progress, "[%7.1fs] %s\n", time.Since(h.begin).Seconds(),
		fmt.Sprintf(format, args...))
}

// freeAddr returns a loopback host:port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// baseEnv is the harness's environment without any setting a coordinator
// reads, so the caller's shell cannot change what is measured.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "BATON_"), name == "ETCD_ENDPOINTS",
			strings.HasPrefix(name, "ROOT_COORD_"), strings.HasPrefix(name, "DATA_COORD_"),
			strings.HasPrefix(name, "QUERY_COORD_"):
			continue
		}
		env = append(env, kv)
	}
	return env
}
