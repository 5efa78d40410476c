package rootcoord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
	"github.com/batonhq/baton/internal/etcdtest"
	"github.com/batonhq/baton/pkg/election"
	"github.com/batonhq/baton/pkg/session"
)

const testRoot = "test-root"

// activeRC registers a session, wins the rootcoord role and activates a
// RootCoord on it.
func activeRC(t *testing.T, cli *clientv3.Client) (*RootCoord, *session.Session, *election.Term) {
	return activeRCMode(t, cli, true)
}

// winTerm registers a rootcoord session at address and wins the role with
// it; both end when the test does.
func winTerm(t *testing.T, cli *clientv3.Client, address string) (*session.Session, *election.Term) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := session.New(ctx, cli, testRoot, "rootcoord", address, session.WithTTL(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	term, h, err := election.NewCandidate(s, nil).Campaign(ctx)
	if err != nil || term == nil {
		t.Fatalf("campaign: term=%v holder=%+v err=%v", term, h, err)
	}
	t.Cleanup(func() { term.End(nil) })
	return s, term
}

func activeRCMode(t *testing.T, cli *clientv3.Client, warm bool) (*RootCoord, *session.Session, *election.Term) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, term := winTerm(t, cli, "127.0.0.1:1")
	rc := New(cli, testRoot, slog.New(slog.DiscardHandler), warm)
	rc.Start()
	t.Cleanup(rc.Stop)
	if err := rc.Activate(ctx, term); err != nil {
		t.Fatalf("activate: %v", err)
	}
	t.Cleanup(func() { rc.Deactivate(nil) })
	return rc, s, term
}

// crash ends rc's term the way a kill -9 would: the lease is revoked, so
// etcd deletes the ACTIVE key, and nothing is cleaned up in process.
func crash(t *testing.T, rc *RootCoord, s *session.Session, term *election.Term) {
	t.Helper()
	lease, _ := s.Lease()
	if _, err := s.Client().Revoke(context.Background(), lease); err != nil {
		t.Fatal(err)
	}
	term.End(errors.New("crash"))
	rc.Deactivate(nil)
}

func TestTSONeverGoesBackAcrossRestarts(t *testing.T) {
	c := etcdtest.Start(t)
	ctx := context.Background()
	var last uint64
	for round := range 5 {
		rc, s, term := activeRC(t, c.Client)
		for i := range 200 {
			resp, err := rc.AllocTimestamp(ctx, &batonv1.AllocTimestampRequest{Count: uint32(1 + i%7)})
			if err != nil {
				t.Fatalf("round %d alloc %d: %v", round, i, err)
			}
			if resp.Timestamp <= last {
				t.Fatalf("round %d: timestamp %d is not above the previous %d", round, resp.Timestamp, last)
			}
			last = resp.Timestamp + uint64(resp.Count) - 1
		}
		crash(t, rc, s, term)
	}
}

