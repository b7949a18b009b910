package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/graph"
)

// FolderSpec names a folder to sync: a well-known name ("inbox",
// "sentitems", "archive", "msgfolderroot"), a display-name path from the
// mailbox root ("Inbox/Vendors", matched case-insensitively), or an
// immutable ID. Set one of the three.
type FolderSpec struct {
	// WellKnown is a well-known folder name, e.g. "inbox".
	WellKnown string
	// Path is a display-name path from the mailbox root, e.g. "Inbox/Vendors".
	Path string
	// ID is a folder's immutable ID.
	ID string
	// Children adds the folder's descendants, down to MaxFolderDepth
	// levels below it (a deeper folder is left out, and the mailbox's
	// status names it). The mailbox root ("msgfolderroot") holds no mail
	// itself: a spec for it syncs only its descendants.
	Children bool
	// Exclude leaves the folder and its descendants out of what the other
	// specs select, e.g. Junk Email out of the whole mailbox.
	Exclude bool
}

// MaxFolderDepth is how many levels of child folders a spec with Children
// reaches below its folder.
const MaxFolderDepth = 10

// Folder presets for Config.Folders.
var (
	// DefaultFolders are Inbox and Sent Items.
	DefaultFolders = []FolderSpec{{WellKnown: "inbox"}, {WellKnown: "sentitems"}}
	// AllMailFolders is every folder of the mailbox.
	AllMailFolders = []FolderSpec{{WellKnown: "msgfolderroot", Children: true}}
	// AllButJunkAndDeleted is every folder but Junk Email, Deleted Items
	// and their subfolders.
	AllButJunkAndDeleted = []FolderSpec{{WellKnown: "msgfolderroot", Children: true},
		{WellKnown: "junkemail", Exclude: true}, {WellKnown: "deleteditems", Exclude: true}}
)

// Window bounds how far back a folder's first sync goes. The zero value
// syncs everything. The start is fixed when a folder starts syncing (and
// kept across resyncs); changing the window later applies to folders that
// start afterwards.
type Window struct {
	// Days back from the first sync (30, 90, 180); ignored when Start is set.
	Days int
	// Start is a custom start.
	Start time.Time
}

func (w Window) start(now time.Time) time.Time {
	if !w.Start.IsZero() {
		return w.Start.UTC()
	}
	if w.Days > 0 {
		return now.UTC().AddDate(0, 0, -w.Days).Truncate(24 * time.Hour)
	}
	return time.Time{}
}

// Config configures an [Engine]. Tokens, Sink and State are required;
// every other field has the default its doc gives.
type Config struct {
	// Client is the process's shared Graph client (its cloud, transport,
	// retries and per-mailbox limiter); nil makes one for the global cloud
	// with defaults. Share one with the other packages so that their calls
	// and the engine's count against the same mailbox limits.
	Client *graphclient.Client
	// TenantID is the tenant whose mailboxes sync. Required.
	TenantID string
	// Tokens returns the token source for a mailbox (the same app-only
	// source for every mailbox, or each user's delegated one). Required.
	Tokens func(m365link.Mailbox) TokenSource
	// DirectoryToken reads users and groups for the Policy; nil uses
	// Tokens of a mailbox with only the tenant set.
	DirectoryToken TokenSource
	// Policy selects the mailboxes Run syncs.
	Policy Policy
	// Folders to sync; default DefaultFolders (see also AllMailFolders and
	// AllButJunkAndDeleted). ChildFolders adds every spec's descendants,
	// as FolderSpec.Children does for one. A folder that does not exist in a mailbox is skipped
	// (and named in its status) unless none exists.
	Folders      []FolderSpec
	ChildFolders bool
	// Window bounds the history of the first sync; the zero Window syncs
	// everything.
	Window Window
	// IncludeBody adds message bodies (as text) to the lean selection.
	IncludeBody bool

	// Sink receives the messages; State keeps the engine's records. State
	// is required, and at least one sink: Sink for mail, Calendar.Sink,
	// Contacts.Sink. A kind without a sink is not synced.
	Sink  Sink
	State StateStore
	// Calendar configures calendar sync (off while Calendar.Sink is nil).
	Calendar CalendarOptions
	// Contacts configures contacts sync (off while Contacts.Sink is nil).
	Contacts ContactOptions
	// Kinds, if set, chooses the kinds each mailbox syncs (e.g. calendar
	// only for room mailboxes); nil syncs every kind that has a sink. When
	// a mailbox stops syncing a kind, the next pass empties that kind's
	// folders in its sink, as it does any folder that drops out. (A kind
	// whose sink the configuration no longer has cannot be told: its
	// cursors are dropped and the host clears that store itself.)
	Kinds func(m365link.Mailbox) []Kind
	// Leases, when set, lets several processes share mailboxes.
	Leases LeaseStore
	// Schedule tunes how much runs at once and how often; zero fields take
	// the defaults.
	Schedule Schedule

	// OnProgress, if set, is called when a pass starts, after every page
	// and at the end of every pass with the mailbox's status. Calls for one
	// mailbox come one at a time and in order; calls for different
	// mailboxes come concurrently. It must not block for long.
	OnProgress func(Status)
	// OnPass, if set, is called as a pass over a mailbox starts, with its
	// context; the context it returns is the pass's (a tracing span goes
	// in it and reaches every Graph request of the pass), and end, if not
	// nil, is called when the pass ends with what it did. For a host's
	// traces and metrics (see package m365otel).
	OnPass func(ctx context.Context, mb m365link.Mailbox) (passCtx context.Context, end func(PassResult))
	// OnItemError, if set, is called for every message Graph sent that
	// could not be understood; the rest of its page is delivered anyway.
	OnItemError func(m365link.Mailbox, *m365link.ItemError)
	// Logger receives sync events (never tokens or delta links); nil discards.
	Logger *slog.Logger

	// Test knobs (export_test.go): the page size asked of Graph (default
	// 1000, halved down to 50 while Graph answers 504) and where Graph
	// stops a receivedDateTime-filtered delta (5,000).
	pageSize, filteredDeltaCap int
	// now is the clock the calendar window is read from (default time.Now).
	now func() time.Time
	// shortLeases lets tests use a LeaseTTL below the 30 s minimum.
	shortLeases bool
}

