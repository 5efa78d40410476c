// Package client calls the active rootcoord of a Baton cluster.
//
// It finds the active through etcd (the rootcoord ACTIVE key), sends the
// active's server ID with every call so that a process restarted on the same
// address cannot answer in its place, and when a call fails because the
// active went away (UNAVAILABLE, a NotActive detail, a broken connection)
// it looks the active up again and retries until the call's context ends.
//
// Retried calls are allocation and read calls, and DDL. A DDL whose answer
// was lost in a failover may have been applied: a retried CreateCollection
// can then report AlreadyExists and a retried DropCollection NotFound.
package client
