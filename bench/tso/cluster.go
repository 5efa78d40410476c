package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
)

const (
	// rootPath keeps the benchmark's keys apart in its own etcd.
	rootPath = "bench-tso"
	// startTimeout bounds the start of each process.
	startTimeout = 60 * time.Second
	// stopTimeout is how long a process has to exit after SIGTERM.
	stopTimeout = 10 * time.Second
	// startAttempts is how often a process is started on fresh ports
	// when the free port it was given was taken in the meantime.
	startAttempts = 3
)

// cluster is an etcd process and one rootcoord process on 127.0.0.1.
type cluster struct {
	dir    string
	etcd   *proc
	rc     *proc
	rcAddr string
}

// startCluster builds baton unless cfg names a binary, then starts etcd
// and a rootcoord in dir and waits until the rootcoord issues timestamps.
func startCluster(ctx context.Context, cfg config, dir string) (*cluster, error) {
	bin := cfg.baton
	if bin == "" {
		bin = filepath.Join(dir, "baton")
		if err := buildBaton(ctx, bin); err != nil {
			return nil, err
		}
	}
	c := &cluster{dir: dir}
	endpoint, err := c.startEtcd(ctx, bin)
	if err != nil {
		return nil, err
	}
	if err := c.startRootCoord(ctx, bin, endpoint); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func buildBaton(ctx context.Context, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/batonhq/baton/cmd/baton")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build cmd/baton (run inside the baton module, or pass -baton): "+
			"%w\n%s", err, stderr.String())
	}
	return nil
}

// startEtcd starts `baton run etcd` and returns its client endpoint once
// it answers.
func (c *cluster) startEtcd(ctx context.Context, bin string) (string, error) {
	var lastErr error
	for attempt := range startAttempts {
		client, peer := freeAddr(), freeAddr()
		name := fmt.Sprintf("etcd-%d", attempt+1)
		p, err := startProc(c.dir, name, bin, cleanEnv(), "run", "etcd",
			"--data-dir", filepath.Join(c.dir, name),
			"--listen-client-urls", "http://"+client, "--listen-peer-urls", "http://"+peer)
		if err != nil {
			return "", err
		}
		if lastErr = waitEtcd(ctx, p, client); lastErr == nil {
			c.etcd = p
			return client, nil
		}
		// Only a process that exited (its port was taken) is worth another
		// attempt on fresh ports; one that ran but never served is not.
		exited := p.exited()
		p.stop()
		if ctx.Err() != nil || !exited {
			break
		}
	}
	return "", lastErr
}

func waitEtcd(ctx context.Context, p *proc, endpoint string) error {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: []string{endpoint}, DialTimeout: time.Second, Logger: zap.NewNop(),
	})
	if err != nil {
		return fmt.Errorf("etcd client for %s: %w", endpoint, err)
	}
	defer cli.Close()
	return p.waitReady(ctx, "etcd serves at "+endpoint, func(ctx context.Context) error {
		_, err := cli.Get(ctx, "bench-tso-probe")
		return err
	})
}

// startRootCoord starts `baton run rootcoord` and waits until it answers
// AllocTimestamp.
func (c *cluster) startRootCoord(ctx context.Context, bin, endpoint string) error {
	var lastErr error
	for attempt := range startAttempts {
		addr := freeAddr()
		port := addr[strings.LastIndexByte(addr, ':')+1:]
		env := append(cleanEnv(), "ETCD_ENDPOINTS="+endpoint, "BATON_ETCD_ROOTPATH="+rootPath,
			"BATON_LOG_LEVEL=warn")
		p, err := startProc(c.dir, fmt.Sprintf("rootcoord-%d", attempt+1), bin, env,
			"run", "rootcoord", "--port", port)
		if err != nil {
			return err
		}
		if lastErr = waitRootCoord(ctx, p, addr); lastErr == nil {
			c.rc, c.rcAddr = p, addr
			return nil
		}
		// Only a process that exited (its port was taken) is worth another
		// attempt on fresh ports; one that ran but never served is not.
		exited := p.exited()
		p.stop()
		if ctx.Err() != nil || !exited {
			break
		}
	}
	return lastErr
}

func waitRootCoord(ctx context.Context, p *proc, addr string) error {
	conn, err := dial(addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	rc := batonv1.NewRootCoordClient(conn)
	return p.waitReady(ctx, "rootcoord serves at "+addr, func(ctx context.Context) error {
		_, err := rc.AllocTimestamp(ctx, &batonv1.AllocTimestampRequest{Count: 1})
		return err
	})
}

func dial(addr string) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial rootcoord at %s: %w", addr, err)
	}
	return conn, nil
}

// stop sends SIGTERM to the rootcoord, then to etcd, and waits for both.
func (c *cluster) stop() {
	if c.rc != nil {
		c.rc.stop()
	}
	if c.etcd != nil {
		c.etcd.stop()
	}
}

// logs lists the processes' log files.
func (c *cluster) logs() string {
	paths, _ := filepath.Glob(filepath.Join(c.dir, "*.log"))
	return strings.Join(paths, " ")
}

// cleanEnv is the harness's environment without Baton's and etcd's
// settings, so a variable set in the caller's shell does not change what
// is measured.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "BATON_") || strings.HasPrefix(name, "ETCD") ||
			strings.HasSuffix(name, "_COORD_ADDRESS") ||
			strings.HasSuffix(name, "_COORD_ENABLE_ACTIVE_STANDBY") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// freeAddr returns a loopback host:port that was free a moment ago.
func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:1" // starting on it fails and is reported
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is one child process whose output goes to <dir>/<name>.log.
type proc struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

func startProc(dir, name, bin string, env []string, args ...string) (*proc, error) {
	p := &proc{name: name, logPath: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	out, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = childAttr()
	if err := p.cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		out.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitReady calls probe every 100 ms until it succeeds, the process exits
// or startTimeout passes.
func (p *proc) waitReady(
	ctx context.Context,
	what string,
	probe func(context.Context) error,
) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		err := probe(pctx)
		pcancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("waiting until %s: %s exited (%v); its log:\n%s",
				what, p.name, p.err, p.tail())
		case <-ctx.Done():
			return fmt.Errorf("waiting until %s: %w (last error: %v); log in %s",
				what, ctx.Err(), err, p.logPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM, and SIGKILL if the process has not exited after
// stopTimeout.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// tail returns the end of the process's log.
func (p *proc) tail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}
