package graph

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
)

func TestDecodeMessagePage(t *testing.T) {
	body := `{
	"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(message)",
	"@odata.nextLink": "https://graph.microsoft.com/v1.0/users('u1')/mailFolders('inbox')/messages/delta()?$skiptoken=abc",
	"value": [
		{"@odata.etag":"W/\"CQAAABYAAAA\"","id":"AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A=","changeKey":"CQAAABYAAAA",
		 "parentFolderId":"AQMkAGI2AAA=","internetMessageId":"<DM6PR@acme.com>","conversationId":"AAQkAGI2conv",
		 "subject":"Quote 1142","bodyPreview":"Please find attached","from":{"emailAddress":{"name":"Ann Vendor","address":"ann@acme.co.uk"}},
		 "sender":{"emailAddress":{"name":"Ann Vendor","address":"ann@acme.co.uk"}},
		 "toRecipients":[{"emailAddress":{"name":"Alice","address":"alice@contoso.com"}}],"ccRecipients":[],"bccRecipients":[],"replyTo":[],
		 "receivedDateTime":"2026-11-20T10:00:00Z","sentDateTime":"2026-11-20T09:59:58Z","lastModifiedDateTime":"2026-11-20T10:00:01.1234567Z",
		 "isRead":false,"isDraft":false,"hasAttachments":true,"importance":"high","categories":["Vendors"],"webLink":"https://outlook.office365.com/owa/?ItemID=x"},
		{"@odata.type":"#microsoft.graph.message","id":"AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0B=","@removed":{"reason":"deleted"}}
	]}`
	page, err := DecodePage[Message]([]byte(body))
	require.NoError(t, err)
	assert.Equal(t, "https://graph.microsoft.com/v1.0/users('u1')/mailFolders('inbox')/messages/delta()?$skiptoken=abc", page.NextLink)
	assert.Empty(t, page.DeltaLink)
	assert.Empty(t, page.ItemErrors)
	require.Len(t, page.Value, 2)
	want := m365link.Message{
		ID: "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A=", ChangeKey: "CQAAABYAAAA", FolderID: "AQMkAGI2AAA=",
		InternetMessageID: "<DM6PR@acme.com>", ConversationID: "AAQkAGI2conv", Subject: "Quote 1142", BodyPreview: "Please find attached",
		From:       m365link.EmailAddress{Name: "Ann Vendor", Address: "ann@acme.co.uk"},
		Sender:     m365link.EmailAddress{Name: "Ann Vendor", Address: "ann@acme.co.uk"},
		To:         []m365link.EmailAddress{{Name: "Alice", Address: "alice@contoso.com"}},
		ReceivedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), SentAt: time.Date(2026, 11, 20, 9, 59, 58, 0, time.UTC),
		LastModified:   time.Date(2026, 11, 20, 10, 0, 1, 123456700, time.UTC),
		HasAttachments: true, Importance: "high", Categories: []string{"Vendors"}, WebLink: "https://outlook.office365.com/owa/?ItemID=x",
	}
	assert.Equal(t, want, page.Value[0].Message)
	assert.Nil(t, page.Value[0].Removed)
	assert.Equal(t, &Removed{Reason: "deleted"}, page.Value[1].Removed)
	assert.Equal(t, "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0B=", page.Value[1].ID)
}

