// Package session registers a process in etcd under a unique server ID and
// keeps its registration alive through an etcd lease.
//
// # Server IDs
//
// A server ID comes from a counter at <rootPath>/meta/session/id, advanced
// with a compare-and-swap on the key's mod revision. IDs are never reused,
// not even after the process that held one is gone. A counter whose value is
// not a decimal integer is reported with ErrCorruptCounter; it is never reset.
//
// # Registration and the lease
//
// The session key <rootPath>/meta/session/<role>-<serverID> holds the
// session's Info as JSON and is attached to the session's lease, so etcd
// deletes it when the lease expires or is revoked.
//
// The session renews its lease itself, one KeepAliveOnce call every TTL/3,
// and keeps a local deadline on the monotonic clock: the send time of the
// last renewal that succeeded plus the TTL, less a safety margin. The etcd
// leader starts a renewed lease's TTL no earlier than the request was sent,
// so while Alive reports true the lease cannot have expired at etcd (lease
// checkpointing keeps this true across etcd leader changes, see package
// etcdserver). The session does not depend on the wall clock.
//
// When the deadline passes, or etcd says the lease is gone, the session
// closes the channel returned by Lease, and Alive reports false from then
// on. It does not give up: Renew grants a new lease (revoking the old one,
// best effort) and registers again under the same server ID. Each attempt
// to register is bounded by the TTL, so a request stuck on a silent
// connection does not stall the retries.
//
// # Goroutines
//
// New starts one goroutine per lease, owned by the Session; Close stops it
// and waits for it. No call blocks longer than its context allows.
package session
