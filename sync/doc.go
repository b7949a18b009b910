// Package sync keeps the mail of many Microsoft 365 mailboxes mirrored into
// a host's own store with Graph delta queries, incrementally, within
// Microsoft's throttling limits, and without losing or doubling anything
// across crashes and sync resets.
//
// The package name shadows the standard library's; hosts import it under
// an alias:
//
//	import m365sync "github.com/m365link/m365link/sync"
//
// The host brings three small interfaces, database/sql/driver style:
//   - [Sink] receives pages of upserts and removals keyed by Graph's
//     immutable IDs, a [Reset] at the start and end of a full resync, and a
//     notice when a mailbox leaves the policy. [MemorySink] is the reference.
//   - [StateStore] keeps each folder's [Cursor] and each mailbox's [Status];
//     [MemoryState], or sync/syncsql on SQLite or PostgreSQL.
//   - [LeaseStore] lets several worker processes share the mailboxes;
//     [MemoryLeases] or sync/syncsql.
//
// The contracts the [Engine] keeps:
//   - A page is handed to the sink before its cursor is saved, so a crash at
//     any point repeats at most a page (delivery is at least once; sinks
//     upsert by ID). A saved nextLink resumes an interrupted initial sync.
//   - Removals are applied at the end of a mailbox's pass and only where the
//     sink still holds the item in the folder that reported it, so a move
//     between synced folders is an update, never a delete and a create.
//   - When Graph discards a cursor (410, syncStateNotFound, resyncRequired)
//     the folder resyncs from scratch under a new generation; at its end the
//     sink deletes what the resync did not deliver (tombstones). A folder
//     that keeps being reset degrades its mailbox instead of spinning.
//   - A history [Window] uses a receivedDateTime filter, and when Graph's
//     silent 5,000-message cap on filtered delta is reached the folder falls
//     back to an unfiltered delta with the cut made here.
//   - A mailbox whose account must reconnect, or which has no Exchange
//     Online mailbox, gets that [Status] and waits; the others carry on.
//
// Requests go through internal/graph: at most 4 in flight per mailbox, a
// request budget below Outlook's, Retry-After honoured, and pages decoded
// by a single-pass decoder; memory does not grow with mailbox size.
package sync
