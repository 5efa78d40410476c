package metrics

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/etcdtest"
	"github.com/batonhq/baton/pkg/standby"
)

func TestServeExposesState(t *testing.T) {
	m := New()
	hook := m.StateHook("rootcoord")
	hook(standby.Standby)
	hook(standby.Activating)
	hook(standby.Active)
	m.ObserveActivation("rootcoord", 3*time.Millisecond)
	m.EvictHook("rootcoord")()

	addr := etcdtest.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, addr) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	var body string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{
		`baton_coordinator_state{role="rootcoord",state="ACTIVE"} 1`,
		`baton_coordinator_state{role="rootcoord",state="STANDBY"} 0`,
		`baton_coordinator_transitions_total{role="rootcoord",state="ACTIVATING"} 1`,
		`baton_coordinator_activation_seconds_count{role="rootcoord"} 1`,
		`baton_coordinator_evictions_total{role="rootcoord"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestServeRefusesTakenAddress(t *testing.T) {
	m := New()
	addr := etcdtest.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = m.Serve(ctx, addr) }()
	time.Sleep(100 * time.Millisecond)
	err := New().Serve(ctx, addr)
	if err == nil || !strings.Contains(err.Error(), "metrics.address") {
		t.Fatalf("second Serve on %s: %v; want an error naming metrics.address", addr, err)
	}
}
