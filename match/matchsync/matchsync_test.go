package matchsync_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/match"
	"github.com/m365link/m365link/match/matchsync"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/vendors"
)

type recordingSink struct {
	pages   []*m365sync.Page
	results [][]match.Result
	resets  []m365sync.Reset
	removed []m365link.Mailbox
}

func (s *recordingSink) ApplyMatched(_ context.Context, p *m365sync.Page, r []match.Result) error {
	s.pages, s.results = append(s.pages, p), append(s.results, r)
	return nil
}
func (s *recordingSink) Reset(_ context.Context, r m365sync.Reset) error {
	s.resets = append(s.resets, r)
	return nil
}
func (s *recordingSink) MailboxRemoved(_ context.Context, mb m365link.Mailbox) error {
	s.removed = append(s.removed, mb)
	return nil
}

func TestSinkDecoratorAttachesMatches(t *testing.T) {
	dir, err := vendors.NewIndex([]vendors.Vendor{{ID: "globex", Name: "Globex", Tracked: true, Domains: []string{"globex.com"}}})
	require.NoError(t, err)
	m, err := match.New(match.Config{Directory: dir, InternalDomains: []string{"contoso.com"}, TrackedOnly: true})
	require.NoError(t, err)
	rec := &recordingSink{}
	var sink m365sync.Sink = matchsync.Sink(m, rec)
	p := &m365sync.Page{Upserts: []m365link.Message{
		{ID: "m1", From: m365link.EmailAddress{Address: "hank@globex.com"}},
		{ID: "m2", From: m365link.EmailAddress{Address: "alice@contoso.com"}},
	}, Removals: []m365sync.Removal{{ID: "m0", FolderID: "f"}}}
	require.NoError(t, sink.Apply(context.Background(), p))
	require.Len(t, rec.results, 1)
	assert.Same(t, p, rec.pages[0])
	assert.Equal(t, []string{"globex"}, rec.results[0][0].Vendors())
	assert.Empty(t, rec.results[0][1].Vendors())
	require.NoError(t, sink.Reset(context.Background(), m365sync.Reset{FolderID: "f", Phase: m365sync.ResetEnd, Generation: 2}))
	require.NoError(t, sink.MailboxRemoved(context.Background(), m365link.Mailbox{UserID: "u"}))
	assert.Equal(t, []m365sync.Reset{{FolderID: "f", Phase: m365sync.ResetEnd, Generation: 2}}, rec.resets)
	assert.Equal(t, []m365link.Mailbox{{UserID: "u"}}, rec.removed)
}

type recordingKinds struct {
	events   []*m365sync.EventPage
	eres     [][]match.Result
	contacts []*m365sync.ContactPage
	cres     [][][]match.Result
	resets   []m365sync.Reset
	removed  []m365link.Mailbox
}

func (s *recordingKinds) ApplyMatchedEvents(_ context.Context, p *m365sync.EventPage, r []match.Result) error {
	s.events, s.eres = append(s.events, p), append(s.eres, r)
	return nil
}
func (s *recordingKinds) ApplyMatchedContacts(_ context.Context, p *m365sync.ContactPage, r [][]match.Result) error {
	s.contacts, s.cres = append(s.contacts, p), append(s.cres, r)
	return nil
}
func (s *recordingKinds) ResetEvents(_ context.Context, r m365sync.Reset) error {
	s.resets = append(s.resets, r)
	return nil
}
func (s *recordingKinds) ResetContacts(_ context.Context, r m365sync.Reset) error {
	s.resets = append(s.resets, r)
	return nil
}
func (s *recordingKinds) MailboxRemoved(_ context.Context, mb m365link.Mailbox) error {
	s.removed = append(s.removed, mb)
	return nil
}

func vendorsOf(rs []match.Result) [][]string {
	out := make([][]string, len(rs))
	for i, r := range rs {
		out[i] = append([]string{}, r.Vendors()...)
	}
	return out
}

// Events are matched on organizer and attendees, contacts on each of
// their addresses alone; resets and removals pass through.
func TestEventAndContactDecorators(t *testing.T) {
	dir, err := vendors.NewIndex([]vendors.Vendor{{ID: "globex", Name: "Globex", Tracked: true, Domains: []string{"globex.com"}},
		{ID: "acme", Name: "Acme", Tracked: true, Domains: []string{"acme.co.uk"}}})
	require.NoError(t, err)
	m, err := match.New(match.Config{Directory: dir, InternalDomains: []string{"contoso.com"}})
	require.NoError(t, err)
	rec := &recordingKinds{}
	es := matchsync.EventSink(m, rec)
	alice := m365link.EmailAddress{Name: "Alice", Address: "alice@contoso.com"}
	p := &m365sync.EventPage{Upserts: []m365link.Event{
		{ID: "e1", Organizer: alice, Attendees: []m365link.Attendee{{EmailAddress: m365link.EmailAddress{Address: "hank@globex.com"}}}},
		{ID: "e2", Organizer: m365link.EmailAddress{Address: "ann@acme.co.uk"}, Attendees: []m365link.Attendee{{EmailAddress: alice}}},
		{ID: "e3", Organizer: alice, Attendees: []m365link.Attendee{{EmailAddress: m365link.EmailAddress{Address: "bob@contoso.com"}}}},
	}}
	require.NoError(t, es.ApplyEvents(context.Background(), p))
	require.Len(t, rec.events, 1)
	assert.Same(t, p, rec.events[0])
	assert.Equal(t, [][]string{{"globex"}, {"acme"}, {}}, vendorsOf(rec.eres[0]))

	cs := matchsync.ContactSink(m, rec)
	cp := &m365sync.ContactPage{Upserts: []m365link.Contact{
		{ID: "c1", CompanyName: "Acme Ltd", EmailAddresses: []m365link.EmailAddress{{Address: "ann@acme.co.uk"}, {Address: "ann.vendor@gmail.com"}}},
		{ID: "c2"},
		{ID: "c3", EmailAddresses: []m365link.EmailAddress{{Address: "hank@globex.com"}}},
	}}
	require.NoError(t, cs.ApplyContacts(context.Background(), cp))
	require.Len(t, rec.cres, 1)
	got := make([][][]string, len(rec.cres[0]))
	for i, r := range rec.cres[0] {
		got[i] = vendorsOf(r)
	}
	assert.Equal(t, [][][]string{{{"acme"}, {}}, {}, {{"globex"}}}, got)

	require.NoError(t, es.ResetEvents(context.Background(), m365sync.Reset{FolderID: "calendar", Phase: m365sync.ResetEnd, Generation: 3}))
	require.NoError(t, cs.ResetContacts(context.Background(), m365sync.Reset{FolderID: "contacts", Phase: m365sync.ResetBegin, Generation: 2}))
	require.NoError(t, cs.MailboxRemoved(context.Background(), m365link.Mailbox{UserID: "u"}))
	assert.Equal(t, []m365sync.Reset{{FolderID: "calendar", Phase: m365sync.ResetEnd, Generation: 3},
		{FolderID: "contacts", Phase: m365sync.ResetBegin, Generation: 2}}, rec.resets)
	assert.Equal(t, []m365link.Mailbox{{UserID: "u"}}, rec.removed)
}
