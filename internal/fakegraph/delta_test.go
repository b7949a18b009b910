package fakegraph_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/fakegraph"
)

const pagesOf2 = "odata.maxpagesize=2"

func TestMessagesDeltaThreeRounds(t *testing.T) {
	s, alice := setup(t)
	archive := s.AddFolder(alice.ID, fakegraph.Folder{DisplayName: "Vendors", ParentID: "archive"})
	m1 := msg(s, alice.ID, "inbox", "one", 1)
	m2 := msg(s, alice.ID, "inbox", "two", 2)
	m3 := msg(s, alice.ID, "inbox", "three", 3)
	m4 := msg(s, alice.ID, "inbox", "four", 4)
	m5 := msg(s, alice.ID, "inbox", "five", 5)
	m6 := msg(s, alice.ID, archive.ID, "six", 6)
	inbox := folderID(t, s, alice, "inbox")

	// Round 1: everything in the folder, in pages of 2.
	pages, delta1 := round(t, s, userURL(s, alice, "/mailFolders/inbox/messages/delta"), "Prefer", pagesOf2)
	assert.Equal(t, [][]string{plus(m1.ID, m2.ID), plus(m3.ID, m4.ID), plus(m5.ID)}, pages)
	base := s.Origin() + "/v1.0/users('" + alice.ID + "')/mailFolders('" + inbox + "')/messages/delta()"
	assert.True(t, hasPrefix(delta1, base+"?$deltatoken="), delta1)

	// Round 2: a new message, a change and a move into the folder.
	m7 := msg(s, alice.ID, "inbox", "seven", 7)
	s.UpdateMessage(alice.ID, m2.ID, func(m *fakegraph.Message) { m.IsRead = true })
	s.MoveMessage(alice.ID, m6.ID, "inbox")
	first := get(t, s, delta1, "Prefer", pagesOf2).page(t)
	assert.Equal(t, plus(m7.ID, m2.ID), entries(t, first))
	assert.True(t, hasPrefix(first.NextLink, base+"?$skiptoken="), first.NextLink)
	changed := decodeObject(t, first.Value[1])
	assert.Equal(t, true, changed["isRead"])
	assert.Equal(t, "two", changed["subject"])
	assert.Equal(t, "#microsoft.graph.message", changed["@odata.type"])
	pages, delta2 := round(t, s, first.NextLink, "Prefer", pagesOf2)
	assert.Equal(t, [][]string{plus(m6.ID)}, pages)
	moved, ok := s.Message(alice.ID, m6.ID)
	require.True(t, ok)
	assert.Equal(t, inbox, moved.ParentFolderID)

	// Round 3: a deletion and a move out show as removed.
	s.DeleteMessage(alice.ID, m1.ID)
	s.MoveMessage(alice.ID, m3.ID, archive.ID)
	p := get(t, s, delta2, "Prefer", pagesOf2).page(t)
	assert.Equal(t, minus(m1.ID, m3.ID), entries(t, p))
	require.NotEmpty(t, p.DeltaLink)
	assert.JSONEq(t, `{"@odata.type":"#microsoft.graph.message","id":"`+m1.ID+`","@removed":{"reason":"deleted"}}`, string(p.Value[0]))

	// Round 4: nothing changed.
	pages, _ = round(t, s, p.DeltaLink)
	assert.Equal(t, [][]string{{}}, pages)

	// The destination folder's own round shows the moved message as new.
	pages, _ = round(t, s, userURL(s, alice, "/mailFolders/"+url.PathEscape(archive.ID)+"/messages/delta"))
	assert.Equal(t, [][]string{plus(m3.ID)}, pages)
}

