package election_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/batonhq/baton/internal/etcdtest"
	"github.com/batonhq/baton/internal/leakcheck"
	"github.com/batonhq/baton/internal/testproxy"
	"github.com/batonhq/baton/pkg/election"
	"github.com/batonhq/baton/pkg/session"
)

const (
	root = "test-root"
	role = "rootcoord"
	ttl  = 2 * time.Second
)

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// candidate registers a session at address and returns a candidate for it.
// Both are closed when the test ends.
func candidate(t *testing.T, cli *clientv3.Client, address string) *election.Candidate {
	t.Helper()
	s, err := session.New(testCtx(t, 20*time.Second), cli, root, role, address,
		session.WithTTL(ttl))
	if err != nil {
		t.Fatalf("session.New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return election.NewCandidate(s, nil)
}

// win campaigns once and fails the test unless c won.
func win(t *testing.T, c *election.Candidate) *election.Term {
	t.Helper()
	term, h, err := c.Campaign(testCtx(t, 10*time.Second))
	if err != nil || term == nil {
		t.Fatalf("campaign: term %v, holder %+v, err %v", term, h, err)
	}
	t.Cleanup(func() { term.End(nil) })
	return term
}

// lose campaigns once and fails the test unless c lost.
func lose(t *testing.T, c *election.Candidate) election.Holder {
	t.Helper()
	term, h, err := c.Campaign(testCtx(t, 10*time.Second))
	if err != nil || term != nil {
		t.Fatalf("campaign: want a loss, got term %v, err %v", term, err)
	}
	return h
}

func get(t *testing.T, cli *clientv3.Client, key string) (string, bool) {
	t.Helper()
	resp, err := cli.Get(testCtx(t, 5*time.Second), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if len(resp.Kvs) == 0 {
		return "", false
	}
	return string(resp.Kvs[0].Value), true
}

func put(t *testing.T, cli *clientv3.Client, key, val string) {
	t.Helper()
	if _, err := cli.Put(testCtx(t, 5*time.Second), key, val); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func del(t *testing.T, cli *clientv3.Client, key string) {
	t.Helper()
	if _, err := cli.Delete(testCtx(t, 5*time.Second), key); err != nil {
		t.Fatalf("delete %s: %v", key, err)
	}
}

// ended waits for the term to end and returns why.
func ended(t *testing.T, term *election.Term, within time.Duration) error {
	t.Helper()
	select {
	case <-term.Done():
		return term.Err()
	case <-time.After(within):
		t.Fatalf("term of epoch %d did not end within %v", term.Epoch(), within)
		return nil
	}
}

func TestExactlyOneOfTwoWins(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	cands := []*election.Candidate{
		candidate(t, c.NewClient(t), "10.0.0.1:1"),
		candidate(t, c.NewClient(t), "10.0.0.2:2"),
	}

	// 1. Both campaign at once.
	terms := make([]*election.Term, 2)
	holders := make([]election.Holder, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, cand := range cands {
		wg.Go(func() { terms[i], holders[i], errs[i] = cand.Campaign(testCtx(t, 10*time.Second)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("campaign %d: %v", i, err)
		}
	}
	if (terms[0] == nil) == (terms[1] == nil) {
		t.Fatalf("want exactly one winner, got terms %v", terms)
	}
	w, l := 0, 1
	if terms[0] == nil {
		w, l = 1, 0
	}
	term := terms[w]
	t.Cleanup(func() { term.End(nil) })

	// 2. The loser learns who won, with the winner's epoch and lease.
	h := holders[l]
	winner := sessionOf(t, c.Client, cands[w])
	if h.Info.ServerID != winner.ServerID || h.Info.Address != winner.Address ||
		h.Epoch != term.Epoch() || int64(h.Lease) != winner.LeaseID || h.Revision < h.Epoch {
		t.Fatalf("loser's holder %+v; want server %d at %s, epoch %d, lease %x",
			h, winner.ServerID, winner.Address, term.Epoch(), winner.LeaseID)
	}
	if h.Info.ActiveSince.IsZero() {
		t.Fatal("the ACTIVE key has no activeSince")
	}

	// 3. Everyone reads the same holder.
	for i, cand := range cands {
		cur, ok, err := cand.Current(testCtx(t, 5*time.Second))
		if err != nil || !ok || cur.Epoch != term.Epoch() || cur.Info.ServerID != winner.ServerID {
			t.Fatalf("Current from %d: %+v, %v, %v", i, cur, ok, err)
		}
	}
	if !term.Valid() || term.Err() != nil {
		t.Fatalf("a fresh term is not valid: err %v", term.Err())
	}
}

// sessionOf reads the session Info behind a candidate's ACTIVE key.
func sessionOf(t *testing.T, cli *clientv3.Client, c *election.Candidate) session.Info {
	t.Helper()
	h, ok, err := election.ReadHolder(testCtx(t, 5*time.Second), cli, c.Key())
	if err != nil || !ok {
		t.Fatalf("read holder: %v %v", ok, err)
	}
	return h.Info
}

func TestTxnIsFencedOnceReplaced(t *testing.T) {
	tests := []struct {
		name    string
		replace bool // the other candidate wins after the deletion
	}{
		{"deleted", false},
		{"re-won by the other", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leakcheck.Check(t)
			c := etcdtest.Start(t)
			a := candidate(t, c.NewClient(t), "a:1")
			b := candidate(t, c.NewClient(t), "b:1")
			old := win(t, a)
			lose(t, b)

			// 1. While valid, fenced writes go through.
			if _, err := old.Txn(testCtx(t, 5*time.Second), nil, clientv3.OpPut("data", "old")); err != nil {
				t.Fatalf("txn of a valid term: %v", err)
			}

			// 2. The ACTIVE key goes away, maybe to the other candidate.
			del(t, c.Client, a.Key())
			want := "old"
			if tt.replace {
				next := win(t, b)
				if next.Epoch() <= old.Epoch() {
					t.Fatalf("new epoch %d is not above the old %d", next.Epoch(), old.Epoch())
				}
				if _, err := next.Txn(testCtx(t, 5*time.Second), nil, clientv3.OpPut("data", "new")); err != nil {
					t.Fatalf("txn of the new term: %v", err)
				}
				want = "new"
			}

			// 3. At etcd, the old fence no longer holds, however late a
			// write arrives.
			resp, err := c.Client.Txn(testCtx(t, 5*time.Second)).If(old.Fence()).
				Then(clientv3.OpPut("data", "late")).Commit()
			if err != nil || resp.Succeeded {
				t.Fatalf("raw txn under the old fence: succeeded %v, err %v", resp != nil && resp.Succeeded, err)
			}

			// 4. Term.Txn refuses, whether or not the term noticed yet.
			_, err = old.Txn(testCtx(t, 5*time.Second), nil, clientv3.OpPut("data", "stale"))
			if !errors.Is(err, election.ErrFenced) {
				t.Fatalf("txn of a replaced term = %v, want ErrFenced", err)
			}
			if got, _ := get(t, c.Client, "data"); got != want {
				t.Fatalf("data = %q after a fenced write, want %q", got, want)
			}
			reason := ended(t, old, 5*time.Second)
			if !errors.Is(reason, election.ErrDeposed) && !errors.Is(reason, election.ErrFenced) {
				t.Fatalf("replaced term ended with %v, want ErrDeposed or ErrFenced", reason)
			}
			if old.Valid() {
				t.Fatal("a replaced term is still valid")
			}
		})
	}
}

func TestTxnConflictKeepsTheTerm(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	term := win(t, candidate(t, c.Client, "a:1"))
	put(t, c.Client, "guard", "v1")

	resp, err := term.Txn(testCtx(t, 5*time.Second),
		[]clientv3.Cmp{clientv3.Compare(clientv3.Value("guard"), "=", "v2")},
		clientv3.OpPut("data", "x"))
	if !errors.Is(err, election.ErrConflict) || errors.Is(err, election.ErrFenced) {
		t.Fatalf("txn with a failing compare = %v, want ErrConflict", err)
	}
	if resp == nil || resp.Succeeded {
		t.Fatal("a conflicting txn should return its response, not succeeded")
	}
	if _, ok := get(t, c.Client, "data"); ok {
		t.Fatal("a conflicting txn wrote anyway")
	}
	if !term.Valid() || term.Err() != nil {
		t.Fatalf("a conflict ended the term: %v", term.Err())
	}

	// The same compare, once true, passes.
	if _, err := term.Txn(testCtx(t, 5*time.Second),
		[]clientv3.Cmp{clientv3.Compare(clientv3.Value("guard"), "=", "v1")},
		clientv3.OpPut("data", "x")); err != nil {
		t.Fatalf("txn with a true compare: %v", err)
	}
	if got, _ := get(t, c.Client, "data"); got != "x" {
		t.Fatalf("data = %q, want x", got)
	}
}

func TestResignHandsOverPromptly(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	a := candidate(t, c.NewClient(t), "a:1")
	b := candidate(t, c.NewClient(t), "b:1")
	old := win(t, a)
	h := lose(t, b)

	// 1. b waits for the role; a resigns.
	vacant := make(chan error, 1)
	changes := 0
	ctx := testCtx(t, 20*time.Second)
	go func() { vacant <- b.WaitVacant(ctx, h, func(election.Holder) { changes++ }) }()
	time.Sleep(100 * time.Millisecond) // let the watch start; correctness does not depend on it
	start := time.Now()
	if err := old.Resign(testCtx(t, 5*time.Second)); err != nil {
		t.Fatalf("resign: %v", err)
	}

	// 2. b hears of it at once.
	select {
	case err := <-vacant:
		if err != nil {
			t.Fatalf("WaitVacant: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitVacant did not return after the resignation")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("WaitVacant returned %v after Resign, want < 2s", took)
	}
	if changes != 0 {
		t.Fatalf("onChange called %d times for a plain resignation", changes)
	}
	if _, ok := get(t, c.Client, a.Key()); ok {
		t.Fatal("ACTIVE key survived Resign")
	}
	if !errors.Is(old.Err(), election.ErrResigned) || old.Valid() {
		t.Fatalf("resigned term: err %v, valid %v", old.Err(), old.Valid())
	}

	// 3. b wins; a late second Resign of the old term leaves b's key alone.
	next := win(t, b)
	if err := old.Resign(testCtx(t, 5*time.Second)); err != nil {
		t.Fatalf("second resign: %v", err)
	}
	if cur, ok, err := b.Current(testCtx(t, 5*time.Second)); err != nil || !ok || cur.Epoch != next.Epoch() {
		t.Fatalf("after a stale Resign: holder %+v, %v, %v; want epoch %d", cur, ok, err, next.Epoch())
	}
}

func TestWaitVacant(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	a := candidate(t, c.NewClient(t), "a:1")
	b := candidate(t, c.NewClient(t), "b:1")
	term := win(t, a)
	h := lose(t, b)

	// A stale holder: the key went away after h was read.
	if err := term.Resign(testCtx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitVacant(testCtx(t, 5*time.Second), h, nil); err != nil {
		t.Fatalf("WaitVacant with a stale holder: %v", err)
	}

	// An occupied role: WaitVacant returns the context's error.
	win(t, a)
	h = lose(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := b.WaitVacant(ctx, h, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitVacant on an occupied role = %v, want DeadlineExceeded", err)
	}
}

func TestCorruptActiveKey(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	a := candidate(t, c.Client, "a:1")
	// On a lease, so it could be a live holder that Baton cannot read.
	lease, err := c.Client.Grant(testCtx(t, 5*time.Second), 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.Put(testCtx(t, 5*time.Second), a.Key(), "{not json",
		clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}

	// 1. Campaign and Current report it; nothing panics.
	term, _, err := a.Campaign(testCtx(t, 5*time.Second))
	if term != nil || !errors.Is(err, election.ErrCorruptActive) {
		t.Fatalf("campaign on a corrupt key: term %v, err %v; want ErrCorruptActive", term, err)
	}
	h, ok, err := a.Current(testCtx(t, 5*time.Second))
	if ok || !errors.Is(err, election.ErrCorruptActive) || h.Epoch == 0 {
		t.Fatalf("Current on a corrupt key: %+v, %v, %v", h, ok, err)
	}

	// 2. A standby can still wait for it to go away.
	vacant := make(chan error, 1)
	go func() { vacant <- a.WaitVacant(testCtx(t, 20*time.Second), h, nil) }()
	put(t, c.Client, a.Key(), "still garbage")
	del(t, c.Client, a.Key())
	select {
	case err := <-vacant:
		if err != nil {
			t.Fatalf("WaitVacant: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitVacant did not notice the corrupt key's deletion")
	}
	win(t, a)
}

func TestTermEndsWhenLeaseIsLost(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	p := testproxy.New(t, c.Endpoint)
	a := candidate(t, etcdtest.NewClient(t, p.Addr()), "a:1")
	term := win(t, a)
	if _, err := term.Txn(testCtx(t, 5*time.Second), nil, clientv3.OpPut("data", "1")); err != nil {
		t.Fatal(err)
	}

	// 1. The active is cut off from etcd for longer than the TTL.
	p.Block(testproxy.Blackhole)
	reason := ended(t, term, 3*ttl)
	endedAt := time.Now()
	if !errors.Is(reason, election.ErrLeaseLost) || term.Valid() {
		t.Fatalf("term ended with %v (valid %v), want ErrLeaseLost", reason, term.Valid())
	}

	// 2. It refuses to write without sending anything.
	start := time.Now()
	_, err := term.Txn(testCtx(t, 5*time.Second), nil, clientv3.OpPut("data", "2"))
	if !errors.Is(err, election.ErrFenced) || !errors.Is(err, election.ErrLeaseLost) {
		t.Fatalf("txn after the lease was lost = %v, want ErrFenced and ErrLeaseLost", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("refusing took %v; it should not touch the network", took)
	}

	// 3. etcd drops the ACTIVE key only after the term ended.
	deadline := time.Now().Add(3 * ttl)
	for {
		if _, ok := get(t, c.Client, a.Key()); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("etcd kept the ACTIVE key of an expired lease")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("ACTIVE key gone %v after the term ended", time.Since(endedAt).Round(time.Millisecond))
	if got, _ := get(t, c.Client, "data"); got != "1" {
		t.Fatalf("data = %q, want 1", got)
	}
	p.Restore()
}

func TestTermEndsWhenLeaseIsRevoked(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	a := candidate(t, c.Client, "a:1")
	term := win(t, a)
	h, _, err := a.Current(testCtx(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.Revoke(testCtx(t, 5*time.Second), h.Lease); err != nil {
		t.Fatal(err)
	}
	// The watch sees the key deleted, or the renewal hears the lease is
	// gone: either way the term ends at once, long before the deadline.
	reason := ended(t, term, ttl)
	if !errors.Is(reason, election.ErrDeposed) && !errors.Is(reason, election.ErrLeaseLost) {
		t.Fatalf("term ended with %v", reason)
	}
}

func TestCampaignNeedsALiveLease(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	s, err := session.New(testCtx(t, 20*time.Second), c.Client, root, role, "a:1",
		session.WithTTL(ttl))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	cand := election.NewCandidate(s, nil)

	// 1. The lease is lost (revoked behind the session's back).
	lease, lost := s.Lease()
	if _, err := c.Client.Revoke(testCtx(t, 5*time.Second), lease); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
	case <-time.After(3 * ttl):
		t.Fatal("revoked lease not noticed")
	}

	// 2. Campaign refuses and writes nothing.
	term, _, err := cand.Campaign(testCtx(t, 5*time.Second))
	if term != nil || !errors.Is(err, election.ErrLeaseLost) {
		t.Fatalf("campaign without a lease: term %v, err %v; want ErrLeaseLost", term, err)
	}
	if _, ok := get(t, c.Client, cand.Key()); ok {
		t.Fatal("campaign without a lease wrote the ACTIVE key")
	}

	// 3. After Renew it wins.
	if err := s.Renew(testCtx(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	win(t, cand)
}

func TestEndLeavesTheKey(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	a := candidate(t, c.Client, "a:1")
	term := win(t, a)
	reason := fmt.Errorf("shutting down: %w", election.ErrResigned)
	term.End(reason)
	if !errors.Is(term.Err(), election.ErrResigned) || term.Valid() {
		t.Fatalf("ended term: err %v, valid %v", term.Err(), term.Valid())
	}
	if _, ok := get(t, c.Client, a.Key()); !ok {
		t.Fatal("End deleted the ACTIVE key; only Resign should")
	}
	term.End(nil) // idempotent
	if term.Err() != reason {
		t.Fatalf("a second End changed the reason to %v", term.Err())
	}
}

func TestLateWriteIsFencedAtEtcd(t *testing.T) {
	leakcheck.Check(t)
	c := etcdtest.Start(t)
	a := candidate(t, c.NewClient(t), "a:1")

	// The write races the term's own watch: whichever notices first, the
	// write must fail with ErrFenced and must not land. Repeat to exercise
	// the path where etcd itself rejects it.
	atEtcd := 0
	for round := range 10 {
		term := win(t, a)
		del(t, c.Client, a.Key())
		_, err := term.Txn(testCtx(t, 5*time.Second), nil,
			clientv3.OpPut("data", fmt.Sprint("late ", round)))
		if !errors.Is(err, election.ErrFenced) {
			t.Fatalf("round %d: txn after deletion = %v, want ErrFenced", round, err)
		}
		if strings.Contains(err.Error(), "is over at revision") {
			atEtcd++
		}
		if _, ok := get(t, c.Client, "data"); ok {
			t.Fatalf("round %d: a fenced write landed", round)
		}
		ended(t, term, 5*time.Second)
		term.End(nil)
	}
	t.Logf("%d of 10 late writes were rejected by etcd, the rest before sending", atEtcd)
}

// TestCampaignAdoptsItsOwnKey is a campaign whose answer was lost after
// etcd committed it (or a term that ended without resigning): the ACTIVE key
// is on the candidate's own lease, and the next campaign must win with that
// key's epoch instead of waiting, as a standby, for itself. Another
// candidate still loses.
func TestCampaignAdoptsItsOwnKey(t *testing.T) {
	c := etcdtest.Start(t)
	a := candidate(t, c.Client, "a:1")
	b := candidate(t, c.Client, "b:1")
	first := win(t, a)
	epoch := first.Epoch()
	first.End(errors.New("the answer was lost")) // the key stays, on a's lease

	again := win(t, a)
	if again.Epoch() != epoch {
		t.Fatalf("adopted term has epoch %d, want the key's create revision %d", again.Epoch(), epoch)
	}
	if !again.Valid() {
		t.Fatal("adopted term is not valid")
	}
	h := lose(t, b)
	if h.Epoch != epoch || h.Info.Address != "a:1" {
		t.Fatalf("the other candidate sees holder %+v, want a:1 at epoch %d", h, epoch)
	}
}

// TestCampaignRemovesKeysThatCannotBeLive covers two ACTIVE keys that would
// block the role although no active is behind them: one written without a
// lease (by hand; Baton never does), and one of the candidate's own server
// on an older lease (its term ended when that lease was lost, but etcd,
// back from an outage, keeps the lease for a full TTL). The candidate
// removes them and wins; another server leaves the second alone.
func TestCampaignRemovesKeysThatCannotBeLive(t *testing.T) {
	c := etcdtest.Start(t)
	a := candidate(t, c.Client, "a:1")
	b := candidate(t, c.Client, "b:1")

	put(t, c.Client, a.Key(), "{garbage without a lease")
	win(t, b).End(errors.New("test")) // removed, then won
	del(t, c.Client, a.Key())

	ctx := testCtx(t, 10*time.Second)
	old, err := c.Client.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	first := win(t, a)
	own, _ := get(t, c.Client, a.Key()) // a's session as its ACTIVE value
	first.End(errors.New("lease lost"))
	del(t, c.Client, a.Key())
	if _, err := c.Client.Put(ctx, a.Key(), own, clientv3.WithLease(old.ID)); err != nil {
		t.Fatal(err)
	}
	h := lose(t, b)
	if h.Lease != old.ID {
		t.Fatalf("another server sees holder %+v, want the key on lease %x", h, old.ID)
	}
	term := win(t, a)
	if term.Epoch() == h.Epoch {
		t.Fatalf("won with the stale key's epoch %d; want a new key", h.Epoch)
	}
	if ttl, err := c.Client.TimeToLive(ctx, old.ID); err != nil || ttl.TTL != -1 {
		t.Fatalf("the stale lease was not revoked: ttl %+v err %v", ttl, err)
	}
}

// TestOverwrittenKeyEndsTheTerm puts the ACTIVE key, by hand, onto another
// lease with the same create revision: the term must end and its fenced
// writes must fail, though the epoch comparison alone would still hold.
func TestOverwrittenKeyEndsTheTerm(t *testing.T) {
	c := etcdtest.Start(t)
	a := candidate(t, c.Client, "a:1")
	term := win(t, a)
	ctx := testCtx(t, 10*time.Second)
	other, err := c.Client.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	val, _ := get(t, c.Client, a.Key())
	if _, err := c.Client.Put(ctx, a.Key(), val, clientv3.WithLease(other.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := term.Txn(ctx, nil, clientv3.OpPut("test-root/x", "1")); !errors.Is(err, election.ErrFenced) {
		t.Fatalf("write after the key moved to another lease: %v, want ErrFenced", err)
	}
	if err := ended(t, term, 5*time.Second); !errors.Is(err, election.ErrFenced) && !errors.Is(err, election.ErrDeposed) {
		t.Fatalf("term ended with %v, want fenced or deposed", err)
	}
	if _, ok := get(t, c.Client, "test-root/x"); ok {
		t.Fatal("the fenced write landed")
	}
}