// Graph's drift that encoding/json reads with the wire types' help is read
// on the fast path: no item of this page goes to the slow one.
func TestDecodeToleratesDrift(t *testing.T) {
	body := `{"value":[
		{"id":"m1","isRead":"true","hasAttachments":"False","isDraft":"1","receivedDateTime":"2026-11-20T10:00:00.0000000",
		 "sentDateTime":"2026-11-20T09:59:58.1234567Z","from":null,"body":null,"toRecipients":null},
		{"ID":"m2","IsRead":"FALSE","HasAttachments":1,"IsDraft":"yes","ReceivedDateTime":"2026-11-20T10:00:00Z",
		 "Subject":"Quote","From":{"EmailAddress":{"Name":"Ann","Address":"ann@acme.co.uk"}},"Importance":"high",
		 "Body":{"ContentType":"HTML","Content":"<p>hi</p>"},"Categories":["Vendors"]},
		{"id":"m3","isRead":0,"hasAttachments":"0","sender":{"emailAddress":null},"ccRecipients":[null],"lastModifiedDateTime":null,
		 "body":{"contentType":"text","content":"x"},"body":null}
	],"@odata.deltaLink":"https://graph.microsoft.com/v1.0/x?$deltatoken=z"}`
	want := &Page[Message]{
		DeltaLink: "https://graph.microsoft.com/v1.0/x?$deltatoken=z",
		Value: []Message{
			{Message: m365link.Message{ID: "m1", IsRead: true, IsDraft: true,
				ReceivedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), SentAt: time.Date(2026, 11, 20, 9, 59, 58, 123456700, time.UTC)}},
			{Message: m365link.Message{ID: "m2", HasAttachments: true, IsDraft: true, ReceivedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
				Subject: "Quote", From: m365link.EmailAddress{Name: "Ann", Address: "ann@acme.co.uk"}, Importance: "high",
				Body: "<p>hi</p>", BodyContentType: "html", Categories: []string{"Vendors"}}},
			{Message: m365link.Message{ID: "m3", Cc: []m365link.EmailAddress{{}}}},
		},
	}
	page, slow, ok := decodeMessagesFast([]byte(body))
	require.True(t, ok)
	assert.Equal(t, 0, slow, "items left to the slow path")
	assert.Equal(t, want, page)
	slowPage, err := decodeItems[Message]([]byte(body))
	require.NoError(t, err)
	assert.Equal(t, want, slowPage)
}

// An item the fast path cannot read is decoded again on its own, leniently;
// one nothing can read is reported with its index, and the rest of the
// page is delivered.
func TestDecodeOddItemsAmongGood(t *testing.T) {
	body := `{"value":[
		{"id":"m1","subject":"first","isRead":true},
		{"id":"m2","subject":12345,"from":"bob@acme.com","toRecipients":[{"emailAddress":{"address":"a@contoso.com"}},"c@contoso.com"]},
		"a string where an object belongs",
		{"subject":"no id at all"},
		{"id":"m5","isRead":"maybe","categories":"single","receivedDateTime":"not a date"},
		null,
		{"id":"m7","subject":"last","isRead":"True"}
	],"@odata.nextLink":"https://graph.microsoft.com/v1.0/x?$skiptoken=n"}`
	want := &Page[Message]{
		NextLink: "https://graph.microsoft.com/v1.0/x?$skiptoken=n",
		Value: []Message{
			{Message: m365link.Message{ID: "m1", Subject: "first", IsRead: true}},
			{Message: m365link.Message{ID: "m2", Subject: "12345", From: m365link.EmailAddress{Address: "bob@acme.com"},
				To: []m365link.EmailAddress{{Address: "a@contoso.com"}, {Address: "c@contoso.com"}}}},
			{Message: m365link.Message{ID: "m5", Categories: []string{"single"}}},
			{Message: m365link.Message{ID: "m7", Subject: "last", IsRead: true}},
		},
		ItemErrors: []*m365link.ItemError{
			{Index: 2, Err: errors.New("item is not a JSON object")},
			{Index: 3, Err: errNoID},
			{Index: 5, Err: errNoID},
		},
	}
	page, err := DecodePage[Message]([]byte(body))
	require.NoError(t, err)
	assert.Equal(t, want, page)
	assert.Equal(t, "m365link: item #2: item is not a JSON object", page.ItemErrors[0].Error())
	assert.Equal(t, "m365link: item #3: item has no id", page.ItemErrors[1].Error())

	_, slow, ok := decodeMessagesFast([]byte(body))
	require.True(t, ok, "the page stays on the fast path")
	assert.Equal(t, 4, slow, "m2, the string, m5 and null go to the slow path")
}

