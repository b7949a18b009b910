package sync_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/m365linktest"
	m365sync "github.com/m365link/m365link/sync"
)

// staticToken stands in for a tokens.Source (tokens.Manager.Source), which
// refreshes and persists real tokens.
type staticToken struct{}

func (staticToken) Token(context.Context) (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: "test"}, nil
}

// Sync one mailbox into the in-memory sink, then pick up a change.
func ExampleEngine_SyncOnce() {
	tenant := m365linktest.Start() // stands in for Microsoft 365; a test calls m365linktest.New(t)
	defer tenant.Close()
	gen := tenant.Generate(m365linktest.Spec{Mailboxes: 1, MessagesPerMailbox: 30, Vendors: 2, Seed: 1})
	mb := gen.Users[0].Mailbox()

	sink := &m365sync.MemorySink{}
	engine, err := m365sync.New(m365sync.Config{
		Client:   tenant.Graph(), // the process's one Graph client, here on the fake's cloud
		TenantID: tenant.ID(),
		Tokens:   func(m365link.Mailbox) m365sync.TokenSource { return tenant.AppToken() }, // a tokens.Manager's app-only source
		Sink:     sink,
		State:    &m365sync.MemoryState{},
	})
	if err != nil {
		panic(err)
	}
	if err := engine.SyncOnce(context.Background(), mb); err != nil {
		panic(err)
	}
	st, _ := engine.Status(mb.Key())
	fmt.Println(st.State, len(sink.IDs(mb)), "messages")

	tenant.DeleteMessage(mb.UPN, gen.Mailboxes[0].Inbox[0])
	_ = engine.SyncOnce(context.Background(), mb)
	fmt.Println(len(sink.IDs(mb)), "messages after a deletion")
	// Output:
	// idle 30 messages
	// 29 messages after a deletion
}

