// Package standby runs one member of an active-standby group: it keeps the
// member's session registered, campaigns for the role, runs the caller's
// activation when it wins, and otherwise waits as a STANDBY that logs whom
// it is waiting behind and campaigns the moment the role becomes vacant.
//
// # States
//
//	STARTING -> STANDBY <-> ACTIVATING -> ACTIVE -> (STANDBY | STOPPING)
//
// A member is ACTIVE only after Handler.Activate returned nil within a live
// term. When the term ends (lease lost, deposed, fenced write), the member
// calls Handler.Deactivate, which must stop serving before it returns, then
// re-registers its session if the lease was lost and campaigns again. It
// never exits on its own for a lost lease.
//
// With standby disabled (WithStandby(false)), a member that finds another
// active returns an *ActiveExistsError from Run instead of waiting.
//
// # Stopping
//
// Run returns when its context is cancelled. An active member first calls
// Deactivate (which drains in-flight work, bounded by the caller), then
// resigns, deleting the ACTIVE key so a standby takes over at once, and
// finally closes the session, revoking its lease.
//
// # What is not guaranteed
//
// The member does not fence anything by itself: writes must go through
// election.Term.Txn to be fenced. Serving reads from memory after the local
// lease deadline is prevented only if the caller checks Term.Valid (or
// Member.Serving) before answering.
package standby
