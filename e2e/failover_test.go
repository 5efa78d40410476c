package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batonhq/baton/pkg/client"
)

type tsoOut struct {
	Timestamp uint64 `json:"timestamp"`
	Count     int    `json:"count"`
	Physical  string `json:"physical"`
	Logical   int64  `json:"logical"`
}

type idOut struct {
	First int64 `json:"first"`
	Count int64 `json:"count"`
}

func (c *cluster) tso(count int) tsoOut {
	c.t.Helper()
	var out tsoOut
	raw := c.ctl("tso", "--count", strconv.Itoa(count), "-o", "json")
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		c.t.Fatalf("ctl tso printed %q: %v", raw, err)
	}
	if _, err := time.Parse(time.RFC3339Nano, out.Physical); err != nil {
		c.t.Fatalf("ctl tso physical %q is not RFC 3339: %v", out.Physical, err)
	}
	return out
}

func (c *cluster) id(count int) idOut {
	c.t.Helper()
	var out idOut
	raw := c.ctl("id", "--count", strconv.Itoa(count), "-o", "json")
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		c.t.Fatalf("ctl id printed %q: %v", raw, err)
	}
	return out
}

func (c *cluster) collections() map[string]int64 {
	c.t.Helper()
	var list []struct {
		Name string `json:"name"`
		ID   int64  `json:"id"`
	}
	raw := c.ctl("collection", "list", "-o", "json")
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		c.t.Fatalf("ctl collection list printed %q: %v", raw, err)
	}
	out := map[string]int64{}
	for _, l := range list {
		out[l.Name] = l.ID
	}
	return out
}

// TestWalkthrough is the README walkthrough with real processes: an active
// and a standby rootcoord, DDL and allocations, kill -9 of the active, and
// the standby serving everything that was there.
func TestWalkthrough(t *testing.T) {
	c := startEtcd(t)
	if rows := c.ctl("status", "-o", "json"); strings.TrimSpace(rows) != "[]" {
		t.Fatalf("status of an empty cluster = %q, want []", rows)
	}

	// 2-3. An active and a standby.
	a, addrA := c.rootcoord("rootcoord-a")
	rowA := c.waitState(addrA, "ACTIVE", 20*time.Second)
	b, addrB := c.rootcoord("rootcoord-b")
	rowB := c.waitState(addrB, "STANDBY", 20*time.Second)
	if rowB.Epoch != rowA.Epoch || rowA.Epoch <= 0 || rowA.TTLSeconds <= 0 {
		t.Fatalf("status rows: active %+v, standby %+v", rowA, rowB)
	}
	standbyLine := regexp.MustCompile(`rootcoord is in STANDBY.*activeServerID=` +
		strconv.FormatInt(rowA.ServerID, 10) + ` activeAddress=` + regexp.QuoteMeta(addrA))
	eventually(t, 10*time.Second, "the standby logged twice that it is in STANDBY", func() error {
		if n := len(standbyLine.FindAllString(b.out.String(), -1)); n < 2 {
			return fmt.Errorf("%d standby lines naming the active", n)
		}
		return nil
	})

	// 4. DDL and allocations through the active.
	for i := range 5 {
		c.ctl("collection", "create", fmt.Sprintf("books_%d", i), "--dim", "16",
			"--field", "title:varchar", "-o", "json")
	}
	c.ctl("collection", "drop", "books_4")
	before := c.collections()
	var maxTS uint64
	var maxID int64
	for range 3 {
		ts := c.tso(10)
		maxTS = max(maxTS, ts.Timestamp+uint64(ts.Count)-1)
		id := c.id(100)
		maxID = max(maxID, id.First+id.Count-1)
	}

	// 5. kill -9 the active; the standby takes over with everything.
	a.signal(syscall.SIGKILL)
	c.waitState(addrB, "ACTIVE", 20*time.Second)
	if !strings.Contains(b.out.String(), "switched from STANDBY to ACTIVE") {
		t.Fatalf("the new active did not log its switch")
	}
	after := c.collections()
	if fmt.Sprint(after) != fmt.Sprint(before) || len(after) != 4 {
		t.Fatalf("collections after takeover %v, before %v", after, before)
	}
	if ts := c.tso(1); ts.Timestamp <= maxTS {
		t.Fatalf("timestamp %d after takeover is not above %d", ts.Timestamp, maxTS)
	}
	if id := c.id(1); id.First <= maxID {
		t.Fatalf("ID %d after takeover is not above %d", id.First, maxID)
	}
	describe := c.ctl("collection", "describe", "books_2", "-o", "json")
	if !strings.Contains(describe, `"float_vector"`) || !strings.Contains(describe, `"dim": 16`) {
		t.Fatalf("describe after takeover: %s", describe)
	}
}