// The caller reuses the buffer a page was read into: nothing decoded may
// point into it.
func TestDecodedStringsDoNotAliasInput(t *testing.T) {
	for _, data := range [][]byte{messagePage(20), driftedMessagePage(20),
		[]byte(`{"value":[{"id":"m\u0031","subject":"caf\u00e9","body":{"contentType":"HTML","content":"x\ny"},"categories":["c\u0031"],` +
			`"toRecipients":[{"emailAddress":{"name":"N\u0031","address":"a@b"}}],"@removed":{"reason":"del\u0065ted"}}]}`)} {
		want, err := decodeItems[Message](data)
		require.NoError(t, err)
		page, err := DecodePage[Message](data)
		require.NoError(t, err)
		for i := range data {
			data[i] = 'X'
		}
		assert.Equal(t, want, page)
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, body := range []string{``, `{"value":[{"id":"m1"}`, `<html>`, `{"value":[{"id":"m1"},]}`, `{"value":{"id":"m1"}}`} {
		_, err := DecodePage[Message]([]byte(body))
		assert.ErrorIs(t, err, m365link.ErrMalformedResponse, body)
	}
}

func TestDecodeEventPage(t *testing.T) {
	body := `{"value":[{"id":"e1","iCalUId":"040000008200E00074C5B7101A82E008","type":"occurrence","seriesMasterId":"e0",
		"subject":"QBR with Acme","organizer":{"emailAddress":{"name":"Alice","address":"alice@contoso.com"}},
		"attendees":[{"type":"required","status":{"response":"accepted","time":"2026-11-01T00:00:00Z"},"emailAddress":{"name":"Ann","address":"ann@acme.co.uk"}}],
		"start":{"dateTime":"2026-11-20T10:00:00.0000000","timeZone":"UTC"},"end":{"dateTime":"2026-11-20T11:00:00.0000000","timeZone":"Europe/London"},
		"isAllDay":false,"isCancelled":false,"isOnlineMeeting":true,"onlineMeeting":{"joinUrl":"https://teams.microsoft.com/l/meetup-join/x"},
		"location":{"displayName":"Room 1"},"showAs":"busy","lastModifiedDateTime":"2026-11-19T08:00:00Z"},
		{"id":"e2","@removed":{"reason":"deleted"}}]}`
	page, err := DecodePage[Event]([]byte(body))
	require.NoError(t, err)
	require.Len(t, page.Value, 2)
	want := m365link.Event{
		ID: "e1", ICalUID: "040000008200E00074C5B7101A82E008", SeriesMasterID: "e0", Type: m365link.EventOccurrence,
		Subject: "QBR with Acme", Organizer: m365link.EmailAddress{Name: "Alice", Address: "alice@contoso.com"},
		Attendees: []m365link.Attendee{{EmailAddress: m365link.EmailAddress{Name: "Ann", Address: "ann@acme.co.uk"}, Type: m365link.AttendeeRequired, Response: "accepted"}},
		Start:     time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		// 11:00 in London in November (GMT) is 11:00 UTC.
		End:      time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC),
		TimeZone: "UTC", IANAZone: "UTC", IsOnlineMeeting: true, JoinURL: "https://teams.microsoft.com/l/meetup-join/x",
		Location: "Room 1", ShowAs: "busy", LastModified: time.Date(2026, 11, 19, 8, 0, 0, 0, time.UTC),
	}
	assert.Equal(t, want, page.Value[0].Event)
	assert.Equal(t, &Removed{Reason: "deleted"}, page.Value[1].Removed)
}

func TestDateTimeTimeZone(t *testing.T) {
	tests := []struct {
		in   DateTimeTimeZone
		want time.Time
	}{
		{DateTimeTimeZone{"2026-07-01T09:00:00.0000000", "America/New_York"}, time.Date(2026, 7, 1, 13, 0, 0, 0, time.UTC)},
		{DateTimeTimeZone{"2026-07-01T09:00:00.0000000", "tzone://Microsoft/Utc"}, time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)},
		{DateTimeTimeZone{"2026-07-01T09:00:00", ""}, time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)},
		// A Windows zone name resolves through CLDR's table: 09:00 PDT.
		{DateTimeTimeZone{"2026-07-01T09:00:00.0000000", "Pacific Standard Time"}, time.Date(2026, 7, 1, 16, 0, 0, 0, time.UTC)},
		// A custom zone cannot be resolved: the local time is read as UTC.
		{DateTimeTimeZone{"2026-07-01T09:00:00.0000000", "tzone://Microsoft/Custom"}, time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)},
		{DateTimeTimeZone{"2026-07-01T09:00:00+02:00", "UTC"}, time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, ok := tt.in.Instant()
		assert.True(t, ok)
		assert.Equal(t, tt.want, got, "%+v", tt.in)
	}
}

