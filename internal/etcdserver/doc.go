// Package etcdserver runs a real etcd server inside the Baton process, using
// etcd's own embed package. It backs `baton run etcd`, `baton run
// standalone` and the tests: nothing in Baton mocks etcd.
//
// Lease checkpointing (and its persistence) is always on, so that a change of
// etcd leader does not reset the remaining TTL of coordinator leases to the
// full TTL. An external etcd needs the same:
//
//	etcd --feature-gates=LeaseCheckpoint=true,LeaseCheckpointPersist=true
//
// (etcd 3.5 spells it --experimental-enable-lease-checkpoint and
// --experimental-enable-lease-checkpoint-persist).
package etcdserver
