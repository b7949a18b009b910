package sync_test

import (
	"context"
	"fmt"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
)

// calHarness is a fake tenant of three mailboxes and an engine that syncs
// only their default calendars, on a clock the test moves.
type calHarness struct {
	*harness
	sink  *m365sync.MemorySink
	mu    gosync.Mutex
	now   time.Time
	made  map[string][]string // user ID -> every event ID the test added
	cfg   m365sync.Config
	state *m365sync.MemoryState
}

var calNow = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func newCalHarness(t *testing.T) *calHarness {
	h := &calHarness{harness: newHarness(t, fakegraph.SeedSpec{Mailboxes: 3, Vendors: 1, Seed: 3}),
		sink: &m365sync.MemorySink{}, now: calNow, made: map[string][]string{}, state: &m365sync.MemoryState{}}
	cfg := h.config(nil, h.state)
	cfg.Sink = nil
	cfg.Calendar = m365sync.CalendarOptions{Sink: h.sink}
	h.cfg = m365sync.WithTestClock(cfg, h.clock)
	return h
}

func (h *calHarness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *calHarness) addEvent(i int, e fakegraph.Event) string {
	u := h.mailbox(i).UserID
	id := h.fg.AddEvent(u, e).ID
	h.made[u] = append(h.made[u], id)
	return id
}

// window is the engine's calendar window at the harness's clock (the
// defaults: 90 days back, 365 ahead, in UTC days).
func (h *calHarness) window() (time.Time, time.Time) {
	day := h.clock().UTC().Truncate(24 * time.Hour)
	return day.AddDate(0, 0, -90), day.AddDate(0, 0, 365)
}