func TestMessagesDeltaMidRoundChangesGoToNextRound(t *testing.T) {
	s, alice := setup(t)
	var ms []*fakegraph.Message
	for i := range 5 {
		ms = append(ms, msg(s, alice.ID, "inbox", "m", i))
	}
	p := get(t, s, userURL(s, alice, "/mailFolders/inbox/messages/delta"), "Prefer", pagesOf2).page(t)
	assert.Equal(t, plus(ms[0].ID, ms[1].ID), entries(t, p))

	s.UpdateMessage(alice.ID, ms[0].ID, func(m *fakegraph.Message) { m.Subject = "edited after delivery" })
	s.UpdateMessage(alice.ID, ms[3].ID, func(m *fakegraph.Message) { m.Subject = "edited before delivery" })
	s.DeleteMessage(alice.ID, ms[4].ID)
	late := msg(s, alice.ID, "inbox", "late", 9)

	pages, delta := round(t, s, p.NextLink, "Prefer", pagesOf2)
	assert.Equal(t, [][]string{plus(ms[2].ID)}, pages, "the snapshot excludes what changed mid-round")

	pages, _ = round(t, s, delta, "Prefer", "odata.maxpagesize=10")
	assert.Equal(t, [][]string{concat(plus(ms[0].ID, ms[3].ID), minus(ms[4].ID), plus(late.ID))}, pages)
}

func TestMessagesDeltaSelect(t *testing.T) {
	s, alice := setup(t)
	for i := range 3 {
		msg(s, alice.ID, "inbox", "m", i)
	}
	want := []string{"@odata.etag", "@odata.type", "from", "id", "subject"}
	p := get(t, s, userURL(s, alice, "/mailFolders/inbox/messages/delta?$select=subject,from"), "Prefer", pagesOf2).page(t)
	require.Len(t, p.Value, 2)
	assert.ElementsMatch(t, want, keys(decodeObject(t, p.Value[0])))

	// The token carries the original $select; the follow-up has none.
	require.NotContains(t, p.NextLink, "select")
	p = get(t, s, p.NextLink, "Prefer", pagesOf2).page(t)
	require.Len(t, p.Value, 1)
	assert.ElementsMatch(t, want, keys(decodeObject(t, p.Value[0])))

	msg(s, alice.ID, "inbox", "new", 9)
	p = get(t, s, p.DeltaLink).page(t)
	require.Len(t, p.Value, 1)
	assert.ElementsMatch(t, want, keys(decodeObject(t, p.Value[0])))

	r := get(t, s, userURL(s, alice, "/mailFolders/inbox/messages/delta?$select=subject,nope"))
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, "RequestBroker--ParseUri", r.errorCode(t))
}

func TestMessagesDeltaFilterAndCap(t *testing.T) {
	s, alice := setup(t, fakegraph.WithFilteredDeltaCap(3))
	var ms []*fakegraph.Message
	for i := range 8 {
		ms = append(ms, msg(s, alice.ID, "inbox", "m", i*60)) // hourly from t0
	}
	cut := t0.Add(2 * time.Hour).Format(time.RFC3339)

	ge := userURL(s, alice, "/mailFolders/inbox/messages/delta?$filter="+url.QueryEscape("receivedDateTime ge "+cut))
	pages, delta := round(t, s, ge, "Prefer", pagesOf2)
	assert.Equal(t, [][]string{plus(ms[2].ID, ms[3].ID), plus(ms[4].ID)}, pages, "capped at 3 with a deltaLink, silently")

	gt := userURL(s, alice, "/mailFolders/inbox/messages/delta?$filter="+url.QueryEscape("receivedDateTime gt "+cut))
	pages, _ = round(t, s, gt, "Prefer", "odata.maxpagesize=100")
	assert.Equal(t, [][]string{plus(ms[3].ID, ms[4].ID, ms[5].ID)}, pages)

	// Without a filter there is no cap.
	pages, _ = round(t, s, userURL(s, alice, "/mailFolders/inbox/messages/delta"), "Prefer", "odata.maxpagesize=100")
	assert.Equal(t, [][]string{plus(ids(ms...)...)}, pages)

	// The next round keeps the filter: old mail stays out, new mail comes in,
	// removals always come.
	msg(s, alice.ID, "inbox", "old", -600)
	fresh := msg(s, alice.ID, "inbox", "fresh", 600)
	s.DeleteMessage(alice.ID, ms[0].ID)
	pages, _ = round(t, s, delta)
	assert.Equal(t, [][]string{concat(plus(fresh.ID), minus(ms[0].ID))}, pages)

	r := get(t, s, userURL(s, alice, "/mailFolders/inbox/messages/delta?$filter="+url.QueryEscape("subject eq 'x'")))
	assert.Equal(t, http.StatusBadRequest, r.Status)
}

