package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batonhq/baton/pkg/client"
)

// TestClientLeavesFrozenActive freezes the active (SIGSTOP) while a client
// call is in flight to it. The call must land on the new active soon after
// the takeover, not after its attempt timeout: the client watches the
// ACTIVE key and abandons an attempt to an active that was replaced.
func TestClientLeavesFrozenActive(t *testing.T) {
	c := startEtcd(t)
	a, addrA := c.rootcoord("rootcoord-a")
	c.waitState(addrA, "ACTIVE", 20*time.Second)
	_, addrB := c.rootcoord("rootcoord-b")
	rowB := c.waitState(addrB, "STANDBY", 20*time.Second)

	// The attempt timeout is far longer than the takeover (TTL 2 s), so a
	// client that waited it out would be obvious.
	const attempt = 20 * time.Second
	rc := client.New(c.cli, "by-dev", client.WithAttemptTimeout(attempt))
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	before, err := rc.AllocTimestamp(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}

	a.signal(syscall.SIGSTOP)
	t.Cleanup(func() { _ = a.cmd.Process.Signal(syscall.SIGCONT) })
	frozen := time.Now()
	eventually(t, 5*time.Second, "the active is stopped", func() error {
		return stoppedState(a.cmd.Process.Pid)
	})
	after, err := rc.AllocTimestamp(ctx, 1)
	took := time.Since(frozen)
	if err != nil {
		t.Fatalf("call across the freeze: %v", err)
	}
	t.Logf("call sent to a frozen active answered after %v (TTL 2 s, attempt timeout %v)", took, attempt)
	if after <= before {
		t.Fatalf("timestamp %d after the freeze is not above %d", after, before)
	}
	if h, err := rc.Active(ctx); err != nil || int64(h.Info.ServerID) != rowB.ServerID {
		t.Fatalf("client talks to %+v (%v), want the former standby, server %d", h.Info, err, rowB.ServerID)
	}
	// Takeover needs the lease to lapse (2 s) plus the standby's campaign;
	// waiting out the attempt would take 20 s.
	if took > 8*time.Second {
		t.Fatalf("the call took %v: the client waited for its attempt to time out instead of "+
			"following the new active", took)
	}
}

// stoppedState returns nil once the process is in state T (stopped).
func stoppedState(pid int) error {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return err
	}
	// The state follows the command name, which is in parentheses.
	rest := string(raw)[strings.LastIndexByte(string(raw), ')')+2:]
	if !strings.HasPrefix(rest, "T") {
		return fmt.Errorf("state %q", rest[:1])
	}
	return nil
}
