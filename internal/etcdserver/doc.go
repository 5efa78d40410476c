// Package etcdserver runs a real etcd server inside the Baton process, using
// etcd's own embed package. It backs `baton run etcd`, `baton run
// standalone` and the tests: nothing in Baton mocks etcd.
//
// Lease checkpointing (and its persistence) is always on, so that a change of
// etcd leader does not reset the remaining TTL of long leases. etcd only
// checkpoints leases with more than its checkpoint interval left (5 minutes,
// which embed in etcd 3.7 cannot change), so Baton's short coordinator
// leases are still renewed to their full TTL by a leader change; see
// docs/operator-guide.md. An external etcd is configured with
//
//	etcd --feature-gates=LeaseCheckpoint=true,LeaseCheckpointPersist=true
//
// (etcd 3.5 spells it --experimental-enable-lease-checkpoint and
// --experimental-enable-lease-checkpoint-persist).
package etcdserver
