package rootcoord

import (
	"context"
	"errors"
	"log/slog"
	"path"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
	"github.com/batonhq/baton/pkg/election"
)

// tickEvery is how often the active checks whether the TSO bound needs
// extending.
const tickEvery = 50 * time.Millisecond

// Keys returns the etcd keys of the root coordinator under rootPath.
func Keys(rootPath string) (tso, id, catalogPrefix string) {
	base := path.Join(rootPath, "meta", "root-coord")
	return base + "/tso", base + "/id", base + "/collection/"
}

// RootCoord is the root coordinator role. Only the coordinator server calls
// its business methods while the member is ACTIVE; it enforces that with a
// gate, so the methods themselves only check for a missing term.
type RootCoord struct {
	batonv1.UnimplementedRootCoordServer

	log     *slog.Logger
	warm    bool
	f       *follower
	tso     *TSO
	ids     *IDAllocator
	catalog *Catalog

	mu struct {
		sync.Mutex
		stopTick   context.CancelFunc
		tickWG     *sync.WaitGroup
		stopFollow context.CancelFunc
		followWG   *sync.WaitGroup
	}
}

// New returns a root coordinator storing its state under rootPath. A warm
// one (see Start) keeps its state loaded while standby; a cold one loads it
// on every activation.
func New(cli *clientv3.Client, rootPath string, log *slog.Logger, warm bool) *RootCoord {
	tsoKey, idKey, _ := Keys(rootPath)
	f := newFollower(cli, rootPath, log)
	return &RootCoord{
		log:     log,
		warm:    warm,
		f:       f,
		tso:     NewTSO(tsoKey),
		ids:     NewIDAllocator(idKey),
		catalog: newCatalog(f),
	}
}

// Register adds the RootCoord service to s.
func (r *RootCoord) Register(s grpc.ServiceRegistrar) {
	batonv1.RegisterRootCoordServer(s, r)
}

// GatedServices lists the services only the active answers.
func (r *RootCoord) GatedServices() []string {
	return []string{batonv1.RootCoord_ServiceDesc.ServiceName}
}

// Start begins following the state in etcd if the coordinator is warm.
// Stop ends it.
func (r *RootCoord) Start() {
	if r.warm {
		r.startFollower()
	}
}

// Stop stops following the state.
func (r *RootCoord) Stop() { r.stopFollower() }

func (r *RootCoord) startFollower() {
	ctx, cancel := context.WithCancel(context.Background())
	wg := &sync.WaitGroup{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.f.run(ctx)
	}()
	r.mu.Lock()
	r.mu.stopFollow, r.mu.followWG = cancel, wg
	r.mu.Unlock()
}

func (r *RootCoord) stopFollower() {
	r.mu.Lock()
	stop, wg := r.mu.stopFollow, r.mu.followWG
	r.mu.stopFollow, r.mu.followWG = nil, nil
	r.mu.Unlock()
	if stop != nil {
		stop()
		wg.Wait()
	}
}

// Activate catches up with etcd (a cold coordinator loads everything
// first), saves a new TSO bound under term and starts extending it in the
// background. Nothing is served before it returns.
func (r *RootCoord) Activate(ctx context.Context, term *election.Term) error {
	start := time.Now()
	if !r.warm {
		r.startFollower()
	}
	if err := r.activate(ctx, term); err != nil {
		r.Deactivate(err)
		return err
	}
	r.log.Info("rootcoord state loaded", "epoch", term.Epoch(), "warm", r.warm,
		"collections", r.catalog.Len(), "took", time.Since(start))
	return nil
}

func (r *RootCoord) activate(ctx context.Context, term *election.Term) error {
	// 1. Every change committed before this term must be applied.
	if err := r.f.catchUp(ctx); err != nil {
		return err
	}
	st, corrupt := r.f.snapshot()
	if corrupt != nil {
		return corrupt
	}
	// Stored state below what this process saw stored before means etcd
	// went back in time: never hand out what may have been handed out.
	if saved := peakOf(st.tso); st.tso != nil && saved < st.peakTSO {
		r.log.Warn("the saved TSO bound is below one seen before (etcd restored or wiped?); "+
			"starting above the higher", "saved", saved, "seen", st.peakTSO)
	}
	if saved := peakOf(st.id); saved < st.peakID {
		r.log.Warn("the saved ID end is below one seen before (etcd restored or wiped?); "+
			"starting above the higher", "saved", saved, "seen", st.peakID)
	}
	r.tso.SetFloor(st.peakTSO)
	r.ids.SetFloor(st.peakID)

	// 2. Allocators and catalog serve under the new term.
	if err := r.ids.Activate(st.id, term); err != nil {
		return err
	}
	if err := r.catalog.activate(term); err != nil {
		return err
	}
	if err := r.tso.Activate(ctx, st.tso, term); err != nil {
		return err
	}

	// 3. Keep the TSO bound ahead of the clock.
	tctx, cancel := context.WithCancel(context.Background())
	wg := &sync.WaitGroup{}
	wg.Add(1)
	go r.tickTSO(tctx, wg, term)
	r.mu.Lock()
	r.mu.stopTick, r.mu.tickWG = cancel, wg
	r.mu.Unlock()
	return nil
}

// Deactivate stops the background work and forgets the term.
func (r *RootCoord) Deactivate(error) {
	r.mu.Lock()
	stop, wg := r.mu.stopTick, r.mu.tickWG
	r.mu.stopTick, r.mu.tickWG = nil, nil
	r.mu.Unlock()
	if stop != nil {
		stop()
		wg.Wait()
	}
	r.tso.Deactivate()
	r.ids.Deactivate()
	r.catalog.Deactivate()
	if !r.warm {
		// A cold coordinator keeps nothing between terms.
		r.stopFollower()
		r.f.reset()
	}
}