// Run syncs the mailboxes the admin's policy selects — here every
// mail-enabled user but one — and keeps them in sync until its context
// ends. A user without a mailbox is not selected.
func ExampleEngine_Run() {
	fg := fakegraph.New()
	defer fg.Close()
	seed := fakegraph.Seed(fg, fakegraph.SeedSpec{Mailboxes: 3, NotMailEnabled: 1, MessagesPerMailbox: 20, Vendors: 2, Seed: 1})
	tenant := seed.Tenants[0].Tenant.ID

	gc, err := graphclient.New(graphclient.Config{Cloud: m365link.Cloud{Name: "fake", GraphBase: fg.URL()}, HTTPClient: fg.Client()})
	if err != nil {
		panic(err)
	}
	engine, err := m365sync.New(m365sync.Config{
		Client:   gc,
		TenantID: tenant,
		Tokens:   func(m365link.Mailbox) m365sync.TokenSource { return staticToken{} }, // one app-only source
		Policy:   m365sync.Policy{AllMailboxes: true, DenyUsers: []string{seed.Mailboxes[2].User.UPN}},
		Sink:     &m365sync.MemorySink{},
		State:    &m365sync.MemoryState{},
		Schedule: m365sync.Schedule{Interval: time.Minute},
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- engine.Run(ctx) }()
	for !allIdle(engine.Statuses(), 2) {
		time.Sleep(10 * time.Millisecond) // a host would show these statuses instead
	}
	cancel()
	fmt.Println(<-done)

	statuses := engine.Statuses()
	slices.SortFunc(statuses, func(a, b m365sync.Status) int { return strings.Compare(a.Mailbox.UPN, b.Mailbox.UPN) })
	for _, st := range statuses {
		fmt.Printf("%s: %s, %d messages\n", st.Mailbox.UPN, st.State, st.Items)
	}
	// Output:
	// context canceled
	// alice@contoso.com: idle, 20 messages
	// bob@contoso.com: idle, 20 messages
}

func allIdle(statuses []m365sync.Status, n int) bool {
	if len(statuses) != n {
		return false
	}
	for _, st := range statuses {
		if st.State != m365sync.StateIdle {
			return false
		}
	}
	return true
}

// What a sink does with a message moved from the Inbox to Sent Items: the
// engine hands over the upsert in Sent Items before the Inbox's removal,
// and the sink ignores a removal for a message it holds in another folder.
// The message is updated, never deleted and created again.
func ExampleMemorySink() {
	ctx := context.Background()
	mb := m365link.Mailbox{TenantID: "tenant", UserID: "user"}
	inbox, sent := m365sync.Folder{ID: "inbox-id"}, m365sync.Folder{ID: "sent-id"}
	sink := &m365sync.MemorySink{}

	quote := m365link.Message{ID: "AAMk-quote", Subject: "Quotation", FolderID: inbox.ID}
	_ = sink.Apply(ctx, &m365sync.Page{Mailbox: mb, Folder: inbox, Generation: 1, Upserts: []m365link.Message{quote}})

	quote.FolderID = sent.ID
	_ = sink.Apply(ctx, &m365sync.Page{Mailbox: mb, Folder: sent, Generation: 1, Upserts: []m365link.Message{quote}})
	_ = sink.Apply(ctx, &m365sync.Page{Mailbox: mb, Folder: inbox, Generation: 1,
		Removals: []m365sync.Removal{{ID: "AAMk-quote", FolderID: inbox.ID}}})

	m, folder, ok := sink.Message(mb, "AAMk-quote")
	fmt.Println(ok, m.Subject, folder)
	upserts, removals, _ := sink.Counts()
	fmt.Println(upserts, "upserts,", removals, "removals")
	// Output:
	// true Quotation sent-id
	// 2 upserts, 0 removals
}

// One pass over the mailboxes of users who connected (delegated tokens,
// no directory access needed), then a summary: for a cron job or a CLI.
// Folders come from a preset: the whole mailbox but Junk Email and
// Deleted Items.
func ExampleEngine_RunOnce() {
	tenant := m365linktest.Start()
	defer tenant.Close()
	gen := tenant.Generate(m365linktest.Spec{Mailboxes: 2, MessagesPerMailbox: 15, Vendors: 2, Seed: 2})
	var connected []m365link.Mailbox // e.g. from the host's tokens.Lister
	for _, u := range gen.Users {
		if _, err := tenant.Browser(u.UPN).Connect(context.Background(), nil, nil); err != nil { // the user connects
			panic(err)
		}
		connected = append(connected, u.Mailbox())
	}
	engine, err := m365sync.New(m365sync.Config{
		Client:   tenant.Graph(),
		TenantID: tenant.ID(),
		Tokens:   func(mb m365link.Mailbox) m365sync.TokenSource { return tenant.Tokens().Source(mb.Account()) }, // each user's own
		Policy:   m365sync.Policy{Mailboxes: connected},
		Folders:  m365sync.AllButJunkAndDeleted,
		Sink:     &m365sync.MemorySink{},
		State:    &m365sync.MemoryState{},
	})
	if err != nil {
		panic(err)
	}
	results, err := engine.RunOnce(context.Background())
	if err != nil {
		panic(err)
	}
	for _, r := range results {
		fmt.Printf("%s: %s, %d messages, error: %v\n", r.Mailbox.UPN, r.State, r.Items, r.Err)
	}
	// Output:
	// bob@contoso.com: idle, 15 messages, error: <nil>
	// alice@contoso.com: idle, 15 messages, error: <nil>
}

// Calendars ride the same engine as mail: give Config.Calendar a sink
// (here the MemorySink, which takes every kind) and each mailbox's default
// calendar syncs over a window of 90 days back and 365 ahead. A weekly
// series arrives as its occurrences; a cancelled one leaves the sink.
func ExampleCalendarOptions() {
	tenant := m365linktest.Start()
	defer tenant.Close()
	gen := tenant.Generate(m365linktest.Spec{Mailboxes: 1, Vendors: 1, Seed: 1})
	mb := gen.Users[0].Mailbox()

	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1).Add(15 * time.Hour)
	series := tenant.AddSeries(mb.UPN, m365link.Event{Subject: "Weekly supplier call", Start: start, End: start.Add(30 * time.Minute),
		Organizer: m365link.EmailAddress{Address: mb.UPN}}, 7*24*time.Hour, 4)

	sink := &m365sync.MemorySink{}
	engine, err := m365sync.New(m365sync.Config{
		Client:   tenant.Graph(),
		TenantID: tenant.ID(),
		Tokens:   func(m365link.Mailbox) m365sync.TokenSource { return tenant.AppToken() },
		Calendar: m365sync.CalendarOptions{Sink: sink}, // no Sink: this engine syncs calendars only
		State:    &m365sync.MemoryState{},
	})
	if err != nil {
		panic(err)
	}
	if err := engine.SyncOnce(context.Background(), mb); err != nil {
		panic(err)
	}
	fmt.Println(len(sink.EventIDs(mb)), "occurrences")

	tenant.UpdateEvent(mb.UPN, series[2].ID, func(e *m365link.Event) { e.IsCancelled = true })
	_ = engine.SyncOnce(context.Background(), mb)
	fmt.Println(len(sink.EventIDs(mb)), "after one was cancelled")
	// Output:
	// 4 occurrences
	// 3 after one was cancelled
}
