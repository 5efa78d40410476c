// Package querycoord is the QueryCoord role. In this release it runs the full
// active-standby machinery (session, election, health, status) but has no
// business service yet: query node and replica scheduling come later.
package querycoord

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"

	"github.com/batonhq/baton/pkg/election"
)

// QueryCoord is the querycoord role.
type QueryCoord struct {
	log *slog.Logger
}

// New returns the role.
func New(log *slog.Logger) *QueryCoord { return &QueryCoord{log: log} }

// Register adds no services yet: health and status come from the server.
func (c *QueryCoord) Register(grpc.ServiceRegistrar) {}

// GatedServices returns none yet.
func (c *QueryCoord) GatedServices() []string { return nil }

// Activate has no state to load yet.
func (c *QueryCoord) Activate(_ context.Context, term *election.Term) error {
	c.log.Debug("querycoord activated", "epoch", term.Epoch())
	return nil
}

// Deactivate has nothing to release yet.
func (c *QueryCoord) Deactivate(error) {}
