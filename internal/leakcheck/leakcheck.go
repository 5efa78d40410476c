// Package leakcheck fails a test that leaves Baton goroutines running.
//
// Check records the goroutines that exist when it is called and, when the
// test ends, waits a bounded time for every goroutine started since then
// whose stack mentions a Baton package (a frame or its "created by" line
// under github.com/batonhq/baton/) to exit. Goroutines of etcd, gRPC and the
// runtime are ignored unless Baton code started them or runs on them.
//
// The check sees the whole process, so it is only meaningful in tests that
// do not run in parallel with other tests of the same package.
package leakcheck

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Prefix marks the goroutines the check looks at.
const Prefix = "github.com/batonhq/baton/"

// DefaultWait is how long Check waits for goroutines to exit.
const DefaultWait = 5 * time.Second

// Check registers a cleanup that fails t if goroutines started after this
// call and running Baton code are still alive DefaultWait after the test
// and its other cleanups finished. Call it first in a test so that its
// cleanup runs last.
func Check(t testing.TB) {
	t.Helper()
	before := ids(goroutines())
	t.Cleanup(func() {
		leaked := Wait(before, DefaultWait)
		if len(leaked) > 0 {
			t.Errorf("leakcheck: %d goroutine(s) still running %s code after %v:\n\n%s",
				len(leaked), Prefix, DefaultWait, strings.Join(leaked, "\n\n"))
		}
	})
}

// Snapshot returns the IDs of the goroutines running now.
func Snapshot() map[string]bool { return ids(goroutines()) }

// Wait polls until no goroutine outside before runs Baton code, or timeout
// passes, and returns the stacks of those still running.
func Wait(before map[string]bool, timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	for {
		leaked := leaks(before)
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func leaks(before map[string]bool) []string {
	self := goroutineID(currentStack())
	var out []string
	for _, g := range goroutines() {
		id := goroutineID(g)
		if before[id] || id == self || !strings.Contains(g, Prefix) {
			continue
		}
		out = append(out, g)
	}
	return out
}

// goroutines returns one stack per goroutine.
func goroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if s := strings.TrimSpace(string(g)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func currentStack() string {
	buf := make([]byte, 256)
	return string(buf[:runtime.Stack(buf, false)])
}

func ids(stacks []string) map[string]bool {
	m := make(map[string]bool, len(stacks))
	for _, g := range stacks {
		m[goroutineID(g)] = true
	}
	return m
}

// goroutineID returns the N of a stack's "goroutine N [state]:" header.
func goroutineID(stack string) string {
	rest, ok := strings.CutPrefix(stack, "goroutine ")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, " ")
	return id
}
