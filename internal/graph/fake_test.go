package graph

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph"
)

// These tests drive the client against internal/fakegraph over loopback
// HTTP. Waits go through a virtual clock, so Retry-After costs no time.

type virtualClock struct {
	mu    gosync.Mutex
	now   time.Time
	slept []time.Duration
}

func (c *virtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *virtualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
	c.slept = append(c.slept, d)
	return nil
}

func (c *virtualClock) waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

var bearer = TokenSourceFunc(func(context.Context) (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: "test-token"}, nil
})

func newFakeClient(t *testing.T, opts ...fakegraph.Option) (*Client, *fakegraph.Server, *virtualClock) {
	t.Helper()
	fg := fakegraph.New(opts...)
	t.Cleanup(fg.Close)
	vc := &virtualClock{now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	c, err := New(Config{BaseURL: fg.URL(), HTTPClient: fg.Client(), clock: vc, Retry: RetryPolicy{Backoff: doubling}})
	require.NoError(t, err)
	return c, fg, vc
}

func deltaRequest(user string, pageSize int) *Request {
	return &Request{
		Path:    Path("users", user, "mailFolders", "inbox", "messages", "delta"),
		Query:   url.Values{"$select": {MessageSelect}},
		Header:  http.Header{"Prefer": {fmt.Sprintf("odata.maxpagesize=%d", pageSize)}},
		Mailbox: user,
		Token:   bearer,
	}
}

type round struct {
	pages   [][]string // IDs per page, removed ones as "-ID"
	link    string     // the deltaLink that ends the round
	request int        // requests the round took
}

// walk follows one delta round page by page.
func walk(t *testing.T, c *Client, fg *fakegraph.Server, user string, first *Request) round {
	t.Helper()
	before := fg.Stats(user).Requests
	var r round
	for req := first; req != nil; {
		page, err := GetPage[Message](context.Background(), c, req)
		require.NoError(t, err)
		require.Empty(t, page.ItemErrors)
		var ids []string
		for _, m := range page.Value {
			if m.Removed != nil {
				ids = append(ids, "-"+m.ID)
				continue
			}
			ids = append(ids, m.ID)
		}
		r.pages = append(r.pages, ids)
		if page.DeltaLink != "" {
			require.Empty(t, page.NextLink)
			r.link = page.DeltaLink
		}
		req = Next(req, page)
	}
	r.request = fg.Stats(user).Requests - before
	return r
}

func TestDeltaThreeRoundsAgainstFake(t *testing.T) {
	c, fg, _ := newFakeClient(t)
	fg.AddTenant(fakegraph.Tenant{ID: "t1", DisplayName: "Contoso", Domains: []string{"contoso.com"}})
	u := fg.AddUser("t1", fakegraph.User{ID: "u1", UPN: "alice@contoso.com", DisplayName: "Alice", MailEnabled: true, AccountEnabled: true})
	base := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 5 {
		m := fg.AddMessage(u.ID, "inbox", fakegraph.Message{
			Subject:          fmt.Sprintf("Quote %d", i),
			From:             fakegraph.Address{Name: "Ann Vendor", Address: "ann@acme.co.uk"},
			To:               []fakegraph.Address{{Name: "Alice", Address: "alice@contoso.com"}},
			ReceivedDateTime: base.Add(time.Duration(i) * time.Hour),
		})
		ids = append(ids, m.ID)
	}
	archived := fg.AddMessage(u.ID, "archive", fakegraph.Message{Subject: "old thread", ReceivedDateTime: base.Add(-48 * time.Hour)})

	// Round 1: everything, two to a page.
	r1 := walk(t, c, fg, u.ID, deltaRequest(u.ID, 2))
	assert.Equal(t, [][]string{{ids[0], ids[1]}, {ids[2], ids[3]}, {ids[4]}}, r1.pages)
	assert.Equal(t, 3, r1.request, "one request per page, none wasted")
	require.NotEmpty(t, r1.link)

	// Round 2: a new message, an update and a move into the folder.
	fresh := fg.AddMessage(u.ID, "inbox", fakegraph.Message{Subject: "New order", ReceivedDateTime: base.Add(10 * time.Hour)})
	fg.UpdateMessage(u.ID, ids[1], func(m *fakegraph.Message) { m.IsRead = true })
	fg.MoveMessage(u.ID, archived.ID, "inbox")
	r2 := walk(t, c, fg, u.ID, &Request{URL: r1.link, Mailbox: u.ID, Token: bearer, Header: http.Header{"Prefer": {"odata.maxpagesize=2"}}})
	assert.ElementsMatch(t, []string{fresh.ID, ids[1], archived.ID}, flatten(r2.pages))
	assert.Len(t, r2.pages, 2)

	// Round 3: a deletion and a move out: both arrive as @removed.
	fg.DeleteMessage(u.ID, ids[0])
	fg.MoveMessage(u.ID, ids[2], "deleteditems")
	r3 := walk(t, c, fg, u.ID, &Request{URL: r2.link, Mailbox: u.ID, Token: bearer, Header: http.Header{"Prefer": {"odata.maxpagesize=2"}}})
	assert.ElementsMatch(t, []string{"-" + ids[0], "-" + ids[2]}, flatten(r3.pages))

	// Round 4: nothing changed, nothing delivered, one request.
	r4 := walk(t, c, fg, u.ID, &Request{URL: r3.link, Mailbox: u.ID, Token: bearer})
	assert.Equal(t, [][]string{nil}, r4.pages)
	assert.Equal(t, 1, r4.request)

	// Every request carried the immutable-ID preference and a request ID.
	for _, rec := range fg.Requests() {
		assert.Contains(t, rec.Prefer, `IdType="ImmutableId"`)
		assert.Len(t, rec.ClientRequestID, 36)
	}
}

func flatten(pages [][]string) []string {
	var out []string
	for _, p := range pages {
		out = append(out, p...)
	}
	return out
}

func TestDeltaDecodesWholeMessages(t *testing.T) {
	c, fg, _ := newFakeClient(t)
	fg.AddTenant(fakegraph.Tenant{ID: "t1", Domains: []string{"contoso.com"}})
	u := fg.AddUser("t1", fakegraph.User{ID: "u1", UPN: "alice@contoso.com", MailEnabled: true, AccountEnabled: true})
	received := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	m := fg.AddMessage(u.ID, "inbox", fakegraph.Message{
		Subject: "Quote 1142", BodyPreview: "Please find attached",
		From:             fakegraph.Address{Name: "Ann Vendor", Address: "ann@acme.co.uk"},
		Sender:           fakegraph.Address{Name: "Ann Vendor", Address: "ann@acme.co.uk"},
		To:               []fakegraph.Address{{Name: "Alice", Address: "alice@contoso.com"}},
		Cc:               []fakegraph.Address{{Name: "Sales", Address: "sales@acme.co.uk"}},
		ReceivedDateTime: received, SentDateTime: received.Add(-time.Minute), LastModifiedDateTime: received,
		HasAttachments: true, Importance: "high", Categories: []string{"Vendors"},
	})
	page, err := GetPage[Message](context.Background(), c, deltaRequest(u.ID, 10))
	require.NoError(t, err)
	require.Len(t, page.Value, 1)
	got := page.Value[0].Message
	stored, _ := fg.Message(u.ID, m.ID)
	want := m365link.Message{
		ID: m.ID, ChangeKey: stored.ChangeKey, FolderID: stored.ParentFolderID,
		InternetMessageID: stored.InternetMessageID, ConversationID: stored.ConversationID,
		Subject: "Quote 1142", BodyPreview: "Please find attached",
		From:       m365link.EmailAddress{Name: "Ann Vendor", Address: "ann@acme.co.uk"},
		Sender:     m365link.EmailAddress{Name: "Ann Vendor", Address: "ann@acme.co.uk"},
		To:         []m365link.EmailAddress{{Name: "Alice", Address: "alice@contoso.com"}},
		Cc:         []m365link.EmailAddress{{Name: "Sales", Address: "sales@acme.co.uk"}},
		ReceivedAt: received, SentAt: received.Add(-time.Minute), LastModified: received,
		HasAttachments: true, Importance: "high", Categories: []string{"Vendors"}, WebLink: got.WebLink,
	}
	assert.Equal(t, want, got)
	assert.NotEmpty(t, got.WebLink)
	assert.NotEmpty(t, got.InternetMessageID)
}

func TestSelectIsHonoured(t *testing.T) {
	c, fg, _ := newFakeClient(t)
	res := fakegraph.Seed(fg, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 6, Vendors: 3, Seed: 1})
	user := res.Mailboxes[0].User.ID
	req := deltaRequest(user, 100)
	req.Query = url.Values{"$select": {"subject"}}
	page, err := GetPage[Message](context.Background(), c, req)
	require.NoError(t, err)
	require.Len(t, page.Value, len(res.Mailboxes[0].Inbox))
	for i, m := range page.Value {
		assert.Equal(t, res.Mailboxes[0].Inbox[i], m.ID)
		assert.NotEmpty(t, m.Subject)
		assert.Equal(t, m365link.EmailAddress{}, m.From, "not selected")
		assert.True(t, m.ReceivedAt.IsZero(), "not selected")
	}
}