func TestMessagesDeltaResetAndBadTokens(t *testing.T) {
	s, alice := setup(t)
	for i := range 3 {
		msg(s, alice.ID, "inbox", "m", i)
	}
	inbox := folderID(t, s, alice, "inbox")
	start := userURL(s, alice, "/mailFolders/inbox/messages/delta?$select=subject")
	p := get(t, s, start, "Prefer", pagesOf2).page(t)
	next := p.NextLink
	_, delta := round(t, s, next, "Prefer", pagesOf2)

	s.InvalidateDeltaTokens(alice.UPN)
	for _, link := range []string{next, delta} {
		r := get(t, s, link)
		assert.Equal(t, http.StatusGone, r.Status)
		assert.Equal(t, "syncStateNotFound", r.errorCode(t))
		loc := r.Header.Get("Location")
		assert.Equal(t, s.Origin()+"/v1.0/users('"+alice.ID+"')/mailFolders('"+inbox+"')/messages/delta()?$select=subject&$deltatoken=", loc)
	}
	// The Location starts a full round with the original options.
	loc := get(t, s, delta).Header.Get("Location")
	pages, _ := round(t, s, loc, "Prefer", "odata.maxpagesize=100")
	assert.Len(t, pages[0], 3)
	assert.ElementsMatch(t, []string{"@odata.etag", "@odata.type", "id", "subject"},
		keys(decodeObject(t, get(t, s, loc).page(t).Value[0])))

	// Garbage, tampered and foreign tokens: 400 syncStateNotFound.
	_, fresh := round(t, s, start)
	tok := fresh[strings.Index(fresh, "$deltatoken=")+len("$deltatoken="):]
	tampered := []byte(tok)
	tampered[5] ^= 1
	for _, bad := range []string{
		userURL(s, alice, "/mailFolders/inbox/messages/delta?$deltatoken=garbage"),
		userURL(s, alice, "/mailFolders/inbox/messages/delta?$skiptoken="+url.QueryEscape(string(tampered))),
		userURL(s, alice, "/mailFolders/sentitems/messages/delta?$deltatoken="+url.QueryEscape(tok)),
	} {
		r := get(t, s, bad)
		assert.Equal(t, http.StatusBadRequest, r.Status, bad)
		assert.Equal(t, "syncStateNotFound", r.errorCode(t))
	}
	// An escaped token is the same token.
	r := get(t, s, userURL(s, alice, "/mailFolders/inbox/messages/delta?%24deltatoken="+url.QueryEscape(tok)))
	assert.Equal(t, http.StatusOK, r.Status)
}

func TestMessagesDeltaLargeFolder(t *testing.T) {
	s, alice := setup(t)
	const n = 1500
	want := make([]string, 0, n)
	for i := range n {
		want = append(want, "+"+msg(s, alice.ID, "inbox", "m", i).ID)
	}
	// A stretch of stale log entries must not make a page slow or wrong.
	for i := 0; i < n; i += 2 {
		id := want[i][1:]
		s.UpdateMessage(alice.ID, id, func(m *fakegraph.Message) { m.IsRead = true })
	}
	pages, _ := round(t, s, userURL(s, alice, "/mailFolders/inbox/messages/delta?$select=subject"), "Prefer", "odata.maxpagesize=5000")
	var got []string
	for _, p := range pages {
		assert.LessOrEqual(t, len(p), 1000, "Prefer caps at 1000")
		got = append(got, p...)
	}
	assert.ElementsMatch(t, want, got)
	assert.Len(t, got, n)
}

