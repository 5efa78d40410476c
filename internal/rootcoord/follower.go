package rootcoord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/encoding/protojson"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
	"github.com/batonhq/baton/internal/backoff"
)

// errNotLoaded is returned while the follower has no state yet.
var errNotLoaded = errors.New("rootcoord: state not loaded yet")

// follower keeps a copy of everything under the root coordinator's prefix:
// it reads it once, then applies every change from an etcd watch. A warm
// standby runs one for its whole life, so promotion only has to catch up;
// a cold coordinator runs one only while active.
type follower struct {
	cli     *clientv3.Client
	prefix  string // ends in "/"
	collPfx string
	tsoKey  string
	idKey   string
	log     *slog.Logger

	mu struct {
		sync.RWMutex
		loaded  bool
		rev     int64 // every change up to rev is applied
		colls   map[string]*batonv1.Collection
		corrupt map[string]error // key -> why it does not decode
		tso     []byte
		id      []byte
		advance chan struct{}    // closed and replaced when rev grows
		watcher clientv3.Watcher // while run runs
		wctx    context.Context  // of the current watch
		wcancel context.CancelFunc
		// peakTSO and peakID are the highest allocator values this process
		// has seen stored. They survive reloads and resets, so that etcd
		// state that went back (restored from a backup, wiped) cannot make
		// this process hand out a timestamp or an ID it has seen used.
		peakTSO, peakID int64
	}
}

func newFollower(cli *clientv3.Client, rootPath string, log *slog.Logger) *follower {
	tsoKey, idKey, collPfx := Keys(rootPath)
	f := &follower{
		cli:     cli,
		prefix:  strings.TrimSuffix(tsoKey, "tso"),
		collPfx: collPfx,
		tsoKey:  tsoKey,
		idKey:   idKey,
		log:     log,
	}
	f.mu.advance = make(chan struct{})
	return f
}

// run loads and follows until ctx ends; a broken watch (compaction, lost
// leader) is replaced by a fresh load.
func (f *follower) run(ctx context.Context) {
	watcher := clientv3.NewWatcher(f.cli)
	f.mu.Lock()
	f.mu.watcher = watcher
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.mu.watcher, f.mu.wctx = nil, nil
		f.mu.Unlock()
		watcher.Close()
	}()
	b := backoff.New()
	for ctx.Err() == nil {
		if err := f.load(ctx); err != nil {
			f.log.Warn("loading rootcoord state failed, retrying", "err", err)
			_ = b.Wait(ctx)
			continue
		}
		b.Reset()
		err := f.follow(ctx, watcher)
		if ctx.Err() == nil {
			f.log.Info("watch on rootcoord state broke, reloading", "err", err)
			_ = b.Wait(ctx)
		}
	}
}