func TestTSOStartsAboveSavedBoundWhenClockIsBehind(t *testing.T) {
	c := etcdtest.Start(t)
	tsoKey, _, _ := Keys(testRoot)
	future := time.Now().Add(time.Hour).UnixMilli()
	if _, err := c.Client.Put(context.Background(), tsoKey, fmt.Sprint(future)); err != nil {
		t.Fatal(err)
	}
	rc, _, _ := activeRC(t, c.Client)
	ts, err := rc.tso.Alloc(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if phys, _ := ParseTS(ts); phys.UnixMilli() < future {
		t.Fatalf("first timestamp at %v, below the saved bound %d", phys, future)
	}
}

func TestTSORefusesCorruptBound(t *testing.T) {
	tsoKey, _, _ := Keys(testRoot)
	tso := NewTSO(tsoKey)
	err := tso.Activate(context.Background(), []byte("not-a-number"), nil)
	if !errors.Is(err, ErrCorruptState) || !strings.Contains(err.Error(), tsoKey) {
		t.Fatalf("corrupt bound: got %v, want ErrCorruptState naming %s", err, tsoKey)
	}
	if _, err := tso.Alloc(context.Background(), 1); err == nil {
		t.Fatal("a TSO that failed to activate issued a timestamp")
	}
}

func TestActivationRefusesUnreadableState(t *testing.T) {
	c := etcdtest.Start(t)
	for _, warm := range []bool{true, false} {
		rc := New(c.Client, testRoot, slog.New(slog.DiscardHandler), warm)
		rc.Start()
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // every read fails
		if err := rc.Activate(ctx, nil); err == nil {
			t.Fatalf("warm=%v: activation with failed reads succeeded", warm)
		}
		if _, err := rc.tso.Alloc(context.Background(), 1); err == nil {
			t.Fatalf("warm=%v: a rootcoord that failed to activate issued a timestamp", warm)
		}
		rc.Stop()
	}
}

func TestTSOCountLimits(t *testing.T) {
	c := etcdtest.Start(t)
	rc, _, _ := activeRC(t, c.Client)
	for _, n := range []int64{0, -1, MaxTimestampCount + 1} {
		if _, err := rc.tso.Alloc(context.Background(), n); !errors.Is(err, ErrBadCount) {
			t.Errorf("count %d: got %v, want ErrBadCount", n, err)
		}
	}
	a, err := rc.tso.Alloc(context.Background(), MaxTimestampCount)
	if err != nil {
		t.Fatal(err)
	}
	b, err := rc.tso.Alloc(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if b < a+MaxTimestampCount {
		t.Fatalf("full logical range %d then %d overlap", a, b)
	}
}

func TestIDRangesNeverOverlap(t *testing.T) {
	c := etcdtest.Start(t)
	ctx := context.Background()
	type rng struct{ first, n int64 }
	var got []rng
	for round := range 4 {
		rc, s, term := activeRC(t, c.Client)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					n := int64(1 + (g*50+i)%3000)
					first, err := rc.ids.Alloc(ctx, n)
					if err != nil {
						t.Errorf("round %d: %v", round, err)
						return
					}
					mu.Lock()
					got = append(got, rng{first, n})
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		crash(t, rc, s, term)
	}
	seen := map[int64]bool{}
	for _, r := range got {
		for id := r.first; id < r.first+r.n; id++ {
			if seen[id] {
				t.Fatalf("ID %d handed out twice", id)
			}
			seen[id] = true
		}
	}
}

func TestDeposedActiveCannotWrite(t *testing.T) {
	c := etcdtest.Start(t)
	ctx := context.Background()
	old, s, term := activeRC(t, c.Client)

	// Someone deletes the ACTIVE key (as an operator or a lapse would) and
	// a new active takes over.
	if _, err := c.Client.Delete(ctx, s.Keys().Active("rootcoord")); err != nil {
		t.Fatal(err)
	}
	fresh, _, _ := activeRC(t, c.Client)

	_, err := old.CreateCollection(ctx, collReq("from_old"))
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("deposed create: got %v, want UNAVAILABLE", err)
	}
	if !errors.Is(term.Err(), election.ErrFenced) && !errors.Is(term.Err(), election.ErrDeposed) {
		t.Fatalf("deposed term ended with %v", term.Err())
	}
	if _, err := fresh.DescribeCollection(ctx, &batonv1.DescribeCollectionRequest{Name: "from_old"}); status.Code(err) != codes.NotFound {
		t.Fatalf("the deposed active's collection exists: %v", err)
	}
}

func collReq(name string) *batonv1.CreateCollectionRequest {
	return &batonv1.CreateCollectionRequest{Name: name, Fields: []*batonv1.FieldSchema{
		{Name: "id", Type: batonv1.FieldType_FIELD_TYPE_INT64, PrimaryKey: true},
		{Name: "v", Type: batonv1.FieldType_FIELD_TYPE_FLOAT_VECTOR, Dim: 8},
	}}
}

func TestCatalogSurvivesTakeover(t *testing.T) {
	c := etcdtest.Start(t)
	ctx := context.Background()
	rc, s, term := activeRC(t, c.Client)
	want := map[string]int64{}
	for i := range 20 {
		resp, err := rc.CreateCollection(ctx, collReq(fmt.Sprintf("c%02d", i)))
		if err != nil {
			t.Fatal(err)
		}
		want[resp.Collection.Name] = resp.Collection.Id
	}
	if _, err := rc.DropCollection(ctx, &batonv1.DropCollectionRequest{Name: "c07"}); err != nil {
		t.Fatal(err)
	}
	delete(want, "c07")
	if _, err := rc.CreateCollection(ctx, collReq("c03")); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("duplicate create: %v", err)
	}
	crash(t, rc, s, term)

	next, _, _ := activeRCMode(t, c.Client, false) // a cold reload
	list, err := next.ListCollections(ctx, &batonv1.ListCollectionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Collections) != len(want) {
		t.Fatalf("after takeover %d collections, want %d", len(list.Collections), len(want))
	}
	for _, coll := range list.Collections {
		if want[coll.Name] != coll.Id {
			t.Errorf("collection %s has ID %d, want %d", coll.Name, coll.Id, want[coll.Name])
		}
	}
	if _, err := next.DropCollection(ctx, &batonv1.DropCollectionRequest{Name: "c07"}); status.Code(err) != codes.NotFound {
		t.Fatalf("drop of a dropped collection: %v", err)
	}
}

