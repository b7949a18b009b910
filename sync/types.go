package sync

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
)

// TokenSource supplies access tokens for a mailbox's account: the one
// token-source type every package takes (tokens.Source, tokens.External,
// graphclient.StaticToken and graphclient.TokenFunc satisfy it).
type TokenSource = graphclient.TokenSource

// Folder is a synced folder of a mailbox: a mail folder, a calendar or a
// contact folder.
type Folder struct {
	// ID is the folder's immutable ID. The default calendar is "calendar"
	// (Graph's own name for it), whatever its ID.
	ID string `json:"id"`
	// Kind is what the folder holds; empty means mail.
	Kind Kind `json:"kind,omitempty"`
	// Name is the well-known name ("inbox") or display-name path ("Inbox/Vendors").
	Name string `json:"name"`
	// Total is Graph's totalItemCount when the folder was last looked up,
	// for progress.
	Total int `json:"total,omitempty"`
}

// folderSet is what the configured folders resolved to in one mailbox. The
// engine keeps it with the mailbox's status so that a pass does not look
// the folders up again: it does so when the configuration changed, when
// the set is older than an hour, or after a folder answered 404.
type folderSet struct {
	// Config identifies the folder configuration the set was resolved for.
	Config string `json:"config"`
	// At is when the folders were looked up.
	At time.Time `json:"at"`
	// Folders are the folders to sync, in configuration order.
	Folders []Folder `json:"folders,omitempty"`
	// Missing names the configured folders the mailbox does not have.
	Missing []string `json:"missing,omitempty"`
	// Cut names the folders whose subfolders lie below MaxFolderDepth.
	Cut []string `json:"cut,omitempty"`
}

// Removal is a message gone from a folder: deleted, moved out, or (in a
// windowed sync) no longer reported.
type Removal struct {
	// ID is the message's immutable ID.
	ID string
	// FolderID is the folder whose delta reported the removal. A message
	// moved to another synced folder is delivered there (same ID) before
	// the removal, so a sink must ignore a removal for an item it now holds
	// in another folder: a move is an update, never a delete and a create.
	FolderID string
}

// Page is one committed unit of work for a sink: what one Graph delta page
// changed in one folder of one mailbox (Upserts), or the removals of a
// folder gathered over a pass (Removals; see [Removal]). Delivery is at
// least once: after a crash a page may come again, so Apply must be
// idempotent (upsert by ID). A page and its slices belong to the sink only
// for the duration of Apply.
type Page struct {
	// Mailbox is whose mail this is.
	Mailbox m365link.Mailbox
	// Folder is the folder the page comes from; every upserted message's
	// FolderID is Folder.ID.
	Folder Folder
	// Generation numbers the folder's full syncs: it grows with every
	// resync. Sinks record it on upserted items (see [Sink.Reset]).
	Generation int64
	// Upserts are new or changed messages, to insert or replace by ID.
	Upserts []m365link.Message
	// Removals are messages gone from Folder.
	Removals []Removal
}

// ResetPhase says where a full resync of a folder stands.
type ResetPhase int

// Phases of a resync.
const (
	// ResetBegin: Graph discarded the folder's sync state; every message
	// will be delivered again with the new generation.
	ResetBegin ResetPhase = iota + 1
	// ResetEnd: the full resync finished. Every item of the folder the sink
	// holds with an older generation is gone from Graph: the sink deletes
	// (tombstones) it. Like removals, it comes at the end of the pass, after
	// every folder's round, so that an item moved into another synced
	// folder meanwhile has been upserted there first. A folder that is no
	// longer synced gets a ResetEnd with [DropGeneration]: the sink
	// deletes all it holds in that folder.
	ResetEnd
)

// DropGeneration is the Generation of the ResetEnd that empties a folder
// the mailbox no longer syncs: older than it is every generation there is.
const DropGeneration int64 = math.MaxInt64

// Reset tells a sink about a full resync of one folder.
type Reset struct {
	// Mailbox and FolderID name the folder.
	Mailbox  m365link.Mailbox
	FolderID string
	// Phase says whether the resync starts or ends.
	Phase ResetPhase
	// Generation is the resync's generation: upserts of the resync carry it.
	Generation int64
}

// Sink receives a mailbox's mail. The engine calls it from several
// goroutines, but never concurrently for the same mailbox (within one
// engine; across worker processes a [LeaseStore] keeps that promise). A
// cursor is saved only after the sink returned nil for the page it covers;
// an error stops the mailbox's pass, which resumes from the last cursor.
// [MemorySink] is the reference implementation, and sinktest.RunSink
// checks a host's own.
type Sink interface {
	// Apply commits a page atomically: upsert every message by ID,
	// recording its folder (p.Folder.ID) and p.Generation, then delete
	// every removal's ID unless the sink holds it in another folder than
	// Removal.FolderID (it moved there: a move is an update).
	Apply(ctx context.Context, p *Page) error
	// Reset marks the start and end of a full resync of a folder. At
	// ResetEnd the sink deletes the folder's items whose generation is
	// older than r.Generation.
	Reset(ctx context.Context, r Reset) error
	// MailboxRemoved says the mailbox left the sync policy: the sink drops
	// its messages. It may come more than once.
	MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error
}

