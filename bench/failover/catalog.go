package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/encoding/protojson"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
	"github.com/batonhq/baton/internal/rootcoord"
)

// Seeding writes this many collections per transaction, with this many
// transactions in flight.
const (
	seedBatch   = 100
	seedWorkers = 4
)

// catalogRoot is the root path of the catalog scenarios.
const catalogRoot = "bench-catalog"

// catalog measures promotion after kill -9 with n collections in etcd, for
// each size, warm and cold, and the standby's memory.
func (b *bench) catalog(ctx context.Context, n int) error {
	have := 0
	for _, size := range b.opt.sizes {
		if size > have {
			start := time.Now()
			if err := seedCatalog(ctx, b.h.cli, catalogRoot, have, size); err != nil {
				return err
			}
			b.h.progressf("catalog: %d collections in etcd (wrote %d in %v)", size, size-have,
				time.Since(start).Round(time.Millisecond))
			have = size
		}
		for _, warm := range []bool{true, false} {
			if err := b.catalogRun(ctx, size, warm, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// catalogRun runs the trials of one size, warm or cold.
func (b *bench) catalogRun(ctx context.Context, size int, warm bool, n int) error {
	mode := "cold"
	if warm {
		mode = "warm"
	}
	fl := batonFlavor(batonOptions{system: "baton", rootPath: catalogRoot, fast: true, warm: warm})
	g, err := newGroup(ctx, b.h, fl)
	if err != nil {
		return fmt.Errorf("catalog %d %s: %w", size, mode, err)
	}
	defer g.close()
	scenario := fmt.Sprintf("catalog %d, %s", size, mode)
	metrics := []metric{mTook, mKillFirst, mStandbyRSS}
	return b.trials(ctx, g, scenario, n, metrics, b.catalogTrial(size))
}

// catalogTrial kills the active and checks that the new one loaded size
// collections.
func (b *bench) catalogTrial(size int) trial {
	return func(ctx context.Context, g *group) ([]float64, error) {
		t, err := b.failover(ctx, g, syscall.SIGKILL)
		if err != nil {
			return nil, err
		}
		got, err := loadedCollections(ctx, t)
		if err != nil {
			return nil, err
		}
		if got != size {
			return nil, fmt.Errorf("the new active loaded %d collections, want %d", got, size)
		}
		return []float64{ms(t.took), ms(t.first), mib(t.standbyRSS)}, nil
	}
}

// seedCatalog writes collections have..want-1 under rootPath in the
// catalog's own format (rootcoord.Keys, protojson of batonv1.Collection, as
// rootcoord's Catalog writes them), with IDs taken from the ID allocator's
// range, whose saved end it moves past them. No coordinator may run.
func seedCatalog(ctx context.Context, cli *clientv3.Client, rootPath string, have, want int) error {
	_, idKey, collPfx := rootcoord.Keys(rootPath)
	firstID, err := savedIDEnd(ctx, cli, idKey)
	if err != nil {
		return err
	}
	batches := make(chan int)
	errs := make(chan error, seedWorkers)
	var wg sync.WaitGroup
	for range seedWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for from := range batches {
				to := min(from+seedBatch, want)
				if err := seedBatchTxn(ctx, cli, collPfx, from, to, firstID-int64(have)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	err = feed(ctx, batches, errs, have, want)
	wg.Wait()
	if err != nil {
		return err
	}
	end := firstID + int64(want-have)
	if _, err := cli.Put(ctx, idKey, strconv.FormatInt(end, 10)); err != nil {
		return fmt.Errorf("seed: save ID range end: %w", err)
	}
	return nil
}

// feed sends the first index of every batch, stopping at the first error.
func feed(ctx context.Context, batches chan<- int, errs <-chan error, have, want int) error {
	defer close(batches)
	for from := have; from < want; from += seedBatch {
		select {
		case batches <- from:
		case err := <-errs:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// savedIDEnd returns the ID allocator's saved end (1 on a fresh cluster).
func savedIDEnd(ctx context.Context, cli *clientv3.Client, key string) (int64, error) {
	resp, err := cli.Get(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("seed: read %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return 1, nil
	}
	v, err := strconv.ParseInt(string(resp.Kvs[0].Value), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("seed: %s is %q: %w", key, resp.Kvs[0].Value, err)
	}
	return v, nil
}

// seedBatchTxn writes collections from..to-1 in one transaction; the ID of
// collection i is idBase+i.
func seedBatchTxn(
	ctx context.Context,
	cli *clientv3.Client,
	prefix string,
	from, to int,
	idBase int64,
) error {
	ops := make([]clientv3.Op, 0, to-from)
	for i := from; i < to; i++ {
		coll, err := benchCollection(i, idBase+int64(i))
		if err != nil {
			return err
		}
		val, err := protojson.Marshal(coll)
		if err != nil {
			return fmt.Errorf("seed: encode %s: %w", coll.GetName(), err)
		}
		ops = append(ops, clientv3.OpPut(prefix+coll.GetName(), string(val)))
	}
	if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
		return fmt.Errorf("seed: write collections %d..%d: %w", from, to-1, err)
	}
	return nil
}

// benchCollection returns collection i as CreateCollection would store it:
// a validated request with an int64 primary key, a 128-dim float vector and
// a varchar title.
func benchCollection(i int, id int64) (*batonv1.Collection, error) {
	req := &batonv1.CreateCollectionRequest{
		Name:        fmt.Sprintf("bench_%07d", i),
		Description: "failover benchmark collection",
		Fields: []*batonv1.FieldSchema{
			{Name: "id", Type: batonv1.FieldType_FIELD_TYPE_INT64, PrimaryKey: true},
			{Name: "vector", Type: batonv1.FieldType_FIELD_TYPE_FLOAT_VECTOR, Dim: 128},
			{Name: "title", Type: batonv1.FieldType_FIELD_TYPE_VARCHAR},
		},
	}
	if err := rootcoord.ValidateCollection(req); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	return &batonv1.Collection{
		Id:              id,
		Name:            req.GetName(),
		Description:     req.GetDescription(),
		Fields:          req.GetFields(),
		CreateTimestamp: rootcoord.ComposeTS(time.Now().UnixMilli(), 0),
		CreateRequestId: req.GetRequestId(),
	}, nil
}
