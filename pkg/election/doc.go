// Package election decides which of several sessions of one role is the
// ACTIVE one, and fences the writes of an active that has been replaced.
//
// # The ACTIVE key
//
// A role's ACTIVE key is <rootPath>/meta/session/<role>. Campaign writes it,
// on the candidate's session lease, in a transaction that succeeds only if
// the key does not exist. There is no queue and no ordering among
// candidates: whoever's transaction lands first wins, and the others get a
// Holder describing the winner. A standby waits with WaitVacant and
// campaigns again when the key goes away, which happens when the active
// resigns (deletes it), or when its lease is revoked or expires.
//
// # Epochs and fencing
//
// The create revision of the ACTIVE key is the winner's epoch. It is unique
// and grows with every new active. Term.Txn adds a comparison of the ACTIVE
// key's create revision with the term's epoch to every transaction, so a
// write by an active that has been replaced fails at etcd with ErrFenced,
// however late it arrives. This is the guarantee; everything else (local
// deadlines, watches) only makes the old active notice sooner.
//
// # When a term ends
//
// A Term's Done channel is closed, and Err tells why, when the session
// lease is lost (ErrLeaseLost), the ACTIVE key is deleted or replaced
// (ErrDeposed), a fenced write is rejected (ErrFenced) or the term is
// resigned (ErrResigned). Valid reports false from the moment the session's
// local lease deadline passes, even before Done is closed, so a caller can
// check it before answering a request.
//
// # Goroutines
//
// Each Term owns one goroutine that watches the ACTIVE key and the session;
// Resign and End stop it and wait for it.
package election
