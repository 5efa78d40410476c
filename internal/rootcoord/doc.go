// Package rootcoord is the root coordinator: the cluster's timestamp oracle
// (TSO), its ID allocator and its collection catalog.
//
// # Persistence and fencing
//
// All state lives in etcd under <rootPath>/meta/root-coord/. Every write is
// an election.Term.Txn, so a write by a replaced active fails at etcd.
//
// # Timestamps
//
// A timestamp is physical milliseconds << 18 | logical. The active saves an
// upper bound on the physical part (a window ahead of the clock) and never
// issues a timestamp at or above it; the window is extended in the
// background and, if the clock catches up with it, synchronously before a
// timestamp is issued. A new active starts at or above the saved bound, so
// timestamps only grow across restarts and failovers even if the new
// active's clock is behind. A failed or corrupt read of the saved bound stops
// activation: it is never taken for a fresh cluster.
//
// # IDs
//
// The ID allocator saves the end of the range it may hand out, in batches;
// a new active starts at the saved end, so IDs are never reused (a crash
// wastes at most one batch).
//
// # Catalog
//
// Each collection is one JSON value under collection/<name>, written in one
// transaction: a DDL either happened wholly or not at all. The active reads
// the whole catalog when it activates and serves reads from memory.
package rootcoord
