package refcoord

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
)

// logicalBits is the width of a timestamp's logical part, as in Baton:
// a timestamp is physical milliseconds << logicalBits | logical.
const logicalBits = 18

// maxCount is the largest count one AllocTimestamp may ask for.
const maxCount = 1 << logicalBits

// server answers AllocTimestamp while the process leads; every other
// RootCoord method is unimplemented.
type server struct {
	batonv1.UnimplementedRootCoordServer

	mu struct {
		sync.Mutex
		leading  bool
		physical int64 // milliseconds of the last timestamp issued
		logical  int64 // next logical value at physical
	}
}

// setLeading starts or stops serving.
func (s *server) setLeading(leading bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.leading = leading
}

// AllocTimestamp implements batonv1.RootCoordServer.
func (s *server) AllocTimestamp(
	_ context.Context,
	req *batonv1.AllocTimestampRequest,
) (*batonv1.AllocTimestampResponse, error) {
	count := int64(req.GetCount())
	if count < 1 || count > maxCount {
		return nil, status.Errorf(codes.InvalidArgument,
			"refcoord: timestamp count %d; ask for 1 to %d", count, maxCount)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.mu.leading {
		return nil, status.Error(codes.Unavailable, "refcoord: not the leader")
	}
	if now := time.Now().UnixMilli(); now > s.mu.physical {
		s.mu.physical, s.mu.logical = now, 0
	}
	if s.mu.logical+count > maxCount {
		s.mu.physical, s.mu.logical = s.mu.physical+1, 0
	}
	ts := uint64(s.mu.physical)<<logicalBits | uint64(s.mu.logical)
	s.mu.logical += count
	return &batonv1.AllocTimestampResponse{Timestamp: ts, Count: req.GetCount()}, nil
}
