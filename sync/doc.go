// Package sync keeps the mail, calendars and contacts of many Microsoft 365
// mailboxes mirrored into a host's own store with Graph delta queries,
// incrementally, within Microsoft's throttling limits, and without losing
// or doubling anything across crashes and sync resets.
//
// The package name shadows the standard library's; hosts import it under
// an alias:
//
//	import m365sync "github.com/m365link/m365link/sync"
//
// # What the host brings
//
// Three small interfaces, database/sql/driver style:
//   - [Sink] receives pages of upserts and removals keyed by Graph's
//     immutable IDs, a [Reset] at the start and end of a full resync, and
//     a notice when a mailbox leaves the policy. [MemorySink] is the
//     reference implementation; sinktest.RunSink checks a host's own.
//   - [StateStore] keeps the engine's records — each folder's cursor and
//     each mailbox's status — as opaque, versioned bytes the engine owns
//     (it reads its older formats): [MemoryState], or the sqlstore
//     package's SyncState on SQLite or PostgreSQL. [Engine.LoadStatus]
//     reads a mailbox's status as any worker sharing the store last saved
//     it.
//   - [LeaseStore] lets several worker processes share the mailboxes:
//     [MemoryLeases] within one process, the sqlstore package's Leases
//     across processes. Both are [LeaseBalancer]s too: [Engine.Run] then
//     keeps the mailboxes it owns and shares them evenly among the live
//     workers.
//
// An [Engine] is configured with a [Config]: the tenant, a token source
// per mailbox (a tokens.Manager's sources fit [TokenSource]), the [Policy]
// that picks mailboxes, the folders ([DefaultFolders]: Inbox and Sent
// Items) and the history [Window]. [Engine.Run] syncs the policy's
// mailboxes for as long as its context lives; [Engine.SyncOnce] runs one
// pass over one mailbox for hosts that schedule passes themselves (or to
// react to a change notification at once, see also [Engine.Trigger]).
//
// # Contracts
//
//   - A page is handed to the sink before its cursor is saved, so a crash
//     at any point repeats at most what was not yet checkpointed: delivery
//     is at least once and sinks upsert by ID. A saved nextLink resumes an
//     interrupted initial sync where it stopped.
//   - Moves: Graph reports a message moved from folder A to folder B as a
//     removal from A and a new item in B, with the same immutable ID. The
//     engine gathers a pass's removals and hands them to the sink after
//     every folder's round, each with the folder that reported it, and the
//     sink deletes only a message it still holds in that folder. So a move
//     between synced folders ends as one message with the new folder (an
//     update), never a delete and a create; a move out of the synced
//     folders is a removal. A removal recorded before a crash is cancelled
//     when the message comes back to the folder before it was applied.
//   - Full rounds: every round that starts from the base query — a
//     folder's first, a resync after Graph discarded the cursor (410 Gone,
//     syncStateNotFound, resyncRequired), a redo past the filter cap, a
//     recovery from an unusable cursor, [Engine.ResetFolder], and any of
//     them restarted after a crash — runs under a new generation, saved
//     before the round's first page reaches the sink and announced with a
//     [ResetBegin] when the sink may hold older ones. Every upsert carries
//     its folder's generation; at the end of the pass a [ResetEnd] tells
//     the sink to delete the folder's messages of older generations: the
//     ones Graph no longer has. So a crash can repeat work but never leave
//     a message behind that Graph deleted.
//   - Resets: a reset during a full round restarts it (a few times per
//     pass). A folder whose finished state Graph resets more than
//     MaxResyncs times in ResyncWindow is degraded: passes leave it alone,
//     without a request, until the window is over, then try once more.
//   - The folder is the unit of failure: a folder that keeps failing (Graph
//     errors after the retries, a refused link) is reported as a
//     [FolderError] while the mailbox's other folders finish and
//     checkpoint; after n failed passes in a row it sits out the next
//     2^(n-1)-1 passes (at most 31). Failures of the whole mailbox — the
//     account, the lease, throttling, the host's sink or stores — stop the
//     pass. [Cause] names the kind of a failure for logs and metrics.
//   - Links: a page whose nextLink or deltaLink points outside the
//     configured Graph origin is refused before anything of it is applied
//     or saved; the folder keeps its last good cursor and tries again next
//     pass (Counters.UntrustedLinks). A saved cursor that can never be used
//     starts a full round instead.
//   - Folders: the folders a pass resolves are recorded (Status.Folders)
//     before anything is synced, so a folder that disappears later — even
//     one no pass finished — is emptied in the sink ([DropGeneration]).
//     What the configured folders resolved to is kept in Status.Resolved
//     and looked up again hourly, after a 404, or when the configuration
//     changes: an incremental pass with no changes costs one request per
//     folder.
//   - History window: the first round of a folder asks Graph for
//     receivedDateTime ≥ the window's start. Graph silently stops such a
//     round at 5,000 messages, so a round that delivered FilteredDeltaCap
//     entries while the folder holds more (totalItemCount) is redone
//     unfiltered with the cut made here, and the folder stays unfiltered.
//     A later filtered round that reaches the cap may have lost changes,
//     removals among them: the folder resyncs unfiltered.
//   - One odd message never stalls a mailbox: it is counted, logged and
//     passed to OnItemError, and the rest of its page is delivered.
//   - A mailbox whose account must reconnect, which has no Exchange Online
//     mailbox, or which Graph keeps throttling gets that [Status] and
//     waits; the others carry on.
//   - Leases: a pass takes its mailbox's lease, renews it after fetching
//     each page and before writing to the sink, and releases it at the
//     end (Run with a [LeaseBalancer] keeps it: see "Many mailboxes"); a
//     worker that lost its lease stops before its next write.
//     Within one engine, passes of one mailbox never overlap, and the sink
//     never sees two calls for one mailbox at once.
//
// # Calendars and contacts
//
// Calendars and contact folders ride the same passes as mail folders: one
// engine, one limiter, the same leases, state store, generations, sweeps
// and failure rules (a calendar is a folder of Kind [KindCalendar]). A host
// opts in by giving their sinks — [EventSink] in Config.Calendar,
// [ContactSink] in Config.Contacts — and, per mailbox, with Config.Kinds; a
// mail-only host changes nothing. [MemorySink] implements all three.
//
//   - Calendars sync with calendarView delta over a window of days
//     ([CalendarOptions]: 90 back, 365 ahead by default), the default
//     calendar and chosen others. Graph returns single instances,
//     occurrences and exceptions, never series masters; the engine asks for
//     times in UTC and hands each event with its original zone (Windows and
//     IANA names, from CLDR's table), all-day events with their dates
//     ([m365link.Date], never a midnight in the wrong zone), the series
//     master ID and original start of occurrences. Cancelled events,
//     deleted ones and those that move out of the window arrive as
//     removals; Graph's reports of changed events outside the window are
//     removals too, and events it returns that do not overlap the window
//     are never upserted.
//   - The window is fixed when a calendar's full round starts. On the
//     first pass of a new (UTC) day the window rolls forward: a new full
//     round over the new window, under a new generation, whose sweep
//     removes what fell out. It delivers every event of the new window
//     again, so nothing is lost in between; like every full round, one
//     interrupted by a crash starts over and still ends with its sweep.
//   - Contacts sync with contacts delta per contact folder (the default
//     folder, named "contacts", and chosen child folders), every address
//     and phone of each contact.
//   - The same meeting in several synced mailboxes shares its iCalUID:
//     a host shows it once.
//
// # Throughput and limits
//
// Requests go through internal/graph: at most 4 in flight per mailbox
// (however many folders sync at once, see FolderConcurrency), a request
// budget below Outlook's 10,000 per 10 minutes, Retry-After honoured, and
// pages decoded by a single-pass decoder. An initial sync costs one request
// per folder and one per page of up to 1,000 messages (halved while Graph
// answers 504), plus one to count the messages inside a history window;
// memory does not grow with mailbox size: pages are streamed
// to the sink one at a time. The benchmarks in this package measure it
// (go test -run '^$' -bench . -benchmem ./sync/).
//
// # Many mailboxes
//
// [Engine.Run] is made for thousands of mailboxes per worker process:
//
//   - Scheduling: each mailbox is due Interval after its last pass ended,
//     spread by ±10% so that mailboxes that started together drift apart.
//     Due mailboxes wait in heaps, so a decision costs O(log n). A removal
//     goes first, then a pass asked for with [Engine.Trigger], then a
//     mailbox's first pass (in this Run), then second passes, then later
//     ones, each class oldest due first: a new tenant's mailboxes each get
//     their first pass before incremental passes take workers, and while a
//     first pass runs (for up to a minute) no mailbox starts its third. A
//     mailbox whose lease another worker holds asks again within seconds
//     (at most 5 s, or Interval if shorter), so a dead worker's mailboxes
//     move within LeaseTTL and a few seconds.
//   - Many workers: with a [LeaseBalancer] (sqlstore's Leases on the
//     PostgreSQL the host already runs; no other coordinator), each worker
//     owns mailboxes instead of leasing them pass by pass. Every beat
//     (LeaseTTL/15, within 1–5 s) it heartbeats, and it renews all it owns
//     in one statement every LeaseTTL/3; it owns about its share,
//     ceil(mailboxes / live workers): under it, it takes free mailboxes
//     (never leased, released or expired) with one conditional statement
//     each; over it (a worker joined), it releases mailboxes not in a
//     pass, so the newcomer gets its share within a few beats. A worker
//     that stops releases what it owns at once; one that dies is counted
//     out after LeaseTTL/3 and its mailboxes are taken within a beat of
//     their leases' expiry, at most LeaseTTL and a beat after it died. A
//     worker passes only over the mailboxes it owns, and a mailbox it
//     does not own costs it no store call. Workers sharing the leases run
//     the same policy.
//   - Memory: Run keeps a few hundred bytes per mailbox (its place in the
//     schedule and its [Status], without the folder list once idle:
//     [Engine.LoadStatus] has it). A mailbox's lock lives only while a
//     pass holds or waits for it, the Graph client's per-mailbox limiter
//     entry only while requests are in flight, a throttle is in force or
//     its budget refills, and a mailbox that left the policy is forgotten
//     once removed (its [StateRemoved] status stays until the next read of
//     the policy). A page's response buffer is reused, and its decoded
//     items are sized to the page, not to Graph's largest.
//   - Database connections: a pass makes one store call at a time per
//     folder it syncs (cursor loads and saves, status saves, lease renewals
//     before writing to the sink), so Run makes at most Workers ×
//     FolderConcurrency store and lease calls at once — 16 with the
//     defaults — plus, at start-up, the listing of mailboxes with state.
//     The [Sink] is the host's and comes on top. With sqlstore, bound the
//     *sql.DB so that many workers on one PostgreSQL stay within its
//     max_connections: db.SetMaxOpenConns(Workers × FolderConcurrency +
//     what the host's own code needs), and SetMaxIdleConns to the same, so
//     connections are reused rather than reopened. A smaller pool is safe:
//     calls wait for a connection (database/sql queues them) and passes
//     slow down; it is the number of workers × the pool that must fit the
//     server, not the number of mailboxes.
//
// # Observability
//
// [Engine.Status] and [Engine.Statuses] say where each mailbox stands
// (also saved in the StateStore for other workers), OnProgress reports
// every page, [Engine.Counters] gives totals for metrics, and
// [Engine.Summary] where the mailboxes Run syncs stand: how many in each
// state, passes, requests, 429s and the quantiles of the time since each
// mailbox's last good pass (package m365otel reports the same as metrics).
// Logger receives events; neither logs nor errors carry tokens or delta
// links. A mailbox's state is logged when it changes, not on every pass:
// at Warn when a pass fails in a new way (the folders, the cause, Graph's
// request IDs; at Debug while the same failure repeats), at Info when it
// recovers or first syncs. Run logs a summary at Info every
// Schedule.SummaryInterval (5 minutes).
package sync