func TestCorruptCatalogEntryStopsActivation(t *testing.T) {
	c := etcdtest.Start(t)
	_, _, prefix := Keys(testRoot)
	if _, err := c.Client.Put(context.Background(), prefix+"broken", "{not json"); err != nil {
		t.Fatal(err)
	}
	for _, warm := range []bool{true, false} {
		rc := New(c.Client, testRoot, slog.New(slog.DiscardHandler), warm)
		rc.Start()
		s, err := session.New(context.Background(), c.Client, testRoot, "rootcoord", "x:1")
		if err != nil {
			t.Fatal(err)
		}
		term, _, err := election.NewCandidate(s, nil).Campaign(context.Background())
		if err != nil || term == nil {
			t.Fatalf("campaign: %v", err)
		}
		err = rc.Activate(context.Background(), term)
		if !errors.Is(err, ErrCorruptState) || !strings.Contains(err.Error(), prefix+"broken") {
			t.Fatalf("warm=%v: got %v, want ErrCorruptState naming the key", warm, err)
		}
		rc.Stop()
		_ = term.Resign(context.Background())
		_ = s.Close(context.Background())
	}
}

// TestWarmStandbyFollowsChanges checks that a standby's follower sees what
// the active writes, so promotion needs no reload.
func TestWarmStandbyFollowsChanges(t *testing.T) {
	c := etcdtest.Start(t)
	ctx := context.Background()
	standby := New(c.Client, testRoot, slog.New(slog.DiscardHandler), true)
	standby.Start()
	t.Cleanup(standby.Stop)

	active, s, term := activeRC(t, c.Client)
	for i := range 10 {
		if _, err := active.CreateCollection(ctx, collReq(fmt.Sprintf("w%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := active.DropCollection(ctx, &batonv1.DropCollectionRequest{Name: "w3"}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := standby.f.catchUp(wctx); err != nil {
		t.Fatal(err)
	}
	if n := standby.catalog.Len(); n != 9 {
		t.Fatalf("standby follows %d collections, want 9", n)
	}
	crash(t, active, s, term)

	// Promote the follower: it must not need a full load.
	_, term2 := winTerm(t, c.Client, "x:2")
	if err := standby.Activate(ctx, term2); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { standby.Deactivate(nil) })
	list, err := standby.ListCollections(ctx, &batonv1.ListCollectionsRequest{})
	if err != nil || len(list.Collections) != 9 {
		t.Fatalf("promoted standby lists %d collections (err %v), want 9", len(list.Collections), err)
	}
}

// TestCreateRetryAfterTakeoverIsIdempotent is the client that sent a create,
// lost the answer when the active died, and retries with the same request
// ID at the new active: it gets the collection the first attempt made, while
// anyone else gets ALREADY_EXISTS.
func TestCreateRetryAfterTakeoverIsIdempotent(t *testing.T) {
	c := etcdtest.Start(t)
	ctx := context.Background()
	rc, s, term := activeRC(t, c.Client)
	req := collReq("retried")
	req.RequestId = "req-1"
	first, err := rc.CreateCollection(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	crash(t, rc, s, term)

	for _, warm := range []bool{true, false} {
		next, s2, term2 := activeRCMode(t, c.Client, warm)
		again, err := next.CreateCollection(ctx, req)
		if err != nil {
			t.Fatalf("warm=%v: retry with the same request ID: %v", warm, err)
		}
		if again.Collection.Id != first.Collection.Id ||
			again.Collection.CreateTimestamp != first.Collection.CreateTimestamp {
			t.Fatalf("warm=%v: retry returned ID %d ts %d, want the first attempt's ID %d ts %d", warm,
				again.Collection.Id, again.Collection.CreateTimestamp,
				first.Collection.Id, first.Collection.CreateTimestamp)
		}
		other := collReq("retried")
		other.RequestId = "req-2"
		if _, err := next.CreateCollection(ctx, other); status.Code(err) != codes.AlreadyExists {
			t.Fatalf("warm=%v: create with another request ID: %v, want ALREADY_EXISTS", warm, err)
		}
		if _, err := next.CreateCollection(ctx, collReq("retried")); status.Code(err) != codes.AlreadyExists {
			t.Fatalf("warm=%v: create without a request ID: %v, want ALREADY_EXISTS", warm, err)
		}
		crash(t, next, s2, term2)
	}
}

func TestCreateRefusesBadRequestID(t *testing.T) {
	for _, id := range []string{strings.Repeat("x", MaxRequestIDLength+1), "has space", "tab\t", "é"} {
		req := collReq("ok")
		req.RequestId = id
		err := ValidateCollection(req)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "request_id") {
			t.Errorf("request_id %q: got %v, want an invalid request_id error", id, err)
		}
	}
	req := collReq("ok")
	req.RequestId = strings.Repeat("a", MaxRequestIDLength)
	if err := ValidateCollection(req); err != nil {
		t.Errorf("request_id of the maximum length refused: %v", err)
	}
}

// TestTSOLeadIsCapped asks for whole milliseconds of timestamps with a
// stopped clock: the physical part runs ahead of the clock by at most
// maxLead, after which Alloc waits for the clock instead of running away.
func TestTSOLeadIsCapped(t *testing.T) {
	c := etcdtest.Start(t)
	rc, _, _ := activeRC(t, c.Client)
	frozen := time.Now()
	rc.tso.mu.Lock()
	rc.tso.now = func() time.Time { return frozen }
	rc.tso.mu.Unlock()

	ctx := context.Background()
	var last uint64
	for i := range maxLead.Milliseconds() + 1 {
		ts, err := rc.tso.Alloc(ctx, MaxTimestampCount)
		if err != nil {
			t.Fatalf("alloc %d within the lead: %v", i, err)
		}
		if ts <= last {
			t.Fatalf("timestamp %d after %d", ts, last)
		}
		last = ts
	}
	phys, _ := ParseTS(last)
	if lead := phys.Sub(frozen); lead > maxLead {
		t.Fatalf("physical part is %v ahead of the clock, the cap is %v", lead, maxLead)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if ts, err := rc.tso.Alloc(short, MaxTimestampCount); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("alloc beyond the lead with a stopped clock: ts %d err %v, want a wait until the deadline", ts, err)
	}

	// Once the clock moves on, allocation resumes above everything issued.
	rc.tso.mu.Lock()
	rc.tso.now = time.Now
	rc.tso.mu.Unlock()
	later, cancel2 := context.WithTimeout(ctx, 2*maxLead)
	defer cancel2()
	ts, err := rc.tso.Alloc(later, MaxTimestampCount)
	if err != nil {
		t.Fatalf("alloc after the clock moved: %v", err)
	}
	if ts <= last {
		t.Fatalf("timestamp %d after %d", ts, last)
	}
}

// TestColdCoordinatorForgetsStateWhenDeposed checks that a cold rootcoord
// holds the catalog only while active, and loads it afresh (with changes
// made by others in between) when it is active again.
func TestColdCoordinatorForgetsStateWhenDeposed(t *testing.T) {
	c := etcdtest.Start(t)
	ctx := context.Background()
	rc, s, term := activeRCMode(t, c.Client, false)
	for i := range 50 {
		if _, err := rc.CreateCollection(ctx, collReq(fmt.Sprintf("cold%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := rc.f.count(); n != 50 {
		t.Fatalf("active cold rootcoord holds %d collections, want 50", n)
	}
	crash(t, rc, s, term)
	if n := rc.f.count(); n != 0 {
		t.Fatalf("deposed cold rootcoord still holds %d collections", n)
	}

	// Someone else is active and drops one; then rc's turn comes again.
	other, s2, term2 := activeRCMode(t, c.Client, true)
	if _, err := other.DropCollection(ctx, &batonv1.DropCollectionRequest{Name: "cold07"}); err != nil {
		t.Fatal(err)
	}
	crash(t, other, s2, term2)

	_, term3 := winTerm(t, c.Client, "127.0.0.1:1")
	if err := rc.Activate(ctx, term3); err != nil {
		t.Fatalf("second activation of the cold rootcoord: %v", err)
	}
	list, err := rc.ListCollections(ctx, &batonv1.ListCollectionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Collections) != 49 {
		t.Fatalf("after reactivation %d collections, want 49", len(list.Collections))
	}
	if _, err := rc.DescribeCollection(ctx, &batonv1.DescribeCollectionRequest{Name: "cold07"}); status.Code(err) != codes.NotFound {
		t.Fatalf("collection dropped by the other active is still there: %v", err)
	}
}

// TestActivationRefusesEmptyOrOutOfRangeState writes allocator state that
// parses but cannot be right: an empty value (it must not pass for a
// cluster that never saved one), a TSO bound beyond what a timestamp can
// hold (microseconds by mistake), an ID end at the top of int64. Activation
// must refuse, naming the key, in both warm and cold mode.
func TestActivationRefusesEmptyOrOutOfRangeState(t *testing.T) {
	tsoKey, idKey, _ := Keys(testRoot)
	cases := []struct {
		name, key, val string
	}{
		{"empty TSO bound", tsoKey, ""},
		{"TSO bound in microseconds", tsoKey, strconv.FormatInt(time.Now().UnixMicro(), 10)},
		{"TSO bound past 2^46 ms", tsoKey, strconv.FormatInt(1<<46, 10)},
		{"empty ID end", idKey, ""},
		{"ID end past int64", idKey, "9223372036854775808"},
	}
	for _, tc := range cases {
		for _, warm := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/warm=%v", tc.name, warm), func(t *testing.T) {
				c := etcdtest.Start(t)
				ctx := context.Background()
				if _, err := c.Client.Put(ctx, tc.key, tc.val); err != nil {
					t.Fatal(err)
				}
				_, term := winTerm(t, c.Client, "127.0.0.1:1")
				rc := New(c.Client, testRoot, slog.New(slog.DiscardHandler), warm)
				rc.Start()
				defer rc.Stop()
				err := rc.Activate(ctx, term)
				if !errors.Is(err, ErrCorruptState) || !strings.Contains(err.Error(), tc.key) {
					t.Fatalf("activation: %v, want ErrCorruptState naming %s", err, tc.key)
				}
			})
		}
	}
}

// TestIDSpaceRunsOutCleanly starts next to the top of int64: the last IDs
// are handed out, then allocation fails instead of wrapping to negatives.
func TestIDSpaceRunsOutCleanly(t *testing.T) {
	c := etcdtest.Start(t)
	_, idKey, _ := Keys(testRoot)
	nearTop := int64(math.MaxInt64 - 25)
	if _, err := c.Client.Put(context.Background(), idKey, strconv.FormatInt(nearTop, 10)); err != nil {
		t.Fatal(err)
	}
	rc, _, _ := activeRC(t, c.Client)
	ctx := context.Background()
	first, err := rc.ids.Alloc(ctx, 20)
	if err != nil || first != nearTop {
		t.Fatalf("alloc near the top: first %d err %v, want %d", first, err, nearTop)
	}
	if id, err := rc.ids.Alloc(ctx, 20); !errors.Is(err, ErrExhausted) {
		t.Fatalf("alloc past the top: id %d err %v, want ErrExhausted", id, err)
	}
	if _, err := rc.AllocID(ctx, &batonv1.AllocIDRequest{Count: 20}); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("AllocID past the top: %v, want RESOURCE_EXHAUSTED", err)
	}
}

// TestEtcdGoingBackDoesNotRepeat wipes the rootcoord state in etcd under a
// warm standby (as a restore from an old backup or a wiped data dir would)
// and promotes it: it must reload, and start above the TSO bound and ID end
// it saw before, not from a fresh cluster's zero.
func TestEtcdGoingBackDoesNotRepeat(t *testing.T) {
	c := etcdtest.Start(t)
	ctx := context.Background()
	// The saved bound is an hour ahead (a clock that was ahead, say), so a
	// fresh start at the current time would issue lower timestamps.
	tsoKey, idKey, _ := Keys(testRoot)
	ahead := time.Now().Add(time.Hour).UnixMilli()
	if _, err := c.Client.Put(ctx, tsoKey, strconv.FormatInt(ahead, 10)); err != nil {
		t.Fatal(err)
	}
	active, s, term := activeRC(t, c.Client)
	lastTS, err := active.tso.Alloc(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	firstID, err := active.ids.Alloc(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}

	// A warm standby follows the state, then etcd loses it.
	standby := New(c.Client, testRoot, slog.New(slog.DiscardHandler), true)
	standby.Start()
	t.Cleanup(standby.Stop)
	eventually(t, func() bool { st, _ := standby.f.snapshot(); return st.peakID > 0 && st.peakTSO > 0 })
	crash(t, active, s, term)
	if _, err := c.Client.Delete(ctx, tsoKey); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.Delete(ctx, idKey); err != nil {
		t.Fatal(err)
	}

	_, term2 := winTerm(t, c.Client, "127.0.0.1:2")
	if err := standby.Activate(ctx, term2); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { standby.Deactivate(nil) })
	ts, err := standby.tso.Alloc(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ts <= lastTS {
		t.Fatalf("timestamp %d after etcd lost its state is not above %d", ts, lastTS)
	}
	id, err := standby.ids.Alloc(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if id < firstID+100 {
		t.Fatalf("ID %d after etcd lost its state was handed out before (%d..%d)", id, firstID, firstID+99)
	}
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