// truth is what the sink must hold for mailbox i: every event the test
// made that still exists, is no series master, is not cancelled and
// overlaps the window.
func (h *calHarness) truth(i int) []string {
	u := h.mailbox(i).UserID
	from, until := h.window()
	var out []string
	for _, id := range h.made[u] {
		e, ok := h.fg.Event(u, id)
		if !ok || e.Type == "seriesMaster" || e.IsCancelled || !e.Start.Before(until) || !e.End.After(from) {
			continue
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func (h *calHarness) syncAll(t *testing.T, e *m365sync.Engine) {
	t.Helper()
	for i := range 3 {
		require.NoError(t, e.SyncOnce(context.Background(), h.mailbox(i)))
	}
}

func (h *calHarness) assertTruth(t *testing.T) {
	t.Helper()
	for i := range 3 {
		assert.Equal(t, nonNil(h.truth(i)), nonNil(h.sink.EventIDs(h.mailbox(i))), "mailbox %d", i)
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// The calendar scenario: a weekly series with one moved and one
// cancelled occurrence, an all-day event across a DST change, one meeting
// in three mailboxes, an event moved out of the window, and the window
// rolling forward. After every pass the sink equals the fake's truth for
// the window.
func TestCalendarSyncMatchesTheWindow(t *testing.T) {
	h := newCalHarness(t)
	alice := h.seed.Mailboxes[0].User
	org := fakegraph.Address{Name: alice.DisplayName, Address: alice.Mail}
	vendor := fakegraph.Attendee{Address: fakegraph.Address{Name: "Ann Vendor", Address: "ann@acme.co.uk"}, Response: "accepted"}
	pst := "Pacific Standard Time"
	la, err := time.LoadLocation("America/Los_Angeles")
	require.NoError(t, err)

	// A weekly series at 10:00 Pacific: the master, four occurrences; the
	// second moved a day later (an exception), the third cancelled.
	master := h.addEvent(0, fakegraph.Event{Type: "seriesMaster", Subject: "Weekly vendor sync", Organizer: org, TimeZone: pst,
		Start: time.Date(2026, 12, 1, 10, 0, 0, 0, la), End: time.Date(2026, 12, 1, 10, 30, 0, 0, la)})
	var occ []string
	for w := range 4 {
		start := time.Date(2026, 12, 1+7*w, 10, 0, 0, 0, la)
		e := fakegraph.Event{Type: "occurrence", SeriesMasterID: master, Subject: "Weekly vendor sync", Organizer: org,
			Attendees: []fakegraph.Attendee{vendor}, TimeZone: pst, Start: start, End: start.Add(30 * time.Minute), OriginalStart: start,
			IsOnlineMeeting: true, Categories: []string{"Vendors"}}
		switch w {
		case 1:
			e.Type, e.Start, e.End = "exception", start.AddDate(0, 0, 1), start.AddDate(0, 0, 1).Add(30*time.Minute)
		case 2:
			e.Type, e.IsCancelled = "exception", true
		}
		occ = append(occ, h.addEvent(0, e))
	}
	// All day on 14 March 2027, the day US clocks go forward: 23 hours long.
	allDay := h.addEvent(0, fakegraph.Event{Subject: "Supplier fair", IsAllDay: true, TimeZone: pst, ShowAs: "free",
		Start: time.Date(2027, 3, 14, 0, 0, 0, 0, la), End: time.Date(2027, 3, 15, 0, 0, 0, 0, la), Sensitivity: "private"})
	// One meeting in every mailbox: one iCalUID.
	const uid = "040000008200E00074C5B7101A82E00800000000AABBCCDD"
	var shared []string
	for i := range 3 {
		start := time.Date(2026, 12, 10, 15, 0, 0, 0, time.UTC)
		shared = append(shared, h.addEvent(i, fakegraph.Event{ICalUID: uid, Subject: "QBR with Acme", Organizer: org,
			Start: start, End: start.Add(time.Hour), Location: "Room 1"}))
	}
	// Early in the window (it leaves when the window rolls), far ahead
	// (outside until it rolls), and one that will move out.
	early := h.addEvent(1, fakegraph.Event{Subject: "Kick-off", Start: time.Date(2026, 9, 10, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 9, 10, 10, 0, 0, 0, time.UTC)})
	late := h.addEvent(1, fakegraph.Event{Subject: "Renewal", Start: time.Date(2027, 12, 20, 9, 0, 0, 0, time.UTC), End: time.Date(2027, 12, 20, 10, 0, 0, 0, time.UTC)})
	moving := h.addEvent(2, fakegraph.Event{Subject: "Site visit", Start: time.Date(2027, 1, 5, 9, 0, 0, 0, time.UTC), End: time.Date(2027, 1, 5, 10, 0, 0, 0, time.UTC)})

	e := h.engine(t, h.cfg)
	h.syncAll(t, e)
	h.assertTruth(t)
	mb := h.mailbox(0)
	assert.Equal(t, sorted(occ[0], occ[1], occ[3], allDay, shared[0]), h.sink.EventIDs(mb))

	// Whole values: the moved occurrence and the all-day event.
	fe, _ := h.fg.Event(alice.ID, occ[1])
	got, cal, ok := h.sink.Event(mb, occ[1])
	require.True(t, ok)
	assert.Equal(t, "calendar", cal)
	assert.Equal(t, m365link.Event{
		ID: occ[1], ChangeKey: fe.ChangeKey, ICalUID: fe.ICalUID, SeriesMasterID: master,
		OriginalStart: time.Date(2026, 12, 8, 18, 0, 0, 0, time.UTC), Type: m365link.EventException,
		Subject: "Weekly vendor sync", Organizer: m365link.EmailAddress{Name: alice.DisplayName, Address: alice.Mail},
		Attendees: []m365link.Attendee{{EmailAddress: m365link.EmailAddress{Name: "Ann Vendor", Address: "ann@acme.co.uk"},
			Type: m365link.AttendeeRequired, Response: "accepted"}},
		Start: time.Date(2026, 12, 9, 18, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 9, 18, 30, 0, 0, time.UTC),
		TimeZone: pst, IANAZone: "America/Los_Angeles", IsOnlineMeeting: true, JoinURL: fe.JoinURL,
		OnlineMeetingProvider: "teamsForBusiness", Categories: []string{"Vendors"}, Sensitivity: "normal", ShowAs: "busy",
		LastModified: fe.LastModifiedDateTime.UTC().Truncate(100 * time.Nanosecond), WebLink: got.WebLink,
	}, got)
	assert.NotEmpty(t, got.WebLink)
	ad, _, ok := h.sink.Event(mb, allDay)
	require.True(t, ok)
	assert.Equal(t, m365link.Date{Year: 2027, Month: time.March, Day: 14}, ad.StartDate)
	assert.Equal(t, m365link.Date{Year: 2027, Month: time.March, Day: 15}, ad.EndDate)
	assert.Equal(t, time.Date(2027, 3, 14, 8, 0, 0, 0, time.UTC), ad.Start)
	assert.Equal(t, time.Date(2027, 3, 15, 7, 0, 0, 0, time.UTC), ad.End)
	assert.Equal(t, "private", ad.Sensitivity)
	assert.True(t, ad.IsAllDay)
	// One meeting, three mailboxes, one iCalUID.
	for i := range 3 {
		ev, _, ok := h.sink.Event(h.mailbox(i), shared[i])
		require.True(t, ok)
		assert.Equal(t, uid, ev.ICalUID)
	}
	assert.Equal(t, []string{early}, slices.DeleteFunc(h.sink.EventIDs(h.mailbox(1)), func(id string) bool { return id != early }))

	// Changes: the cancelled occurrence comes back, the last one is
	// cancelled, the site visit moves out of the window.
	h.fg.UpdateEvent(alice.ID, occ[2], func(e *fakegraph.Event) { e.IsCancelled = false })
	h.fg.UpdateEvent(alice.ID, occ[3], func(e *fakegraph.Event) { e.IsCancelled = true })
	h.fg.UpdateEvent(h.mailbox(2).UserID, moving, func(e *fakegraph.Event) {
		e.Start, e.End = e.Start.AddDate(2, 0, 0), e.End.AddDate(2, 0, 0)
	})
	h.syncAll(t, e)
	h.assertTruth(t)
	assert.Equal(t, sorted(occ[0], occ[1], occ[2], allDay, shared[0]), h.sink.EventIDs(mb))
	assert.NotContains(t, h.sink.EventIDs(h.mailbox(2)), moving)

	// 100 days on the window has rolled: the kick-off falls out, the
	// renewal comes in, nothing else changes.
	h.mu.Lock()
	h.now = h.now.AddDate(0, 0, 100)
	h.mu.Unlock()
	h.syncAll(t, e)
	h.assertTruth(t)
	assert.NotContains(t, h.sink.EventIDs(h.mailbox(1)), early)
	assert.Contains(t, h.sink.EventIDs(h.mailbox(1)), late)
	// A pass on the same day is incremental: no new round.
	_, _, before := h.sink.Counts()
	h.syncAll(t, e)
	_, _, after := h.sink.Counts()
	assert.Equal(t, before, after)
	h.assertTruth(t)
}

// Contacts: the default folder and a named one; edits, a deletion and a
// move between them reach the sink exactly.
func TestContactsSync(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, Vendors: 1, Seed: 5})
	sink := &m365sync.MemorySink{}
	cfg := h.config(nil, nil)
	cfg.Sink = nil
	cfg.Contacts = m365sync.ContactOptions{Sink: sink, Folders: []m365sync.ContactFolderSpec{{Default: true}, {Name: "suppliers"}}}
	mb := h.mailbox(0)
	u := mb.UserID
	sup := h.fg.AddContactFolder(u, fakegraph.Folder{DisplayName: "Suppliers"})
	ann := h.fg.AddContact(u, fakegraph.Contact{DisplayName: "Ann Vendor", GivenName: "Ann", Surname: "Vendor", CompanyName: "Acme Ltd",
		JobTitle: "Account manager", Department: "Sales", MobilePhone: "+44 7700 900000",
		EmailAddresses: []fakegraph.Address{{Name: "Ann Vendor", Address: "ann@acme.co.uk"}, {Name: "Ann", Address: "ann.vendor@gmail.com"}},
		BusinessPhones: []string{"+44 20 7946 0000"}, HomePhones: []string{"+44 20 7946 0001"}}).ID
	bob := h.fg.AddContact(u, fakegraph.Contact{ParentFolderID: sup.ID, DisplayName: "Bob Supplier", CompanyName: "Fabrikam",
		EmailAddresses: []fakegraph.Address{{Address: "bob@fabrikam.com"}}}).ID
	cid := h.fg.AddContact(u, fakegraph.Contact{DisplayName: "Cid", EmailAddresses: []fakegraph.Address{{Address: "cid@example.com"}}}).ID

	e := h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	assert.Equal(t, sorted(ann, bob, cid), sink.ContactIDs(mb))
	fc, _ := h.fg.Contact(u, ann)
	got, folder, ok := sink.Contact(mb, ann)
	require.True(t, ok)
	assert.Equal(t, "contacts", folder)
	assert.Equal(t, m365link.Contact{ID: ann, ChangeKey: fc.ChangeKey, FolderID: "contacts", DisplayName: "Ann Vendor", GivenName: "Ann",
		Surname: "Vendor", CompanyName: "Acme Ltd", JobTitle: "Account manager", Department: "Sales",
		EmailAddresses: []m365link.EmailAddress{{Name: "Ann Vendor", Address: "ann@acme.co.uk"}, {Name: "Ann", Address: "ann.vendor@gmail.com"}},
		BusinessPhones: []string{"+44 20 7946 0000"}, HomePhones: []string{"+44 20 7946 0001"}, MobilePhone: "+44 7700 900000",
		LastModified: fc.LastModifiedDateTime.UTC().Truncate(time.Second)}, got)
	_, folder, _ = sink.Contact(mb, bob)
	assert.Equal(t, sup.ID, folder)

	h.fg.UpdateContact(u, ann, func(c *fakegraph.Contact) { c.JobTitle = "Director" })
	h.fg.DeleteContact(u, cid)
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	assert.Equal(t, sorted(ann, bob), sink.ContactIDs(mb))
	got, _, _ = sink.Contact(mb, ann)
	assert.Equal(t, "Director", got.JobTitle)

	st, ok := e.Status(mb.Key())
	require.True(t, ok)
	assert.Equal(t, []string{"contacts:contacts", "contacts:" + sup.ID}, st.Folders)
	assert.Equal(t, m365sync.StateIdle, st.State)
}

// A mail-only engine and one with every kind share nothing by accident:
// calendar and contacts cursors live under their own keys, and dropping
// a kind's folder from the configuration empties it in its own sink.
func TestCalendarDroppedFromTheConfigurationIsEmptied(t *testing.T) {
	h := newCalHarness(t)
	id := h.addEvent(0, fakegraph.Event{Subject: "x", Start: calNow.Add(time.Hour), End: calNow.Add(2 * time.Hour)})
	mb := h.mailbox(0)
	require.NoError(t, h.engine(t, h.cfg).SyncOnce(context.Background(), mb))
	assert.Equal(t, []string{id}, h.sink.EventIDs(mb))

	// The host now syncs a calendar by a name the mailbox does not have,
	// and mail: the default calendar drops out and is emptied.
	cfg := h.cfg
	cfg.Sink = &m365sync.MemorySink{}
	cfg.Calendar.Calendars = []m365sync.CalendarSpec{{Name: "No such calendar"}}
	e := h.engine(t, cfg)
	require.NoError(t, e.SyncOnce(context.Background(), mb))
	assert.Empty(t, h.sink.EventIDs(mb))
	st, _ := e.Status(mb.Key())
	assert.Equal(t, fmt.Sprintf("not found: calendar:No such calendar"), st.Reason)
}

// Config.Kinds chooses per mailbox: mail and calendar for one, calendar
// only for the other; a mailbox that stops syncing its calendar has its
// events emptied from the sink by the next pass.
func TestKindsPerMailbox(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 2, MessagesPerMailbox: 4, Vendors: 1, Seed: 4})
	sink := &m365sync.MemorySink{}
	cfg := h.config(sink, nil)
	cfg.Calendar.Sink = sink
	a, b := h.mailbox(0), h.mailbox(1)
	kinds := map[string][]m365sync.Kind{a.UserID: {m365sync.KindMail, m365sync.KindCalendar}, b.UserID: {m365sync.KindCalendar}}
	var mu gosync.Mutex
	cfg.Kinds = func(mb m365link.Mailbox) []m365sync.Kind {
		mu.Lock()
		defer mu.Unlock()
		return kinds[mb.UserID]
	}
	at := time.Now().UTC().Add(24 * time.Hour)
	ea := h.fg.AddEvent(a.UserID, fakegraph.Event{Subject: "a", Start: at, End: at.Add(time.Hour)}).ID
	eb := h.fg.AddEvent(b.UserID, fakegraph.Event{Subject: "b", Start: at, End: at.Add(time.Hour)}).ID
	e := h.engine(t, cfg)
	for _, mb := range []m365link.Mailbox{a, b} {
		require.NoError(t, e.SyncOnce(context.Background(), mb))
	}
	assert.Len(t, sink.IDs(a), 4)
	assert.Empty(t, sink.IDs(b))
	assert.Equal(t, []string{ea}, sink.EventIDs(a))
	assert.Equal(t, []string{eb}, sink.EventIDs(b))

	mu.Lock()
	kinds[a.UserID] = []m365sync.Kind{m365sync.KindMail}
	mu.Unlock()
	require.NoError(t, e.SyncOnce(context.Background(), a))
	assert.Len(t, sink.IDs(a), 4)
	assert.Empty(t, sink.EventIDs(a))
	st, _ := e.Status(a.Key())
	assert.Equal(t, []string{h.folderID(t, 0, "inbox"), h.folderID(t, 0, "sentitems")}, st.Folders)
}