func TestDecodeContactPage(t *testing.T) {
	body := `{"value":[{"id":"c1","displayName":"Ann Vendor","givenName":"Ann","surname":"Vendor","companyName":"Acme Ltd",
		"emailAddresses":[{"name":"Ann Vendor","address":"ann@acme.co.uk"},{"name":"Ann","address":"ann.vendor@gmail.com"}],
		"businessPhones":["+44 20 7946 0000"],"lastModifiedDateTime":"2026-11-01T00:00:00Z"}]}`
	page, err := DecodePage[Contact]([]byte(body))
	require.NoError(t, err)
	assert.Equal(t, m365link.Contact{ID: "c1", DisplayName: "Ann Vendor", GivenName: "Ann", Surname: "Vendor", CompanyName: "Acme Ltd",
		EmailAddresses: []m365link.EmailAddress{{Name: "Ann Vendor", Address: "ann@acme.co.uk"}, {Name: "Ann", Address: "ann.vendor@gmail.com"}},
		BusinessPhones: []string{"+44 20 7946 0000"}, LastModified: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}, page.Value[0].Contact)
}

func FuzzDecodeMessagePage(f *testing.F) {
	f.Add([]byte(`{"value":[{"id":"m1","isRead":"true","from":"x@y"}],"@odata.nextLink":"https://g/x"}`))
	f.Add([]byte(`{"value":[{"id":"m1","@removed":{"reason":"deleted"}},{"id":2},null,[]]}`))
	f.Add([]byte(`{"value":[{"id":"m1","receivedDateTime":"2026-11-20T10:00:00.0000000","toRecipients":{"emailAddress":{}}}]}`))
	f.Add(messagePage(3))
	f.Add(driftedMessagePage(5))
	f.Fuzz(func(t *testing.T, data []byte) {
		page, err := DecodePage[Message](data)
		if err != nil {
			if page != nil {
				t.Fatal("error with a page")
			}
			return
		}
		for _, m := range page.Value {
			if m.ID == "" {
				t.Fatal("an item without ID was delivered")
			}
		}
		for _, e := range page.ItemErrors {
			if e.Error() == "" {
				t.Fatal("empty item error")
			}
		}
	})
}

// messagePage renders a realistic delta page of n messages the way Graph
// does with the lean $select (≈1 KB a message).
func messagePage(n int) []byte { return renderMessagePage(n, false) }

// driftedMessagePage is messagePage with every fifth message drifted the
// ways Graph's payloads do: booleans as strings or numbers, keys in other
// casing, timestamps with seven fractional digits and no offset, null
// where an object or list belongs.
func driftedMessagePage(n int) []byte { return renderMessagePage(n, true) }

var driftMessage = strings.NewReplacer(
	`"isRead":true`, `"IsRead":"True"`, `"isRead":false`, `"IsRead":"false"`,
	`"hasAttachments":true`, `"hasAttachments":"TRUE"`, `"hasAttachments":false`, `"hasAttachments":"False"`,
	`"isDraft":false`, `"isDraft":"0"`,
	`"receivedDateTime"`, `"ReceivedDateTime"`, `:00Z","sentDateTime"`, `:00.0000000","sentDateTime"`,
	`:00Z","lastModifiedDateTime"`, `:00.1234567Z","LastModifiedDateTime"`,
	`"importance":"normal"`, `"Importance":"normal"`,
	`"bccRecipients":[]`, `"bccRecipients":null`, `"replyTo":[]`, `"replyTo":null`,
	`"categories":[]`, `"categories":null,"body":null`,
	`"from":{"emailAddress"`, `"From":{"EmailAddress"`,
)

