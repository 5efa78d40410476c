// Package datacoord is the DataCoord role. In this release it runs the full
// active-standby machinery (session, election, health, status) but has no
// business service yet: segment allocation and flush scheduling come later.
package datacoord

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"

	"github.com/batonhq/baton/pkg/election"
)

// DataCoord is the datacoord role.
type DataCoord struct {
	log *slog.Logger
}

// New returns the role.
func New(log *slog.Logger) *DataCoord { return &DataCoord{log: log} }

// Register adds no services yet: health and status come from the server.
func (c *DataCoord) Register(grpc.ServiceRegistrar) {}

// GatedServices returns none yet.
func (c *DataCoord) GatedServices() []string { return nil }

// Activate has no state to load yet.
func (c *DataCoord) Activate(_ context.Context, term *election.Term) error {
	c.log.Debug("datacoord activated", "epoch", term.Epoch())
	return nil
}

// Deactivate has nothing to release yet.
func (c *DataCoord) Deactivate(error) {}