// StateStore keeps the engine's state: per mailbox, a few small records
// — the mailbox's status and one cursor per synced folder — that are
// opaque, versioned bytes only the engine reads and writes (it reads its
// older formats too). Mailboxes are named by [m365link.Mailbox.Key]; keys
// within a mailbox are the engine's ("" for the mailbox's own record,
// others derived from folder IDs, which are case-sensitive).
// Implementations must be safe for concurrent use and durable when Save
// returns: the engine resumes from what it saved. [MemoryState] keeps them
// in memory, the sqlstore package in SQLite or PostgreSQL, and
// sinktest.RunStateStore checks a host's own.
type StateStore interface {
	// Load returns the record saved under mailbox and key; a missing one
	// is nil with a nil error.
	Load(ctx context.Context, mailbox, key string) ([]byte, error)
	// Save replaces the record under mailbox and key. The engine does not
	// keep value after Save returns.
	Save(ctx context.Context, mailbox, key string, value []byte) error
	// DeleteMailbox forgets every record of a mailbox.
	DeleteMailbox(ctx context.Context, mailbox string) error
}

// MailboxLister is a [StateStore] that can list the mailboxes it holds
// state for (cursors or a status). [Engine.Run] uses it at start-up to tell
// the sink about mailboxes the policy dropped while no engine ran, so it
// assumes it owns every mailbox of its tenant in the store: engines with
// different policies need separate stores (or table prefixes).
type MailboxLister interface {
	// ListMailboxes returns the keys of the mailboxes with state.
	ListMailboxes(ctx context.Context) ([]string, error)
}

// KeyLister is a [StateStore] that can list the keys it holds for one
// mailbox. The engine uses it to recover from a mailbox record that
// cannot be read: the cursors' keys say which folders earlier passes
// synced, so that one that dropped out is still emptied in the sink.
// [MemoryState] and sqlstore's SyncState implement it.
type KeyLister interface {
	// ListKeys returns the keys saved under mailbox.
	ListKeys(ctx context.Context, mailbox string) ([]string, error)
}

// LeaseStore lets several worker processes share mailboxes: only the
// holder of a mailbox's unexpired lease syncs it. The engine takes the
// lease before a pass, renews it after fetching each page and before
// handing it to the sink (so a worker that stalled past its lease stops
// before writing), and releases it after the pass (unless [Engine.Run]
// keeps it: see [LeaseBalancer]). Implementations must be
// safe for concurrent use by many processes. An implementation may judge
// expiry by the store's clock or by the acquiring worker's (sqlstore's
// Leases do the latter); either way workers' clocks should agree within a
// small part of the TTL.
type LeaseStore interface {
	// Acquire takes the lease on key for owner until now+ttl, or renews it
	// if owner holds it; it reports false when another owner holds an
	// unexpired lease.
	Acquire(ctx context.Context, key, owner string, ttl time.Duration) (bool, error)
	// Release gives the lease up if owner holds it.
	Release(ctx context.Context, key, owner string) error
}

// LeaseBalancer is a [LeaseStore] that lets [Engine.Run] keep the
// mailboxes it holds and share them evenly among the live workers. It is
// optional: Run finds it by type assertion, and with a plain LeaseStore a
// worker takes a mailbox's lease for each pass and releases it after, as
// [Engine.SyncOnce] always does. [MemoryLeases] and sqlstore's Leases
// implement it; sinktest.RunLeaseBalancer checks a host's own.
//
// With a LeaseBalancer, Run keeps (owns) the leases it takes across
// passes: it announces itself with Heartbeat every few seconds, renews
// everything it owns with one Renew every LeaseTTL/3, takes free (never
// taken, released or expired) mailboxes while it owns fewer than its
// share — ceil(mailboxes in the policy / live workers) — and releases
// those it owns beyond its share that are not in a pass (the rest after
// their pass), so a worker that joins gets its share within a few
// heartbeats and a dead worker's mailboxes are taken within a few seconds
// of its leases' expiry. A lease is held only while unexpired, and a pass
// still renews its lease before every sink write (Acquire), so two
// workers never sync one mailbox at once. Workers sharing a LeaseBalancer
// should run the same policy: each counts its share from its own.
//
// Like a LeaseStore's, its methods judge expiry by the store's clock or
// the calling worker's, and must be safe for concurrent use by many
// processes.
type LeaseBalancer interface {
	LeaseStore
	// Heartbeat records that owner is alive until now+ttl and returns how
	// many workers are alive (owner included): those whose last
	// Heartbeat has not expired and who have not left.
	Heartbeat(ctx context.Context, owner string, ttl time.Duration) (live int, err error)
	// Renew extends to now+ttl every lease among keys that owner holds,
	// in one call where the store allows, and returns the keys renewed:
	// a key owner no longer holds (another owner took it after it
	// expired, or it was released) is not renewed and not returned.
	Renew(ctx context.Context, owner string, keys []string, ttl time.Duration) (held []string, err error)
	// Held returns the keys whose lease is unexpired, whoever holds them,
	// in any order: Run takes its share among the others.
	Held(ctx context.Context) ([]string, error)
	// Leave says owner stops: it releases owner's leases on keys and
	// forgets its heartbeat, so that the other workers count it out and
	// take its mailboxes at once.
	Leave(ctx context.Context, owner string, keys []string) error
}