func TestCalendarViewDelta(t *testing.T) {
	s, alice := setup(t)
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	ev := func(subject string, hour int, typ string) *fakegraph.Event {
		return s.AddEvent(alice.ID, fakegraph.Event{
			Subject: subject, Type: typ, TimeZone: "Pacific Standard Time",
			Start: day.Add(time.Duration(hour) * time.Hour), End: day.Add(time.Duration(hour+1) * time.Hour),
			Organizer: fakegraph.Address{Name: "Alice Smith", Address: "alice@contoso.com"},
			Attendees: []fakegraph.Attendee{{Address: fakegraph.Address{Name: "Bob", Address: "bob@acme.com"}, Type: "required", Response: "accepted"}},
		})
	}
	inside := ev("inside", 10, "")
	outside := ev("outside", 24*40, "")
	master := ev("series", 12, "seriesMaster")
	occ := ev("series", 12, "occurrence")
	window := "?startDateTime=2026-11-01T00:00:00Z&endDateTime=2026-12-01T00:00:00Z"

	p := get(t, s, userURL(s, alice, "/calendarView/delta"+window)).page(t)
	assert.Equal(t, plus(inside.ID, occ.ID), entries(t, p))
	first := decodeObject(t, p.Value[0])
	assert.Equal(t, map[string]any{"dateTime": "2026-11-20T10:00:00.0000000", "timeZone": "UTC"}, first["start"])
	assert.Equal(t, "Pacific Standard Time", first["originalStartTimeZone"])
	assert.Equal(t, true, first["isOrganizer"])
	base := s.Origin() + "/v1.0/users('" + alice.ID + "')/calendarView/delta()?$deltatoken="
	require.True(t, hasPrefix(p.DeltaLink, base), p.DeltaLink)

	s.UpdateEvent(alice.ID, inside.ID, func(e *fakegraph.Event) { e.Start, e.End = e.Start.AddDate(0, 2, 0), e.End.AddDate(0, 2, 0) })
	s.UpdateEvent(alice.ID, outside.ID, func(e *fakegraph.Event) { e.Start, e.End = day, day.Add(time.Hour) })
	s.UpdateEvent(alice.ID, master.ID, func(e *fakegraph.Event) { e.Subject = "series renamed" })
	s.DeleteEvent(alice.ID, occ.ID)
	added := ev("added", 15, "")
	pages, _ := round(t, s, p.DeltaLink, "Prefer", pagesOf2)
	assert.Equal(t, [][]string{concat(minus(inside.ID), plus(outside.ID)), concat(minus(occ.ID), plus(added.ID))}, pages)

	// Prefer: outlook.timezone renders start and end in that zone.
	p = get(t, s, userURL(s, alice, "/calendars/calendar/calendarView/delta"+window), "Prefer", `outlook.timezone="Pacific Standard Time"`).page(t)
	require.NotEmpty(t, p.Value)
	assert.Equal(t, map[string]any{"dateTime": "2026-11-19T16:00:00.0000000", "timeZone": "Pacific Standard Time"}, decodeObject(t, p.Value[0])["start"])

	// The calendar route by ID, and $select ignored as Graph does.
	var cal struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(get(t, s, userURL(s, alice, "/calendars/calendar")).Body, &cal))
	p = get(t, s, userURL(s, alice, "/calendars/"+url.PathEscape(cal.ID)+"/calendarView/delta"+window+"&$select=subject")).page(t)
	assert.Equal(t, plus(outside.ID, added.ID), entries(t, p))
	assert.Contains(t, decodeObject(t, p.Value[0]), "attendees")

	r := get(t, s, userURL(s, alice, "/calendarView/delta"))
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, "ErrorInvalidParameter", r.errorCode(t))
}

func TestContactsDelta(t *testing.T) {
	s, alice := setup(t)
	c1 := s.AddContact(alice.ID, fakegraph.Contact{DisplayName: "Bob Vendor", EmailAddresses: []fakegraph.Address{{Name: "Bob", Address: "bob@acme.com"}}})
	c2 := s.AddContact(alice.ID, fakegraph.Contact{DisplayName: "Eve Supplier", CompanyName: "Globex"})
	pages, delta := round(t, s, userURL(s, alice, "/contacts/delta"))
	assert.Equal(t, [][]string{plus(c1.ID, c2.ID)}, pages)

	s.UpdateContact(alice.ID, c2.ID, func(c *fakegraph.Contact) { c.CompanyName = "Globex Ltd" })
	s.DeleteContact(alice.ID, c1.ID)
	p := get(t, s, delta).page(t)
	assert.Equal(t, concat(plus(c2.ID), minus(c1.ID)), entries(t, p))
	assert.Equal(t, "Globex Ltd", decodeObject(t, p.Value[0])["companyName"])

	pages, _ = round(t, s, userURL(s, alice, "/contactFolders/contacts/contacts/delta?$select=displayName"))
	assert.Equal(t, [][]string{plus(c2.ID)}, pages)
}