// load reads the whole prefix and replaces the state with it.
func (f *follower) load(ctx context.Context) error {
	start := time.Now()
	resp, err := f.cli.Get(ctx, f.prefix, clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("read %s: %w", f.prefix, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.colls = make(map[string]*batonv1.Collection, len(resp.Kvs))
	f.mu.corrupt = map[string]error{}
	f.mu.tso, f.mu.id = nil, nil
	for _, kv := range resp.Kvs {
		f.applyLocked(string(kv.Key), kv.Value, false)
	}
	f.mu.loaded = true
	f.advanceLocked(resp.Header.Revision)
	f.log.Debug("rootcoord state loaded from etcd", "keys", len(resp.Kvs),
		"revision", resp.Header.Revision, "took", time.Since(start))
	return nil
}

// follow applies watch events until the watch breaks or ctx ends.
func (f *follower) follow(ctx context.Context, watcher clientv3.Watcher) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	f.mu.Lock()
	from := f.mu.rev + 1
	f.mu.wctx, f.mu.wcancel = wctx, cancel
	f.mu.Unlock()
	wch := watcher.Watch(wctx, f.prefix, clientv3.WithPrefix(), clientv3.WithRev(from))
	for resp := range wch {
		if err := resp.Err(); err != nil {
			return err
		}
		f.mu.Lock()
		for _, ev := range resp.Events {
			f.applyLocked(string(ev.Kv.Key), ev.Kv.Value, ev.Type == clientv3.EventTypeDelete)
			f.advanceLocked(ev.Kv.ModRevision)
		}
		if resp.IsProgressNotify() {
			f.advanceLocked(resp.Header.Revision)
		}
		f.mu.Unlock()
	}
	return fmt.Errorf("watch on %s closed", f.prefix)
}

func (f *follower) applyLocked(key string, val []byte, deleted bool) {
	switch {
	case key == f.tsoKey:
		f.mu.tso = valueOrNil(val, deleted)
		if v := peakOf(f.mu.tso); v <= maxBound {
			f.mu.peakTSO = max(f.mu.peakTSO, v)
		}
	case key == f.idKey:
		f.mu.id = valueOrNil(val, deleted)
		f.mu.peakID = max(f.mu.peakID, peakOf(f.mu.id)) // any int64 end is in range
	case strings.HasPrefix(key, f.collPfx):
		name := strings.TrimPrefix(key, f.collPfx)
		delete(f.mu.corrupt, key)
		delete(f.mu.colls, name)
		if deleted {
			return
		}
		coll := &batonv1.Collection{}
		err := protojson.Unmarshal(val, coll)
		if err == nil && coll.GetName() != name {
			err = fmt.Errorf("the value names collection %q, the key %q", coll.GetName(), name)
		}
		if err != nil {
			f.mu.corrupt[key] = err
			f.log.Error("a stored collection does not decode; a coordinator will refuse to "+
				"activate until it is repaired or deleted", "key", key, "err", err)
			return
		}
		f.mu.colls[name] = coll
	}
}

// peakOf parses a saved allocator value, 0 when it does not parse (it is
// then refused as corrupt at activation).
func peakOf(raw []byte) int64 {
	v, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// valueOrNil copies a stored value; nil means the key does not exist, and
// an empty stored value stays a non-nil empty slice, so that it is refused
// as corrupt rather than taken for a cluster that never saved one.
func valueOrNil(val []byte, deleted bool) []byte {
	if deleted {
		return nil
	}
	return append([]byte{}, val...)
}

func (f *follower) advanceLocked(rev int64) {
	if rev <= f.mu.rev {
		return
	}
	f.mu.rev = rev
	close(f.mu.advance)
	f.mu.advance = make(chan struct{})
}

// reset drops the copy, for a cold coordinator that stopped following; the
// next run loads everything again.
func (f *follower) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.loaded = false
	f.mu.rev = 0
	f.mu.colls, f.mu.corrupt = nil, nil
	f.mu.tso, f.mu.id = nil, nil
}

// waitRev waits until every change up to rev is applied.
func (f *follower) waitRev(ctx context.Context, rev int64) error {
	for {
		f.mu.RLock()
		done, advance := f.mu.loaded && f.mu.rev >= rev, f.mu.advance
		watcher, wctx := f.mu.watcher, f.mu.wctx
		f.mu.RUnlock()
		if done {
			return nil
		}
		// Ask etcd to tell the watch how far it is, in case nothing under
		// the prefix changed since.
		if watcher != nil && wctx != nil {
			_ = watcher.RequestProgress(wctx)
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("rootcoord: catching up with etcd to revision %d: %w", rev, ctx.Err())
		case <-advance:
		case <-t.C:
		}
		t.Stop()
	}
}

// catchUp waits until the state includes every change committed before
// the call. A failed read of the current revision is an error.
func (f *follower) catchUp(ctx context.Context) error {
	resp, err := f.cli.Get(ctx, f.tsoKey, clientv3.WithCountOnly())
	if err != nil {
		return fmt.Errorf("rootcoord: read current revision: %w", err)
	}
	f.mu.Lock()
	if f.mu.loaded && resp.Header.Revision < f.mu.rev {
		// etcd's history went back (restored from a backup, or wiped): the
		// watch waits for revisions that will mean something else. Reload.
		f.log.Warn("etcd's revision went back; reloading rootcoord state",
			"had", f.mu.rev, "now", resp.Header.Revision)
		f.mu.loaded, f.mu.rev = false, 0
		if f.mu.wcancel != nil {
			f.mu.wcancel()
		}
	}
	f.mu.Unlock()
	return f.waitRev(ctx, resp.Header.Revision)
}

// snapshot returns the raw allocator values, the highest ones this process
// has seen, and the first corrupt collection, if any.
func (f *follower) snapshot() (s allocState, corrupt error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for key, err := range f.mu.corrupt {
		corrupt = fmt.Errorf("%w: collection at %s does not decode: %v", ErrCorruptState, key, err)
		break
	}
	return allocState{tso: f.mu.tso, id: f.mu.id, peakTSO: f.mu.peakTSO, peakID: f.mu.peakID}, corrupt
}

// allocState is what the allocators start from: the saved values (nil when
// never saved) and the highest values seen by this process.
type allocState struct {
	tso, id         []byte
	peakTSO, peakID int64
}

func (f *follower) count() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.mu.colls)
}