func TestNeverMoreThanFourInFlightPerMailbox(t *testing.T) {
	c, fg, _ := newFakeClient(t)
	res := fakegraph.Seed(fg, fakegraph.SeedSpec{Mailboxes: 2, MessagesPerMailbox: 4, Vendors: 2, Seed: 2})
	a, b := res.Mailboxes[0].User.ID, res.Mailboxes[1].User.ID
	fg.Inject(fakegraph.Fault{Kind: fakegraph.Latency, Delay: 20 * time.Millisecond})
	var wg gosync.WaitGroup
	for i := range 40 {
		user := a
		if i%2 == 1 {
			user = b
		}
		wg.Go(func() {
			_, err := GetPage[Message](context.Background(), c, deltaRequest(user, 10))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, 4, fg.Stats(a).MaxInFlight)
	assert.Equal(t, 4, fg.Stats(b).MaxInFlight)
	assert.Equal(t, 20, fg.Stats(a).Requests)
}

func TestFaultsAreRetried(t *testing.T) {
	tests := []struct {
		name  string
		fault fakegraph.Fault
		waits []time.Duration
	}{
		{"429 with Retry-After", fakegraph.Fault{Kind: fakegraph.Throttle429, RetryAfter: "3", Times: 2}, []time.Duration{3 * time.Second, 3 * time.Second}},
		{"429 with fractional Retry-After", fakegraph.Fault{Kind: fakegraph.Throttle429, RetryAfter: "0.5", Times: 1}, []time.Duration{time.Second}},
		{"429 with garbage Retry-After", fakegraph.Fault{Kind: fakegraph.Throttle429, RetryAfter: "garbage", Times: 1}, []time.Duration{time.Second}},
		{"503", fakegraph.Fault{Kind: fakegraph.Unavailable503, RetryAfter: "2", Times: 1}, []time.Duration{2 * time.Second}},
		{"504", fakegraph.Fault{Kind: fakegraph.GatewayTimeout504, Times: 2}, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}},
		{"connection reset", fakegraph.Fault{Kind: fakegraph.ConnReset, Times: 1}, []time.Duration{250 * time.Millisecond}},
		{"truncated body", fakegraph.Fault{Kind: fakegraph.TruncatedBody, Times: 1}, []time.Duration{250 * time.Millisecond}},
		{"malformed JSON", fakegraph.Fault{Kind: fakegraph.MalformedJSON, Times: 1}, []time.Duration{250 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, fg, vc := newFakeClient(t)
			res := fakegraph.Seed(fg, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 8, Vendors: 2, Seed: 3})
			mb := res.Mailboxes[0]
			f := tt.fault
			f.Route = "messages/delta"
			fg.Inject(f)
			page, err := GetPage[Message](context.Background(), c, deltaRequest(mb.User.ID, 100))
			require.NoError(t, err)
			var got []string
			for _, m := range page.Value {
				got = append(got, m.ID)
			}
			assert.Equal(t, mb.Inbox, got)
			assert.Equal(t, tt.waits, vc.waits())
			assert.Equal(t, len(tt.waits)+1, fg.Stats(mb.User.ID).Requests)
		})
	}
}

