package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// errExited is returned when a process ended while we waited for a line.
var errExited = errors.New("process exited")

// logLine is one line a process printed, with the time the harness read it.
type logLine struct {
	at   time.Time
	text string
}

// proc is one child process. Its stdout and stderr go to a log file and
// are kept in memory line by line, each line stamped when it was read, so
// the harness can time log events on its own clock.
type proc struct {
	name string
	addr string // gRPC address of a coordinator, else ""
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	eof  chan struct{} // closed when its output has been read to the end

	mu struct {
		sync.Mutex
		lines []logLine
		grew  chan struct{} // closed and replaced at every new line
	}
}

// startProc starts bin with args and env, its output appended to logPath.
func startProc(name, addr, logPath, bin string, env []string, args ...string) (*proc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		_ = logFile.Close()
		return nil, err
	}
	p := &proc{name: name, addr: addr, done: make(chan struct{}), eof: make(chan struct{})}
	p.mu.grew = make(chan struct{})
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	p.cmd.SysProcAttr = sysProcAttr()
	err = p.cmd.Start()
	_ = pw.Close()
	if err != nil {
		_ = pr.Close()
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go p.read(pr, logFile)
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// read keeps every output line until the pipe closes.
func (p *proc) read(r io.ReadCloser, logFile *os.File) {
	defer close(p.eof)
	defer logFile.Close()
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := logLine{at: time.Now(), text: sc.Text()}
		_, _ = fmt.Fprintln(logFile, line.text)
		p.mu.Lock()
		p.mu.lines = append(p.mu.lines, line)
		close(p.mu.grew)
		p.mu.grew = make(chan struct{})
		p.mu.Unlock()
	}
}

// mark returns the number of lines read so far; pass it to waitLine to
// look only at later lines.
func (p *proc) mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.mu.lines)
}

// find returns the first line at or after index from that contains s.
func (p *proc) find(s string, from int) (logLine, bool, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.mu.lines[min(from, len(p.mu.lines)):] {
		if strings.Contains(l.text, s) {
			return l, true, nil
		}
	}
	return logLine{}, false, p.mu.grew
}

// waitLine waits up to timeout for a line at or after index from that
// contains s.
func (p *proc) waitLine(
	ctx context.Context,
	s string,
	from int,
	timeout time.Duration,
) (logLine, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		l, ok, grew := p.find(s, from)
		if ok {
			return l, nil
		}
		select {
		case <-grew:
		case <-p.eof:
			if l, ok, _ := p.find(s, from); ok {
				return l, nil
			}
			return logLine{}, fmt.Errorf("%s: %w before logging %q", p.name, errExited, s)
		case <-t.C:
			return logLine{}, fmt.Errorf("%s: no %q within %v", p.name, s, timeout)
		case <-ctx.Done():
			return logLine{}, ctx.Err()
		}
	}
}

// tail returns the last n lines, for error reports.
func (p *proc) tail(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, l := range p.mu.lines[max(0, len(p.mu.lines)-n):] {
		b.WriteString("    " + l.text + "\n")
	}
	return b.String()
}

func (p *proc) signal(sig syscall.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %v to %s: %w", sig, p.name, err)
	}
	return nil
}

// wait waits up to timeout for the process to exit and returns its exit
// code (-1 if it was killed by a signal).
func (p *proc) wait(timeout time.Duration) (int, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), nil
	case <-t.C:
		return 0, fmt.Errorf("%s did not exit within %v", p.name, timeout)
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

// kill sends SIGKILL and waits for the process to go.
func (p *proc) kill() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop asks the process to stop (SIGCONT first, in case it is frozen, then
// SIGTERM) and kills it if it has not exited within timeout.
func (p *proc) stop(timeout time.Duration) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if _, err := p.wait(timeout); err != nil {
		p.kill()
	}
}