// TestGracefulHandover sends SIGTERM to the active and measures how long
// the standby takes to serve a timestamp.
func TestGracefulHandover(t *testing.T) {
	c := startEtcd(t)
	a, addrA := c.rootcoord("rootcoord-a")
	c.waitState(addrA, "ACTIVE", 20*time.Second)
	_, addrB := c.rootcoord("rootcoord-b")
	c.waitState(addrB, "STANDBY", 20*time.Second)

	rc := client.New(c.cli, "by-dev", client.WithAttemptTimeout(time.Second))
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	last, err := rc.AllocTimestamp(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}

	sent := time.Now()
	a.signal(syscall.SIGTERM)
	var served time.Duration
	for {
		ts, err := rc.AllocTimestamp(ctx, 1)
		if err != nil {
			t.Fatalf("no timestamp after SIGTERM: %v", err)
		}
		if ts <= last {
			t.Fatalf("timestamp went back: %d after %d", ts, last)
		}
		last = ts
		if h, _ := rc.Active(ctx); h.Info.Address == addrB {
			served = time.Since(sent)
			break
		}
	}
	t.Logf("SIGTERM to the active -> standby served a timestamp: %v", served)
	if served > 2*time.Second {
		t.Fatalf("standby served %v after SIGTERM; want about 1 s", served)
	}
	code, ok := a.wait(15 * time.Second)
	if !ok || code != 0 {
		t.Fatalf("active after SIGTERM: exited=%v code=%d", ok, code)
	}
}

// TestStandbyStopsQuickly sends SIGTERM to a standby.
func TestStandbyStopsQuickly(t *testing.T) {
	c := startEtcd(t)
	_, addrA := c.rootcoord("rootcoord-a")
	c.waitState(addrA, "ACTIVE", 20*time.Second)
	b, addrB := c.rootcoord("rootcoord-b")
	c.waitState(addrB, "STANDBY", 20*time.Second)
	b.signal(syscall.SIGTERM)
	code, ok := b.wait(2 * time.Second)
	if !ok || code != 0 {
		t.Fatalf("standby after SIGTERM: exited within 2s=%v code=%d", ok, code)
	}
	for _, r := range c.status() {
		if r.Address == addrB {
			t.Fatalf("stopped standby still registered: %+v", r)
		}
	}
}

// TestStandbyDisabledRefuses starts a second rootcoord without
// active-standby: it must exit non-zero at once, naming the active.
func TestStandbyDisabledRefuses(t *testing.T) {
	c := startEtcd(t)
	_, addrA := c.rootcoord("rootcoord-a", "ROOT_COORD_ENABLE_ACTIVE_STANDBY=false")
	rowA := c.waitState(addrA, "ACTIVE", 20*time.Second)

	second, _ := c.rootcoord("rootcoord-b", "ROOT_COORD_ENABLE_ACTIVE_STANDBY=false")
	code, ok := second.wait(10 * time.Second)
	if !ok || code == 0 {
		t.Fatalf("second rootcoord: exited=%v code=%d; want a non-zero exit", ok, code)
	}
	out := second.out.String()
	for _, want := range []string{"already has an active", "server " + strconv.FormatInt(rowA.ServerID, 10),
		addrA, "rootCoord.activeStandby.enabled", "ROOT_COORD_ENABLE_ACTIVE_STANDBY"} {
		if !strings.Contains(out, want) {
			t.Errorf("refusal does not mention %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
		t.Fatalf("refusal panicked:\n%s", out)
	}
}

// TestRestartInPlaceWithoutStandby is the default deployment (standby
// disabled, one rootcoord) whose process crashes and is restarted at once on
// the same address: the new process must take over from its predecessor,
// quickly and without the "already has an active" refusal, because the
// predecessor cannot be alive where the new process holds the port.
func TestRestartInPlaceWithoutStandby(t *testing.T) {
	c := startEtcd(t)
	ttl := "BATON_COMMON_SESSION_TTL=10" // longer than the bound below
	a, addr := c.rootcoord("rootcoord-a", "ROOT_COORD_ENABLE_ACTIVE_STANDBY=false", ttl)
	rowA := c.waitState(addr, "ACTIVE", 20*time.Second)
	before := c.tso(1)

	a.signal(syscall.SIGKILL)
	a.wait(10 * time.Second)
	restarted := time.Now()
	b := c.scRootcoordAt("rootcoord-a2", addr, "ROOT_COORD_ENABLE_ACTIVE_STANDBY=false", ttl)
	eventually(t, 20*time.Second, "the restarted process is ACTIVE", func() error {
		for _, r := range c.status() {
			if r.Address == addr && r.State == "ACTIVE" && r.ServerID != rowA.ServerID {
				return nil
			}
		}
		return fmt.Errorf("not yet")
	})
	took := time.Since(restarted)
	t.Logf("restarted process active %v after its start (TTL 10 s)", took)
	if b.exited() {
		t.Fatalf("the restarted rootcoord exited:\n%s", b.out.String())
	}
	if strings.Contains(b.out.String(), "already has an active") {
		t.Fatalf("the restarted rootcoord was refused as a second active:\n%s", b.out.String())
	}
	if took > 6*time.Second {
		t.Fatalf("takeover by the restarted process took %v; it should not wait for the 10 s lease", took)
	}
	if after := c.tso(1); after.Timestamp <= before.Timestamp {
		t.Fatalf("timestamp %d after the restart is not above %d", after.Timestamp, before.Timestamp)
	}
}