func TestTypedErrorsFromFake(t *testing.T) {
	c, fg, _ := newFakeClient(t)
	res := fakegraph.Seed(fg, fakegraph.SeedSpec{Mailboxes: 1, NotMailEnabled: 1, MessagesPerMailbox: 10, Vendors: 2, Seed: 4})
	user := res.Mailboxes[0].User.ID

	var noMailbox string
	for _, tn := range res.Tenants {
		for _, u := range tn.Users {
			if !u.MailEnabled {
				noMailbox = u.ID
			}
		}
	}
	require.NotEmpty(t, noMailbox)
	_, err := GetPage[Message](context.Background(), c, deltaRequest(noMailbox, 10))
	assert.ErrorIs(t, err, m365link.ErrMailboxNotEnabled)

	_, err = GetPage[Message](context.Background(), c, deltaRequest("00000000-0000-0000-0000-000000000000", 10))
	assert.ErrorIs(t, err, m365link.ErrNotFound)
	assert.NotErrorIs(t, err, m365link.ErrMailboxNotEnabled)

	first, err := GetPage[Message](context.Background(), c, deltaRequest(user, 1))
	require.NoError(t, err)
	require.NotEmpty(t, first.NextLink)
	fg.InvalidateDeltaTokens(user)
	_, err = GetPage[Message](context.Background(), c, &Request{URL: first.NextLink, Mailbox: user, Token: bearer})
	assert.ErrorIs(t, err, m365link.ErrSyncReset)

	for _, kind := range []fakegraph.FaultKind{fakegraph.SyncStateNotFound, fakegraph.SyncStateInvalid, fakegraph.ResyncRequired, fakegraph.SyncReset410} {
		remove := fg.Inject(fakegraph.Fault{Kind: kind, Route: "messages/delta", Times: 1})
		_, err = GetPage[Message](context.Background(), c, deltaRequest(user, 10))
		assert.ErrorIs(t, err, m365link.ErrSyncReset, kind.String())
		remove()
	}

	noAuth, err := New(Config{BaseURL: fg.URL(), HTTPClient: fg.Client()})
	require.NoError(t, err)
	_, err = GetPage[Message](context.Background(), noAuth, &Request{Path: Path("users", user, "mailFolders", "inbox", "messages", "delta")})
	assert.ErrorIs(t, err, m365link.ErrUnauthorized)
}

