package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"syscall"
	"time"
)

// Metrics of the scenarios.
var (
	mKillFirst   = metric{"kill -9 → first success", unitMs}
	mKillLogged  = metric{"kill -9 → takeover logged", unitMs}
	mTook        = metric{"promotion (took=)", unitMs}
	mTermFirst   = metric{"SIGTERM → first success", unitMs}
	mStopFirst   = metric{"SIGSTOP → first success", unitMs}
	mGap         = metric{"longest gap, client loop across kill -9", unitMs}
	mStandbyRSS  = metric{"standby RSS before kill", unitMiB}
	tookRE       = regexp.MustCompile(`\btook=(\S+)`)
	collectionRE = regexp.MustCompile(`\bcollections=(\d+)`)
)

// bench runs scenarios on groups and collects their rows.
type bench struct {
	h      *harness
	opt    options
	res    *results
	failed int // failed trials
}

// trial measures one failover of g and returns one value per metric.
type trial func(ctx context.Context, g *group) ([]float64, error)

// trials runs fn n times, adding each trial's values to the scenario's rows.
// A failed trial is counted and reported, and the pair is replaced by a
// fresh one; if that fails too, the remaining trials are not run.
func (b *bench) trials(
	ctx context.Context,
	g *group,
	scenario string,
	n int,
	metrics []metric,
	fn trial,
) error {
	rows := make([]*row, len(metrics))
	for i, m := range metrics {
		rows[i] = b.res.row(g.fl.system, scenario, g.fl.ttl, m)
	}
	for i := 1; i <= n; i++ {
		vals, err := fn(ctx, g)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			b.failed++
			for _, rw := range rows {
				rw.Failed++
				rw.Errors = append(rw.Errors, err.Error())
			}
			b.h.progressf("%s/%s trial %d/%d FAILED: %v", g.fl.system, scenario, i, n, err)
			if rerr := g.reset(ctx); rerr != nil {
				return fmt.Errorf("%s/%s: new pair after a failed trial: %w", g.fl.system, scenario, rerr)
			}
			continue
		}
		msg := ""
		for j, v := range vals {
			rows[j].Values = append(rows[j].Values, v)
			msg += fmt.Sprintf("; %s %s", metrics[j].name, value(v, metrics[j].unit))
		}
		b.h.progressf("%s/%s trial %d/%d%s", g.fl.system, scenario, i, n, msg)
	}
	return nil
}

// takeover is what one failover showed.
type takeover struct {
	first      time.Duration // signal → first success on the standby
	logged     time.Duration // signal → the standby logged its takeover
	took       time.Duration // took= in that line (baton only)
	standbyRSS int64         // the standby's RSS just before the signal
	standby    *proc         // the new active
	from       int           // its log mark before the signal
}

// failover sends sig to the active, times the standby's takeover, disposes
// of the old active and starts a new standby.
func (g *group) failover(ctx context.Context, sig syscall.Signal) (takeover, []string, error) {
	a, b := g.active, g.standby
	t := takeover{standby: b}
	poll, err := newPoller(ctx, b.addr)
	if err != nil {
		return t, nil, err
	}
	defer poll.close()
	if err := g.randomPhase(ctx); err != nil {
		return t, nil, err
	}
	if t.standbyRSS, err = rss(b.cmd.Process.Pid); err != nil {
		return t, nil, err
	}

	// 1. The signal, then the first answer and the takeover line.
	t.from = b.mark()
	sent := time.Now()
	if err := a.signal(sig); err != nil {
		return t, nil, err
	}
	at, err := poll.firstSuccess(ctx, g.takeoverWait())
	if err != nil {
		return t, nil, fmt.Errorf("%s after %v to %s: %w\n%s", b.name, sig, a.name, err, b.tail(15))
	}
	line, err := b.waitLine(ctx, g.fl.switched, t.from, 10*time.Second)
	if err != nil {
		return t, nil, err
	}
	t.first, t.logged = at.Sub(sent), line.at.Sub(sent)
	if g.fl.took {
		if t.took, err = parseTook(line.text); err != nil {
			return t, nil, err
		}
	}

	// 2. The old active goes; a new standby comes.
	notes := g.retire(a, sig)
	return t, notes, g.promoted(ctx)
}

// retire waits for the old active to go after sig, and returns anything
// odd about how it went.
func (g *group) retire(a *proc, sig syscall.Signal) []string {
	switch sig {
	case syscall.SIGSTOP:
		_ = a.signal(syscall.SIGCONT)
		a.kill()
		return nil
	case syscall.SIGTERM:
		code, err := a.wait(20 * time.Second)
		if err != nil {
			a.kill()
			return []string{fmt.Sprintf("%s: %v after SIGTERM", g.fl.system, err)}
		}
		if code != 0 {
			return []string{fmt.Sprintf("%s: %s exited %d after SIGTERM\n%s", g.fl.system,
				a.name, code, a.tail(10))}
		}
		return nil
	default:
		a.kill()
		return nil
	}
}

