package leakcheck

import (
	"strings"
	"testing"
	"time"
)

func TestGoroutineID(t *testing.T) {
	tests := []struct {
		stack, want string
	}{
		{"goroutine 17 [running]:\nmain.main()", "17"},
		{"goroutine 1 [chan receive, 3 minutes]:\n...", "1"},
		{"not a stack", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := goroutineID(tt.stack); got != tt.want {
			t.Errorf("goroutineID(%q) = %q, want %q", tt.stack, got, tt.want)
		}
	}
}

func TestWaitReportsAndForgives(t *testing.T) {
	before := Snapshot()
	stop := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		<-stop
	}()

	// Still running: reported, with a stack that says where.
	leaked := Wait(before, 100*time.Millisecond)
	if len(leaked) != 1 || !strings.Contains(leaked[0], "TestWaitReportsAndForgives") {
		t.Fatalf("want the one blocked goroutine reported, got %d:\n%s",
			len(leaked), strings.Join(leaked, "\n\n"))
	}

	// Exits during the wait: not reported.
	time.AfterFunc(50*time.Millisecond, func() { close(stop) })
	if leaked := Wait(before, 5*time.Second); len(leaked) != 0 {
		t.Fatalf("goroutine that exited is still reported:\n%s", strings.Join(leaked, "\n\n"))
	}
	<-exited
}

func TestWaitIgnoresEarlierGoroutines(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	go func() { <-stop }()
	before := Snapshot()
	if leaked := Wait(before, 0); len(leaked) != 0 {
		t.Fatalf("a goroutine from before the snapshot was reported:\n%s",
			strings.Join(leaked, "\n\n"))
	}
}

func TestCheckPassesCleanTest(t *testing.T) {
	Check(t)
	done := make(chan struct{})
	go func() { close(done) }()
	<-done
}