func (r *RootCoord) tickTSO(ctx context.Context, wg *sync.WaitGroup, term *election.Term) {
	defer wg.Done()
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-term.Done():
			return
		case <-t.C:
		}
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		if err := r.tso.Tick(tctx); err != nil && ctx.Err() == nil {
			r.log.Warn("extending the TSO bound failed", "epoch", term.Epoch(), "err", err)
		}
		cancel()
	}
}

// AllocTimestamp implements batonv1.RootCoordServer.
func (r *RootCoord) AllocTimestamp(
	ctx context.Context,
	req *batonv1.AllocTimestampRequest,
) (*batonv1.AllocTimestampResponse, error) {
	ts, err := r.tso.Alloc(ctx, int64(req.GetCount()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &batonv1.AllocTimestampResponse{Timestamp: ts, Count: req.GetCount()}, nil
}

// AllocID implements batonv1.RootCoordServer.
func (r *RootCoord) AllocID(
	ctx context.Context,
	req *batonv1.AllocIDRequest,
) (*batonv1.AllocIDResponse, error) {
	first, err := r.ids.Alloc(ctx, int64(req.GetCount()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &batonv1.AllocIDResponse{First: first, Count: req.GetCount()}, nil
}

// CreateCollection implements batonv1.RootCoordServer.
func (r *RootCoord) CreateCollection(
	ctx context.Context,
	req *batonv1.CreateCollectionRequest,
) (*batonv1.CreateCollectionResponse, error) {
	if err := ValidateCollection(req); err != nil {
		return nil, toStatus(err)
	}
	if r.catalog.Has(req.GetName()) {
		return r.createdBefore(req)
	}
	id, err := r.ids.Alloc(ctx, 1)
	if err != nil {
		return nil, toStatus(err)
	}
	ts, err := r.tso.Alloc(ctx, 1)
	if err != nil {
		return nil, toStatus(err)
	}
	coll := &batonv1.Collection{
		Id:              id,
		Name:            req.GetName(),
		Description:     req.GetDescription(),
		Fields:          req.GetFields(),
		CreateTimestamp: ts,
		CreateRequestId: req.GetRequestId(),
	}
	if err := r.catalog.Create(ctx, coll); err != nil {
		if errors.Is(err, ErrExists) {
			return r.createdBefore(req)
		}
		return nil, toStatus(err)
	}
	r.log.Info("collection created", "collection", coll.GetName(), "collectionID", id)
	return &batonv1.CreateCollectionResponse{Collection: coll}, nil
}

// createdBefore answers a create whose name is taken: a retry of the call
// that created the collection (same non-empty request ID) gets the
// collection, anything else ALREADY_EXISTS.
func (r *RootCoord) createdBefore(
	req *batonv1.CreateCollectionRequest,
) (*batonv1.CreateCollectionResponse, error) {
	coll, err := r.catalog.Describe(req.GetName())
	if err != nil {
		// Dropped in between: report the conflict the caller ran into.
		return nil, status.Errorf(codes.AlreadyExists, "collection %q already exists", req.GetName())
	}
	if id := req.GetRequestId(); id != "" && coll.GetCreateRequestId() == id {
		r.log.Info("collection create retried; returning the earlier result",
			"collection", coll.GetName(), "collectionID", coll.GetId(), "requestID", id)
		return &batonv1.CreateCollectionResponse{Collection: coll}, nil
	}
	return nil, status.Errorf(codes.AlreadyExists, "collection %q already exists", req.GetName())
}

// DropCollection implements batonv1.RootCoordServer.
func (r *RootCoord) DropCollection(
	ctx context.Context,
	req *batonv1.DropCollectionRequest,
) (*batonv1.DropCollectionResponse, error) {
	if err := ValidateName("collection", req.GetName()); err != nil {
		return nil, toStatus(err)
	}
	if err := r.catalog.Drop(ctx, req.GetName()); err != nil {
		return nil, toStatus(err)
	}
	r.log.Info("collection dropped", "collection", req.GetName())
	return &batonv1.DropCollectionResponse{}, nil
}

// DescribeCollection implements batonv1.RootCoordServer.
func (r *RootCoord) DescribeCollection(
	_ context.Context,
	req *batonv1.DescribeCollectionRequest,
) (*batonv1.DescribeCollectionResponse, error) {
	coll, err := r.catalog.Describe(req.GetName())
	if err != nil {
		return nil, toStatus(err)
	}
	return &batonv1.DescribeCollectionResponse{Collection: coll}, nil
}

// ListCollections implements batonv1.RootCoordServer.
func (r *RootCoord) ListCollections(
	_ context.Context,
	_ *batonv1.ListCollectionsRequest,
) (*batonv1.ListCollectionsResponse, error) {
	colls, err := r.catalog.List()
	if err != nil {
		return nil, toStatus(err)
	}
	return &batonv1.ListCollectionsResponse{Collections: colls}, nil
}

// toStatus maps an error to a gRPC status with a fitting code.
func toStatus(err error) error {
	code := codes.Internal
	switch {
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrBadCount):
		code = codes.InvalidArgument
	case errors.Is(err, ErrExists):
		code = codes.AlreadyExists
	case errors.Is(err, ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, errNotActive), errors.Is(err, election.ErrFenced),
		errors.Is(err, election.ErrLeaseLost), errors.Is(err, election.ErrDeposed):
		code = codes.Unavailable
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, ErrCorruptState):
		code = codes.DataLoss
	case errors.Is(err, ErrExhausted):
		code = codes.ResourceExhausted
	default:
		code = codes.Unavailable
	}
	return status.Error(code, err.Error())
}