// CalendarOptions configure calendar sync: calendarView delta over a
// window of days around today, per calendar.
type CalendarOptions struct {
	// Sink receives the events; nil turns calendar sync off.
	Sink EventSink
	// Calendars to sync; empty syncs the mailbox's default calendar. A
	// calendar that does not exist in a mailbox is skipped and named in
	// its status.
	Calendars []CalendarSpec
	// PastDays and FutureDays bound the window: events that overlap
	// [today-PastDays, today+FutureDays) in UTC. Defaults 90 and 365.
	//
	// The window is fixed when a calendar's full round starts. Once a day
	// has passed it rolls forward: the next pass runs a new full round
	// over the new window (one request per page of events in it) that
	// ends with a sweep, so events that fell out of the window leave the
	// sink and none is lost in between.
	PastDays, FutureDays int
}

// CalendarSpec names a calendar: Default, or by immutable ID, or by
// display name (case-insensitive). Set one.
type CalendarSpec struct {
	// Default is the mailbox's default calendar.
	Default bool
	// ID is a calendar's immutable ID.
	ID string
	// Name is a calendar's display name, e.g. "Vendor meetings".
	Name string
}

// ContactOptions configure contacts sync: Outlook contacts delta per
// contact folder, so hosts learn vendor contacts from address books.
type ContactOptions struct {
	// Sink receives the contacts; nil turns contacts sync off.
	Sink ContactSink
	// Folders to sync; empty syncs the default contact folder. A folder
	// that does not exist is skipped and named in the mailbox's status.
	Folders []ContactFolderSpec
}

// ContactFolderSpec names a contact folder: Default, or by immutable ID,
// or by display name among the default folder's child folders
// (case-insensitive). Set one.
type ContactFolderSpec struct {
	// Default is the mailbox's default contact folder ("Contacts").
	Default bool
	// ID is a contact folder's immutable ID.
	ID string
	// Name is a child folder's display name.
	Name string
}

// Schedule tunes the engine's concurrency and timing. Zero fields take the
// defaults.
type Schedule struct {
	// Workers bounds how many mailboxes Run syncs at once; default 8.
	Workers int
	// FolderConcurrency is how many folders of one mailbox sync at once;
	// default 2. Graph allows 4 requests in flight per mailbox, shared with
	// every other package's calls for it, and the limiter enforces that
	// whatever this says.
	FolderConcurrency int
	// Interval between incremental passes of a mailbox, from the end of
	// one to the start of the next, spread by ±10% so that mailboxes do
	// not pass in step; default 1 minute.
	Interval time.Duration
	// PolicyInterval between re-reads of the policy; default 10 minutes.
	PolicyInterval time.Duration
	// LeaseTTL bounds how long a crashed worker holds a mailbox; default
	// 5 minutes. It must outlast the longest wait for one page (the
	// client's Retry.MaxElapsed, 2 minutes by default). With a
	// [LeaseBalancer], Run renews the leases it owns every LeaseTTL/3 and
	// balances every LeaseTTL/15 (within 1–5 s).
	LeaseTTL time.Duration
	// Owner names this worker in leases; default host name, process ID
	// and a random suffix.
	Owner string
	// SummaryInterval is how often Run logs a summary at Info (see
	// [Engine.Summary]); default 5 minutes.
	SummaryInterval time.Duration
	// MaxResyncs in ResyncWindow before a folder is degraded; default 3
	// in 1 hour.
	MaxResyncs   int
	ResyncWindow time.Duration
}

