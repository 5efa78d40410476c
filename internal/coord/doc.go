// Package coord runs one coordinator process of any role: it registers the
// session, runs the active-standby member, and serves gRPC.
//
// Every coordinator serves grpc.health.v1.Health (SERVING only while
// ACTIVE, for the empty service name and for each of its role's services)
// and baton.v1.Coordinator. The role's business services are gated: a call
// is let through only while the member is ACTIVE, its term is valid (the
// local lease deadline has not passed) and, when the client sent the
// "baton-server-id" metadata, the ID is this process's. Otherwise the call
// fails with UNAVAILABLE and a baton.v1.NotActive detail naming the active.
//
// When a term ends the gate closes first, then in-flight calls are awaited
// up to common.shutdownTimeout, and only then is the role deactivated and
// (when stopping) the ACTIVE key deleted and the lease revoked.
package coord
