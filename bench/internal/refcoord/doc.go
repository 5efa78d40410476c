// Package refcoord is the reference active-standby coordinator of the
// failover benchmark: what a Go team would write on etcd's own
// concurrency package instead of Baton.
//
// Each process opens a concurrency.Session (one lease, kept alive in the
// background), campaigns with concurrency.Election under one prefix, and
// serves baton.v1.RootCoord/AllocTimestamp while it is the leader. Every
// other process answers UNAVAILABLE. On SIGTERM the leader stops serving,
// resigns (deletes its election key) and closes its session; if the session
// ends while it leads (its lease expired), it stops serving and Run returns
// ErrSessionLost, for a supervisor to restart it.
//
// It is a baseline for takeover time, not a correct TSO: timestamps live in
// memory only, so a new leader may hand out a timestamp below one its
// predecessor issued. There is no fencing either: a leader that was frozen
// past its lease serves until its keep-alive notices. Baton exists to fix
// both; the benchmark measures only how fast each hands over.
//
// Client finds the leader through the same election prefix and follows it
// across failovers, the way pkg/client follows Baton's ACTIVE key.
package refcoord