// Validate reports every problem of c at once, each naming its field and
// what is allowed; nil when c is usable.
func (c Config) Validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if c.TenantID == "" {
		bad("TenantID is required (the tenant whose mailboxes sync)")
	}
	if c.Tokens == nil {
		bad("Tokens is required (a token source per mailbox)")
	}
	if c.Sink == nil && c.Calendar.Sink == nil && c.Contacts.Sink == nil {
		bad("a sink is required: Sink (mail), Calendar.Sink or Contacts.Sink")
	}
	if c.Calendar.PastDays < 0 || c.Calendar.FutureDays < 0 {
		bad("Calendar.PastDays and Calendar.FutureDays must not be negative; 0 takes the default")
	}
	for i, cs := range c.Calendar.Calendars {
		if n := setCount(cs.Default, cs.ID, cs.Name); n != 1 {
			bad("Calendar.Calendars[%d] sets %d of Default, ID and Name; exactly one is allowed", i, n)
		}
	}
	for i, fs := range c.Contacts.Folders {
		if n := setCount(fs.Default, fs.ID, fs.Name); n != 1 {
			bad("Contacts.Folders[%d] sets %d of Default, ID and Name; exactly one is allowed", i, n)
		}
	}
	if c.State == nil {
		bad("State is required (MemoryState, sqlstore's SyncState or the host's own StateStore)")
	}
	if c.Client != nil && graph.FromHandle(c.Client) == nil {
		bad("Client was not made by graphclient.New")
	}
	excludes := 0
	for _, f := range c.Folders {
		if f.Exclude {
			excludes++
		}
	}
	if excludes > 0 && excludes == len(c.Folders) {
		bad("Folders has only Exclude specs; nothing would sync (start from a preset such as AllMailFolders)")
	}
	for i, mb := range c.Policy.Mailboxes {
		if mb.UserID == "" {
			bad("Policy.Mailboxes[%d] has no UserID", i)
		}
		if mb.TenantID != "" && !strings.EqualFold(mb.TenantID, c.TenantID) {
			bad("Policy.Mailboxes[%d] is in tenant %s, not %s", i, mb.TenantID, c.TenantID)
		}
	}
	for i, f := range c.Folders {
		n := 0
		for _, v := range []string{f.WellKnown, f.Path, f.ID} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			bad("Folders[%d] sets %d of WellKnown, Path and ID; exactly one is allowed", i, n)
		}
	}
	if c.Window.Days < 0 {
		bad("Window.Days is %d; it must be 0 (everything) or positive", c.Window.Days)
	}
	if !c.Window.Start.IsZero() && c.Window.Start.After(time.Now()) {
		bad("Window.Start is in the future")
	}
	s := c.Schedule
	for _, n := range []struct {
		name string
		v    int64
	}{{"Workers", int64(s.Workers)}, {"FolderConcurrency", int64(s.FolderConcurrency)}, {"Interval", int64(s.Interval)},
		{"PolicyInterval", int64(s.PolicyInterval)}, {"LeaseTTL", int64(s.LeaseTTL)}, {"MaxResyncs", int64(s.MaxResyncs)},
		{"ResyncWindow", int64(s.ResyncWindow)}, {"SummaryInterval", int64(s.SummaryInterval)}} {
		if n.v < 0 {
			bad("Schedule.%s is negative; 0 takes the default", n.name)
		}
	}
	if s.LeaseTTL > 0 && s.LeaseTTL < 30*time.Second && c.Leases != nil && !c.shortLeases {
		bad("Schedule.LeaseTTL is %s; with Leases it must be at least 30s (a page can take that long)", s.LeaseTTL)
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.New("sync: invalid Config: " + strings.Join(errs, "; "))
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if len(c.Folders) == 0 {
		c.Folders = DefaultFolders
	}
	s := &c.Schedule
	s.Workers = or(s.Workers, 8)
	s.FolderConcurrency = or(s.FolderConcurrency, 2)
	s.Interval = or(s.Interval, time.Minute)
	s.PolicyInterval = or(s.PolicyInterval, 10*time.Minute)
	s.LeaseTTL = or(s.LeaseTTL, 5*time.Minute)
	s.MaxResyncs = or(s.MaxResyncs, 3)
	s.ResyncWindow = or(s.ResyncWindow, time.Hour)
	s.SummaryInterval = or(s.SummaryInterval, 5*time.Minute)
	c.Calendar.PastDays = or(c.Calendar.PastDays, 90)
	c.Calendar.FutureDays = or(c.Calendar.FutureDays, 365)
	if len(c.Calendar.Calendars) == 0 {
		c.Calendar.Calendars = []CalendarSpec{{Default: true}}
	}
	if len(c.Contacts.Folders) == 0 {
		c.Contacts.Folders = []ContactFolderSpec{{Default: true}}
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.pageSize = or(c.pageSize, 1000)
	c.filteredDeltaCap = or(c.filteredDeltaCap, 5000)
	return c
}

func or[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// setCount counts the set fields of a spec.
func setCount(dflt bool, id, name string) int {
	n := 0
	if dflt {
		n++
	}
	if id != "" {
		n++
	}
	if name != "" {
		n++
	}
	return n
}
