package sync

import (
	"context"
	"errors"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
)

// TokenSource supplies access tokens for a mailbox's account. tokens.Source
// and tokens.External satisfy it. It must be safe for concurrent use.
type TokenSource interface {
	Token(ctx context.Context) (*oauth2.Token, error)
}

// Folder is a synced mail folder of a mailbox.
type Folder struct {
	// ID is the folder's immutable ID.
	ID string
	// Name is the well-known name ("inbox") or display-name path ("Inbox/Vendors").
	Name string
	// Total is Graph's totalItemCount when the sync started, for progress.
	Total int
}

// Removal is a message gone from a folder: deleted, moved out, or (in a
// windowed sync) no longer reported.
type Removal struct {
	ID string
	// FolderID is the folder whose delta reported the removal. A message
	// moved to another synced folder is delivered there (same ID) before
	// the removal, so a sink must ignore a removal for an item it now holds
	// in another folder: a move is an update, never a delete and a create.
	FolderID string
}

// Page is one committed unit of work for a sink: what one Graph delta page
// changed in one folder of one mailbox. Delivery is at least once: after a
// crash a page may come again, so Apply must be idempotent (upsert by ID).
type Page struct {
	Mailbox m365link.Mailbox
	Folder  Folder
	// Generation numbers the folder's full syncs: it grows with every
	// resync. Sinks record it on upserted items (see [Sink.Reset]).
	Generation int64
	Upserts    []m365link.Message
	Removals   []Removal
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
	// (tombstones) it.
	ResetEnd
)

// Reset tells a sink about a full resync of one folder.
type Reset struct {
	Mailbox    m365link.Mailbox
	FolderID   string
	Phase      ResetPhase
	Generation int64
}

// Sink receives a mailbox's mail. The engine calls it from several
// goroutines, but never concurrently for the same mailbox. A cursor is
// saved only after the sink returned nil for the page it covers.
type Sink interface {
	// Apply commits a page: upsert every message by ID (recording
	// p.Generation and its folder), then apply every removal unless the
	// sink holds that ID in another folder than Removal.FolderID.
	Apply(ctx context.Context, p *Page) error
	// Reset marks the start and end of a full resync of a folder.
	Reset(ctx context.Context, r Reset) error
	// MailboxRemoved says the mailbox left the sync policy: the sink may
	// drop its messages.
	MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error
}

// Cursor is where one folder's sync stands. The engine stores it opaquely.
type Cursor struct {
	// Link is the nextLink to resume an interrupted round, or the
	// deltaLink of the last finished round; empty before the first page.
	Link string `json:"link,omitempty"`
	// Initial is true until the first full round finished.
	Initial bool `json:"initial,omitempty"`
	// Generation is the folder's resync generation.
	Generation int64 `json:"gen,omitempty"`
	// Resyncing is true while a full resync after a reset runs.
	Resyncing bool `json:"resyncing,omitempty"`
	// Unfiltered is set once a windowed folder fell back to an unfiltered
	// delta with a client-side cut (Graph caps filtered delta at 5,000).
	Unfiltered bool `json:"unfiltered,omitempty"`
	// Delivered counts messages delivered in the current round.
	Delivered int `json:"delivered,omitempty"`
	// Resets are the times of recent resets, to bound resync loops.
	Resets []time.Time `json:"resets,omitempty"`
	// Pending holds removals deferred to the end of the mailbox's pass, so
	// that a move into another synced folder is seen first.
	Pending []Removal `json:"pending,omitempty"`
}

// StateStore keeps cursors and statuses. Implementations must be safe for
// concurrent use; a missing cursor is the zero Cursor with a nil error.
type StateStore interface {
	LoadCursor(ctx context.Context, mailbox, folder string) (Cursor, error)
	SaveCursor(ctx context.Context, mailbox, folder string, c Cursor) error
	// DeleteMailbox forgets every cursor and the status of a mailbox.
	DeleteMailbox(ctx context.Context, mailbox string) error
	SaveStatus(ctx context.Context, s Status) error
	LoadStatus(ctx context.Context, mailbox string) (Status, error)
}

// LeaseStore lets several worker processes share mailboxes: only the
// holder of a mailbox's unexpired lease syncs it.
type LeaseStore interface {
	// Acquire takes the lease on key for owner until now+ttl, or renews it
	// if owner holds it; it reports false when another owner holds an
	// unexpired lease.
	Acquire(ctx context.Context, key, owner string, ttl time.Duration) (bool, error)
	// Release gives the lease up if owner holds it.
	Release(ctx context.Context, key, owner string) error
}

// State is a mailbox's sync state as the host shows it.
type State string

// States.
const (
	StateIdle              State = "idle"
	StateInitial           State = "initial sync"
	StateIncremental       State = "incremental"
	StateThrottled         State = "throttled"
	StateDegraded          State = "degraded"
	StateReconnectRequired State = "reconnect required"
	StateNotMailEnabled    State = "not mail-enabled"
	StateRemoved           State = "removed"
)

// Status is what the host shows for a mailbox.
type Status struct {
	Mailbox m365link.Mailbox `json:"mailbox"`
	State   State            `json:"state"`
	// Pages and Items count what the current (or last) pass delivered.
	Pages int `json:"pages"`
	Items int `json:"items"`
	// Estimate is the folders' totalItemCount, for initial-sync progress.
	Estimate int `json:"estimate"`
	// ThrottledUntil is set while Graph holds the mailbox back.
	ThrottledUntil time.Time `json:"throttledUntil,omitzero"`
	// Reason explains degraded, reconnect-required and not-mail-enabled states.
	Reason   string    `json:"reason,omitempty"`
	LastSync time.Time `json:"lastSync,omitzero"`
	// ItemErrors counts messages Graph sent that could not be understood.
	ItemErrors int `json:"itemErrors"`
}

// Errors the engine returns from SyncOnce.
var (
	// ErrDegraded: the mailbox kept losing its sync state and is paused.
	ErrDegraded = errors.New("sync: mailbox degraded")
	// ErrLeaseLost: another worker holds the mailbox.
	ErrLeaseLost = errors.New("sync: mailbox leased by another worker")
)