// randomPhase waits a random time below TTL/3, the renewal period of every
// lease here, so that the signal lands at a random point of the active's
// renewal cycle. Without it a lease-bound takeover would be timed at
// whatever phase the harness's own rhythm gives (in practice, just after a
// renewal: the worst case). -quick caps the wait.
func (g *group) randomPhase(ctx context.Context) error {
	limit := g.fl.ttl / 3
	if g.h.maxPhase > 0 {
		limit = min(limit, g.h.maxPhase)
	}
	t := time.NewTimer(rand.N(limit))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// parseTook reads the took= duration of a log line.
func parseTook(line string) (time.Duration, error) {
	m := tookRE.FindStringSubmatch(line)
	if m == nil {
		return 0, fmt.Errorf("no took= in %q", line)
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		return 0, fmt.Errorf("took= in %q: %w", line, err)
	}
	return d, nil
}

// crash: kill -9 of the active.
func (b *bench) crash(ctx context.Context, g *group, n int) error {
	metrics := []metric{mKillFirst, mKillLogged}
	if g.fl.took {
		metrics = append(metrics, mTook)
	}
	return b.trials(ctx, g, "crash", n, metrics, b.crashTrial)
}

func (b *bench) crashTrial(ctx context.Context, g *group) ([]float64, error) {
	t, err := b.failover(ctx, g, syscall.SIGKILL)
	vals := []float64{ms(t.first), ms(t.logged)}
	if g.fl.took {
		vals = append(vals, ms(t.took))
	}
	return vals, err
}

// graceful: SIGTERM of the active.
func (b *bench) graceful(ctx context.Context, g *group, n int) error {
	return b.trials(ctx, g, "graceful", n, []metric{mTermFirst},
		func(ctx context.Context, g *group) ([]float64, error) {
			t, err := b.failover(ctx, g, syscall.SIGTERM)
			return []float64{ms(t.first)}, err
		})
}

// frozen: SIGSTOP of the active; the lease has to run out.
func (b *bench) frozen(ctx context.Context, g *group, n int) error {
	return b.trials(ctx, g, "frozen", n, []metric{mStopFirst},
		func(ctx context.Context, g *group) ([]float64, error) {
			t, err := b.failover(ctx, g, syscall.SIGSTOP)
			return []float64{ms(t.first)}, err
		})
}

// failover runs g.failover and keeps its notes.
func (b *bench) failover(ctx context.Context, g *group, sig syscall.Signal) (takeover, error) {
	t, notes, err := g.failover(ctx, sig)
	for _, n := range notes {
		b.h.progressf("note: %s", n)
		b.res.notes = append(b.res.notes, n)
	}
	return t, err
}

// clientGap: a client loop runs across a kill -9 of the active; the
// longest time between two successful calls.
func (b *bench) clientGap(ctx context.Context, g *group, n int, newClient func() allocator) error {
	return b.trials(ctx, g, "client gap", n, []metric{mGap},
		func(ctx context.Context, g *group) ([]float64, error) {
			gap, err := g.clientGap(ctx, newClient())
			return []float64{ms(gap)}, err
		})
}

// loopWarmup is how long the client loop runs before the kill, and how
// long it must keep succeeding after the takeover.
const loopWarmup = 300 * time.Millisecond

func (g *group) clientGap(ctx context.Context, c allocator) (time.Duration, error) {
	defer c.Close()
	a, b := g.active, g.standby
	loop := startLoop(c, g.takeoverWait())
	stopped := false
	defer func() {
		if !stopped {
			_, _, _ = loop.stop()
		}
	}()

	// 1. Calls succeed for a while, then the active dies.
	if _, err := loop.waitSuccessAfter(ctx, time.Now().Add(loopWarmup), 30*time.Second); err != nil {
		return 0, err
	}
	if err := g.randomPhase(ctx); err != nil {
		return 0, err
	}
	from := b.mark()
	sent := time.Now()
	if err := a.signal(syscall.SIGKILL); err != nil {
		return 0, err
	}

	// 2. The standby takes over and calls succeed again for a while.
	line, err := b.waitLine(ctx, g.fl.switched, from, g.takeoverWait())
	if err != nil {
		return 0, fmt.Errorf("%w\n%s", err, b.tail(15))
	}
	if _, err := loop.waitSuccessAfter(ctx, line.at.Add(loopWarmup), g.takeoverWait()); err != nil {
		return 0, err
	}
	oks, errs, last := loop.stop()
	stopped = true
	if errs > 0 {
		return 0, fmt.Errorf("client loop: %d calls failed; last: %w", errs, last)
	}
	if !oks[0].Before(sent) {
		return 0, errors.New("client loop: no success before the kill")
	}
	a.kill()
	return longestGap(oks), g.promoted(ctx)
}

// loadedCollections reads collections= from the new active's activation
// line.
func loadedCollections(ctx context.Context, t takeover) (int, error) {
	line, err := t.standby.waitLine(ctx, msgStateLoaded, t.from, 10*time.Second)
	if err != nil {
		return 0, err
	}
	m := collectionRE.FindStringSubmatch(line.text)
	if m == nil {
		return 0, fmt.Errorf("no collections= in %q", line.text)
	}
	return strconv.Atoi(m[1])
}