func TestForeignNextLinkIsRefused(t *testing.T) {
	c, fg, _ := newFakeClient(t)
	res := fakegraph.Seed(fg, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 6, Vendors: 2, Seed: 5})
	user := res.Mailboxes[0].User.ID
	fg.Inject(fakegraph.Fault{Kind: fakegraph.ForeignNextLink, Route: "messages/delta"})
	var pages int
	var last error
	for _, err := range Pages[Message](context.Background(), c, deltaRequest(user, 1)) {
		if err != nil {
			last = err
			break
		}
		pages++
	}
	assert.Equal(t, 0, pages, "the page carrying the foreign link is not yielded")
	require.ErrorIs(t, last, m365link.ErrUntrustedLink)
	assert.Equal(t, "m365link: link outside the Graph origin refused: https://evil.example is not "+fg.URL()[:strings.LastIndex(fg.URL(), "/v1.0")]+" (a page's nextLink)", last.Error())
	assert.Equal(t, 1, fg.Stats(user).Requests, "the foreign link was not followed, the page not refetched")
}

func TestPagesIteratorWalksARound(t *testing.T) {
	c, fg, _ := newFakeClient(t)
	res := fakegraph.Seed(fg, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 50, Vendors: 4, Seed: 6})
	mb := res.Mailboxes[0]
	var got []string
	var last *Page[Message]
	for page, err := range Pages[Message](context.Background(), c, deltaRequest(mb.User.ID, 7)) {
		require.NoError(t, err)
		for _, m := range page.Value {
			got = append(got, m.ID)
		}
		last = page
	}
	assert.Equal(t, mb.Inbox, got)
	assert.NotEmpty(t, last.DeltaLink)
	pages := (len(mb.Inbox) + 6) / 7
	assert.Equal(t, pages, fg.Stats(mb.User.ID).Requests)
	for _, rec := range fg.Requests() {
		assert.True(t, strings.Contains(rec.Prefer, "odata.maxpagesize=7"), "Prefer re-sent on every page: %q", rec.Prefer)
	}
}

func TestResponsesAreGzipped(t *testing.T) {
	c, fg, _ := newFakeClient(t)
	res := fakegraph.Seed(fg, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 20, Vendors: 2, Seed: 7})
	resp, err := c.Do(context.Background(), deltaRequest(res.Mailboxes[0].User.ID, 20))
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.True(t, resp.Uncompressed, "the transport asked for gzip and decompressed")
	rec := fg.Requests()[0]
	assert.Equal(t, "gzip", rec.Header.Get("Accept-Encoding"))
}