// State is a mailbox's sync state as the host shows it.
type State string

// States.
const (
	// StateIdle: the last pass finished; the mailbox is up to date as of
	// LastSync.
	StateIdle State = "idle"
	// StateInitial: a first (or full re-) sync runs; Pages, Items and
	// Estimate show its progress.
	StateInitial State = "initial sync"
	// StateIncremental: a pass over the changes since the last one runs.
	StateIncremental State = "incremental"
	// StateThrottled: Graph holds the mailbox back until ThrottledUntil.
	StateThrottled State = "throttled"
	// StateDegraded: Graph kept resetting the sync state; the mailbox
	// waits out the resync window (Reason says more).
	StateDegraded State = "degraded"
	// StateReconnectRequired: the account's grant is gone; the user (or
	// admin) must connect again. Reason is the [m365link.ReconnectReason].
	StateReconnectRequired State = "reconnect required"
	// StateNotMailEnabled: the user has no Exchange Online mailbox
	// (unlicensed, inactive, soft-deleted or on-premises); retried daily.
	StateNotMailEnabled State = "not mail-enabled"
	// StateError: the last pass failed for another reason (Reason); it is
	// retried at the next interval from where it stopped.
	StateError State = "error"
	// StateRemoved: the policy dropped the mailbox and the sink was told.
	StateRemoved State = "removed"
)

// Status is what the host shows for a mailbox.
type Status struct {
	// Mailbox is whose status this is.
	Mailbox m365link.Mailbox `json:"mailbox"`
	// State is where the mailbox stands.
	State State `json:"state"`
	// Pages and Items count the pages fetched and the messages handed to
	// the sink by the current (or last) pass. While a folder is in a full
	// round (State is StateInitial) they include what earlier, interrupted
	// passes delivered in that round, so progress never goes backwards.
	Pages int `json:"pages"`
	Items int `json:"items"`
	// Estimate is how many messages the full rounds in progress will
	// deliver, for initial-sync progress: the folders' totalItemCount, or
	// with a history window the messages received inside it.
	Estimate int `json:"estimate"`
	// ThrottledUntil is set while Graph holds the mailbox back.
	ThrottledUntil time.Time `json:"throttledUntil,omitzero"`
	// Reason explains degraded, reconnect-required and not-mail-enabled states.
	Reason string `json:"reason,omitempty"`
	// LastSync is when the last pass finished without error.
	LastSync time.Time `json:"lastSync,omitzero"`
	// ItemErrors counts messages Graph sent that could not be understood.
	ItemErrors int `json:"itemErrors"`
	// Folders name the folders the last complete pass synced: a mail
	// folder by its ID, a calendar or contact folder by kind and ID
	// ("calendar:" + ID, "contacts:" + ID). A folder that drops out
	// (deleted, moved away, no longer configured) is emptied in its sink
	// by the next pass.
	Folders []string `json:"folders,omitempty"`
}

// Errors the engine returns from SyncOnce.
var (
	// ErrDegraded: the mailbox kept losing its sync state and is paused.
	ErrDegraded = errors.New("sync: mailbox degraded")
	// ErrLeaseLost: another worker holds the mailbox.
	ErrLeaseLost = errors.New("sync: mailbox leased by another worker")
	// ErrRunning: Run was called while it already runs.
	ErrRunning = errors.New("sync: Run is already running")
	// ErrFolderBackoff: a folder failed in recent passes and this pass
	// left it alone; a later pass tries it again.
	ErrFolderBackoff = errors.New("sync: folder backing off after failures")
)

// FolderError is the failure of one folder in a pass: the folder is the
// unit of failure, so the other folders of the mailbox finished and
// checkpointed. Err is the typed cause (errors.Is and errors.As see
// through it); [Engine.SyncOnce] joins one per failed folder.
type FolderError struct {
	// Folder is the folder that failed.
	Folder Folder
	// Err is why.
	Err error
}

func (e *FolderError) Error() string {
	name := e.Folder.Name
	if name == "" {
		name = e.Folder.ID
	}
	return "folder " + name + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *FolderError) Unwrap() error { return e.Err }