func renderMessagePage(n int, drift bool) []byte {
	var b strings.Builder
	b.WriteString(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Collection(message)","value":[`)
	preview := strings.Repeat("Hello Alice, following our call I attach the revised quotation for the Q3 order. ", 4)[:255]
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		m := fmt.Sprintf(`{"@odata.type":"#microsoft.graph.message","@odata.etag":"W/\"CQAAABYAAADn%06d\"",`+
			`"id":"AAMkAGI2THVSAAA-EWg0AAAAAAEMAAAiIsqMbYjsT5e-T7KzowPTAAAAAA%06dAAA=","changeKey":"CQAAABYAAADn%06d",`+
			`"parentFolderId":"AQMkAGI2TAAAAA-EWg0AAAAAAEMAAAA=","internetMessageId":"<DM6PR11MB%06d.namprd11.prod.outlook.com>",`+
			`"conversationId":"AAQkAGI2TG93AAAQAF-%06d=","subject":"RE: Quotation %d for the Q3 order",`+
			`"bodyPreview":%q,`+
			`"from":{"emailAddress":{"name":"Ann Vendor","address":"ann.vendor@acme-industrial.co.uk"}},`+
			`"sender":{"emailAddress":{"name":"Ann Vendor","address":"ann.vendor@acme-industrial.co.uk"}},`+
			`"toRecipients":[{"emailAddress":{"name":"Alice Buyer","address":"alice@contoso.com"}}],`+
			`"ccRecipients":[{"emailAddress":{"name":"Bob Procurement","address":"bob@contoso.com"}},{"emailAddress":{"name":"Sales","address":"sales@acme-industrial.co.uk"}}],`+
			`"bccRecipients":[],"replyTo":[],`+
			`"receivedDateTime":"2026-11-%02dT10:%02d:00Z","sentDateTime":"2026-11-%02dT10:%02d:00Z","lastModifiedDateTime":"2026-11-%02dT10:%02d:00Z",`+
			`"isRead":%t,"isDraft":false,"hasAttachments":%t,"importance":"normal","categories":[],`+
			`"webLink":"https://outlook.office365.com/owa/?ItemID=AAMkAGI2THVSAAA%%2FEWg0AAAAAAEMAAAiIsqMbYjsT5e%%2BT7KzowPTAAAAAA%06dAAA%%3D&exvsurl=1&viewmodel=ReadMessageItem"}`,
			i, i, i, i, i, i, preview, 1+i%28, i%60, 1+i%28, i%60, 1+i%28, i%60, i%2 == 0, i%5 == 0, i)
		if drift && i%5 == 0 {
			m = driftMessage.Replace(m)
		}
		b.WriteString(m)
	}
	b.WriteString(`],"@odata.nextLink":"https://graph.microsoft.com/v1.0/users('u1')/mailFolders('inbox')/messages/delta()?$skiptoken=RwDMYHVFwUb-6rPNqsMsQ"}`)
	return []byte(b.String())
}

func TestMessagePageFixtureDecodes(t *testing.T) {
	page, err := DecodePage[Message](messagePage(1000))
	require.NoError(t, err)
	require.Len(t, page.Value, 1000)
	assert.Empty(t, page.ItemErrors)
	assert.Equal(t, "AAMkAGI2THVSAAA-EWg0AAAAAAEMAAAiIsqMbYjsT5e-T7KzowPTAAAAAA000999AAA=", page.Value[999].ID)
	assert.Equal(t, time.Date(2026, 11, 20, 10, 39, 0, 0, time.UTC), page.Value[999].ReceivedAt)
}

// BenchmarkDecodeDeltaPage decodes a 1,000-message delta page into the
// shared vocabulary a sink receives, tidy and with every fifth message
// drifted (PERFORMANCE.md: ≥ 500 MB/s tidy, drifted ≤ 1.3× the tidy cost,
// ≤ 8 allocs per message):
//
//	go test -run '^$' -bench 'DecodeDeltaPage$' -benchmem -count 5 ./internal/graph/
func BenchmarkDecodeDeltaPage(b *testing.B) {
	for _, bm := range []struct {
		name string
		data []byte
	}{{"tidy", messagePage(1000)}, {"drifted", driftedMessagePage(1000)}} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.data)))
			b.ReportAllocs()
			for b.Loop() {
				page, err := DecodePage[Message](bm.data)
				if err != nil || len(page.Value) != 1000 {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/msg")
			b.ReportMetric(testing.AllocsPerRun(1, func() { _, _ = DecodePage[Message](bm.data) })/1000, "allocs/msg")
		})
	}
}
