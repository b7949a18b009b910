package m365linktest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/m365linktest"
	m365sync "github.com/m365link/m365link/sync"
)

var ctx = context.Background()

// syncAll runs one pass over the given mailboxes with each user's own
// delegated token, from the tenant's token manager.
func syncAll(t *testing.T, tenant *m365linktest.Tenant, sink m365sync.Sink, mbs ...m365link.Mailbox) []m365sync.PassResult {
	t.Helper()
	e, err := m365sync.New(m365sync.Config{Client: tenant.Graph(), TenantID: tenant.ID(),
		Tokens: func(mb m365link.Mailbox) m365sync.TokenSource { return tenant.Tokens().Source(mb.Account()) },
		Policy: m365sync.Policy{Mailboxes: mbs}, Sink: sink, State: &m365sync.MemoryState{}})
	require.NoError(t, err)
	res, err := e.RunOnce(ctx)
	require.NoError(t, err)
	return res
}

// graphGet fetches a Graph path with a token from the tenant's manager.
func graphGet(t *testing.T, tenant *m365linktest.Tenant, account m365link.Account, path string) (*http.Response, []byte, error) {
	t.Helper()
	tok, err := tenant.Tokens().Source(account).Token(ctx)
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, tenant.Cloud().GraphBase+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := tenant.HTTPClient().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestWiringPointsEveryPackageAtTheFakes(t *testing.T) {
	tenant := m365linktest.New(t)
	cloud := tenant.Cloud()
	assert.Equal(t, m365link.Global.IssuerHost, cloud.IssuerHost, "ID tokens carry the global issuer")
	assert.Equal(t, m365link.Global.GraphResource, cloud.GraphResource, "scopes read as the global cloud's")
	assert.True(t, strings.HasPrefix(cloud.AuthorityHost, "https://127.0.0.1:"))
	assert.True(t, strings.HasPrefix(cloud.GraphBase, "https://127.0.0.1:"))
	assert.True(t, strings.HasSuffix(cloud.GraphBase, "/v1.0"))
	assert.Equal(t, cloud, tenant.Graph().Cloud())
	assert.Equal(t, cloud, tenant.Tokens().Cloud())

	tc := tenant.TokensConfig()
	assert.Equal(t, tenant.ClientID(), tc.ClientID)
	assert.Equal(t, tenant.HTTPClient(), tc.HTTPClient)
	cc := tenant.ConsentConfig(nil)
	assert.Equal(t, m365linktest.RedirectURI, cc.RedirectURI)
	assert.Same(t, tenant.Tokens(), cc.Tokens)
	assert.Same(t, tenant.Graph(), cc.Graph)

	// An app-only connection works from the start: tokens, Graph, and the
	// connection test consent offers an operator.
	tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com"})
	report, err := tenant.Connector().TestConnection(ctx, nil, tenant.ID(), "alice@contoso.com")
	require.NoError(t, err)
	for _, c := range report.Checks {
		assert.NoError(t, c.Err, c.Name)
	}
	assert.True(t, report.OK())
	assert.Equal(t, 1, tenant.TokenRequests("client_credentials"))

	// Graph takes only tokens the identity platform issued.
	req, _ := http.NewRequest(http.MethodGet, cloud.GraphBase+"/users", nil)
	req.Header.Set("Authorization", "Bearer forged")
	resp, err := tenant.HTTPClient().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestRequireAdminConsent(t *testing.T) {
	tenant := m365linktest.New(t, m365linktest.RequireAdminConsent())
	tenant.AddUser(m365linktest.User{UPN: "carol@contoso.com", Roles: []string{consent.RoleGlobalAdministrator}})
	_, err := tenant.AppToken().Token(ctx)
	var re *m365link.ReconnectError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "AADSTS700016", re.Code)

	ac, err := tenant.Browser("carol@contoso.com").AdminConsent(ctx, nil, nil)
	require.NoError(t, err)
	assert.True(t, ac.Verified, "the app-only token proved the consent")
	_, err = tenant.AppToken().Token(ctx)
	require.NoError(t, err)
}

// A user connects through the browser stand-in; their delegated tokens
// then sync their own mailbox.
func TestConnectThenSyncWithDelegatedTokens(t *testing.T) {
	tenant := m365linktest.New(t)
	alice := tenant.AddUser(m365linktest.User{DisplayName: "Alice Buyer"})
	assert.Equal(t, "alice.buyer@contoso.com", alice.UPN)
	assert.Equal(t, tenant.ID(), alice.TenantID)
	m := tenant.AddMessage(alice.ID, "inbox", m365link.Message{Subject: "hello"})

	c, err := tenant.Browser(alice.UPN).Connect(ctx, nil, &consent.ConnectOptions{ReturnTo: "/crm"})
	require.NoError(t, err)
	assert.Equal(t, &consent.Connection{Account: alice.Account(), UPN: alice.UPN, Name: "Alice Buyer",
		GrantedScopes: c.GrantedScopes, ReturnTo: "/crm"}, c)
	assert.Contains(t, c.GrantedScopes, "https://graph.microsoft.com/Mail.Read")

	sink := &m365sync.MemorySink{}
	res := syncAll(t, tenant, sink, alice.Mailbox())
	require.Len(t, res, 1)
	require.NoError(t, res[0].Err)
	assert.Equal(t, []string{m.ID}, sink.IDs(alice.Mailbox()))
	assert.Equal(t, 0, tenant.TokenRequests("client_credentials"), "delegated only")
}

// The switches refuse accounts the ways Entra ID does, to sign-in and to
// refresh alike, and lifting them (or an admin's consent) ends it.
func TestSwitches(t *testing.T) {
	tenant := m365linktest.New(t)
	alice := tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com"})
	tenant.AddUser(m365linktest.User{UPN: "carol@contoso.com", Roles: []string{consent.RoleGlobalAdministrator}})
	tenant.SetAccessTokenLifetime(time.Minute) // every Token call refreshes
	browser := tenant.Browser("alice@contoso.com")
	_, err := browser.Connect(ctx, nil, nil)
	require.NoError(t, err)
	reason := func() m365link.ReconnectReason {
		t.Helper()
		tenant.Tokens().Forget(alice.Account())
		_, err := tenant.Tokens().Source(alice.Account()).Token(ctx)
		var re *m365link.ReconnectError
		if err == nil || !errors.As(err, &re) {
			t.Fatalf("want a reconnect error, got %v", err)
		}
		return re.Reason
	}

	tenant.BlockSignIn("alice@contoso.com", true)
	assert.Equal(t, m365link.ReasonUserDisabled, reason())
	_, err = browser.Connect(ctx, nil, nil)
	var se *m365linktest.SignInError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, m365linktest.SignInError{Code: 50057, Description: "The user account is disabled."}, *se)
	tenant.BlockSignIn("alice@contoso.com", false)

	tenant.RequireMFA(alice.ID, true)
	assert.Equal(t, m365link.ReasonInteractionRequired, reason())
	_, err = browser.Connect(ctx, nil, nil)
	require.ErrorIs(t, err, consent.ErrConditionalAccess)
	tenant.RequireMFA(alice.ID, false)

	tenant.RevokeConsent()
	assert.Equal(t, m365link.ReasonConsentWithdrawn, reason())
	_, err = tenant.AppToken().Token(ctx)
	require.ErrorIs(t, err, m365link.ErrReconnectRequired)
	_, err = browser.Connect(ctx, nil, nil)
	require.ErrorIs(t, err, consent.ErrConsentRequired, "users cannot add the app back")

	_, err = tenant.Browser("carol@contoso.com").AdminConsent(ctx, nil, nil)
	require.NoError(t, err)
	_, err = browser.Connect(ctx, nil, nil)
	require.NoError(t, err)
	_, err = tenant.Tokens().Source(alice.Account()).Token(ctx)
	require.NoError(t, err)
}

// The host's own routes, end to end: the admin consent through
// consent.Connector.Handler, with the host's session and hooks.
func TestVisitAdminConsentThroughTheHostsHandler(t *testing.T) {
	tenant := m365linktest.New(t)
	tenant.AddUser(m365linktest.User{UPN: "carol@contoso.com", Roles: []string{consent.RoleGlobalAdministrator}})
	tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com"})
	var consented []*consent.AdminConsent
	mux := http.NewServeMux()
	mux.Handle("/m365/", tenant.Connector().Handler("/m365", consent.Hooks{
		Session: func(r *http.Request) (string, error) { return r.Header.Get("X-Session"), nil },
		OnAdminConsent: func(w http.ResponseWriter, r *http.Request, a *consent.AdminConsent) {
			consented = append(consented, a)
			http.Redirect(w, r, a.ReturnTo, http.StatusFound)
		},
	}))
	mux.HandleFunc("GET /settings", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "settings") })

	carol := tenant.Browser("carol@contoso.com")
	page, err := carol.Visit(mux, "/m365/admin-consent?return_to=/settings")
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, page.Status, "no host session")

	carol.Header.Set("X-Session", "carol")
	page, err = carol.Visit(mux, "/m365/admin-consent?return_to=/settings")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, page.Status)
	assert.Equal(t, m365linktest.AppOrigin+"/settings", page.URL.String())
	assert.Equal(t, "settings", page.Body)
	require.Len(t, consented, 1)
	assert.Equal(t, tenant.ID(), consented[0].TenantID)
	assert.Equal(t, consent.RoleGlobalAdministrator, consented[0].AdminRole)
	assert.True(t, consented[0].Verified)

	alice := tenant.Browser("alice@contoso.com")
	alice.Header.Set("X-Session", "alice")
	page, err = alice.Visit(mux, m365linktest.AppOrigin+"/m365/admin-consent")
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, page.Status)
	assert.True(t, strings.HasPrefix(page.Body, consent.ErrNotAdmin.Error()), page.Body)
	assert.Equal(t, "/m365/callback", page.URL.Path)

	_, err = alice.Visit(nil, "/m365/connect")
	assert.ErrorContains(t, err, "no app handler")
}

func TestSignInRefusesURLsElsewhere(t *testing.T) {
	tenant := m365linktest.New(t)
	tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com"})
	_, err := tenant.Browser("alice@contoso.com").SignIn("https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize")
	assert.ErrorContains(t, err, "not the fake identity platform's")
}

// Messages, events and contacts round-trip in the library's own types,
// and changes show in Graph's next delta round.
func TestSeedingAndChanges(t *testing.T) {
	tenant := m365linktest.New(t)
	alice := tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com"})
	tenant.AddUser(m365linktest.User{UPN: "dan@contoso.com", NoMailbox: true})
	received := time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)
	in := m365link.Message{Subject: "PO 4500123", Body: "Please confirm.", BodyContentType: "text",
		From: m365link.EmailAddress{Name: "Ann", Address: "ann@acme.example"}, To: []m365link.EmailAddress{{Address: alice.UPN}},
		Cc: []m365link.EmailAddress{{Address: "bob@contoso.com"}}, ReceivedAt: received, Importance: "high", Categories: []string{"Vendor"}}
	m := tenant.AddMessage(alice.UPN, "inbox", in)
	assert.NotEmpty(t, m.ID)
	assert.NotEmpty(t, m.ChangeKey)
	assert.NotEmpty(t, m.InternetMessageID)
	assert.Equal(t, tenant.FolderID(alice.UPN, "inbox"), m.FolderID)
	want := in
	want.ID, want.ChangeKey, want.FolderID, want.InternetMessageID, want.ConversationID = m.ID, m.ChangeKey, m.FolderID, m.InternetMessageID, m.ConversationID
	want.SentAt, want.LastModified, want.Sender = received, received, in.From
	assert.Equal(t, want, m)
	got, ok := tenant.Message(alice.ID, m.ID)
	require.True(t, ok)
	assert.Equal(t, m, got)

	vendors := tenant.AddFolder(alice.UPN, "inbox", "Vendors")
	assert.NotEmpty(t, vendors)
	assert.Empty(t, tenant.FolderID(alice.UPN, "no such folder"))
	sink := &m365sync.MemorySink{}
	e, err := m365sync.New(m365sync.Config{Client: tenant.Graph(), TenantID: tenant.ID(),
		Tokens:  func(m365link.Mailbox) m365sync.TokenSource { return tenant.AppToken() },
		Folders: m365sync.AllMailFolders, Sink: sink, State: &m365sync.MemoryState{}})
	require.NoError(t, err)
	require.NoError(t, e.SyncOnce(ctx, alice.Mailbox()))
	stored, folder, ok := sink.Message(alice.Mailbox(), m.ID)
	require.True(t, ok)
	assert.Equal(t, m.FolderID, folder)
	assert.Equal(t, "PO 4500123", stored.Subject)

	tenant.UpdateMessage(alice.UPN, m.ID, func(m *m365link.Message) { m.Subject, m.IsRead = "PO 4500123 (confirmed)", true })
	tenant.MoveMessage(alice.UPN, m.ID, vendors)
	second := tenant.AddMessage(alice.UPN, "inbox", m365link.Message{Subject: "second"})
	gone := tenant.AddMessage(alice.UPN, "archive", m365link.Message{Subject: "gone"})
	require.NoError(t, e.SyncOnce(ctx, alice.Mailbox()))
	tenant.DeleteMessage(alice.UPN, gone.ID)
	require.NoError(t, e.SyncOnce(ctx, alice.Mailbox()))
	stored, folder, _ = sink.Message(alice.Mailbox(), m.ID)
	assert.Equal(t, vendors, folder)
	assert.Equal(t, "PO 4500123 (confirmed)", stored.Subject)
	assert.True(t, stored.IsRead)
	assert.ElementsMatch(t, []string{m.ID, second.ID}, sink.IDs(alice.Mailbox()))
	_, ok = tenant.Message(alice.UPN, gone.ID)
	assert.False(t, ok)

	// Calendar: single, all-day and a weekly series.
	start := time.Date(2026, 11, 10, 14, 0, 0, 0, time.UTC)
	single := tenant.AddEvent(alice.UPN, m365link.Event{Subject: "QBR with Acme", Start: start, End: start.Add(time.Hour),
		Organizer: m365link.EmailAddress{Address: alice.UPN}, IsOnlineMeeting: true,
		Attendees: []m365link.Attendee{{EmailAddress: m365link.EmailAddress{Address: "ann@acme.example"}, Type: m365link.AttendeeRequired, Response: "accepted"}}})
	assert.NotEmpty(t, single.JoinURL)
	assert.NotEmpty(t, single.ICalUID)
	assert.Equal(t, m365link.EventSingleInstance, single.Type)
	day := time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)
	allDay := tenant.AddEvent(alice.UPN, m365link.Event{Subject: "Supplier day", Start: day, End: day.AddDate(0, 0, 1), IsAllDay: true})
	assert.True(t, allDay.IsAllDay)
	series := tenant.AddSeries(alice.UPN, m365link.Event{Subject: "Weekly sync", Start: start, End: start.Add(30 * time.Minute)}, 7*24*time.Hour, 3)
	require.Len(t, series, 4)
	assert.Equal(t, m365link.EventSeriesMaster, series[0].Type)
	for i, occ := range series[1:] {
		assert.Equal(t, m365link.EventOccurrence, occ.Type)
		assert.Equal(t, series[0].ID, occ.SeriesMasterID)
		assert.Equal(t, series[0].ICalUID, occ.ICalUID)
		assert.Equal(t, start.AddDate(0, 0, 7*i), occ.Start)
	}
	tenant.UpdateEvent(alice.UPN, single.ID, func(e *m365link.Event) { e.Location = "Room 101" })
	ev, ok := tenant.Event(alice.UPN, single.ID)
	require.True(t, ok)
	assert.Equal(t, "Room 101", ev.Location)
	assert.NotEqual(t, single.ChangeKey, ev.ChangeKey)
	tenant.DeleteEvent(alice.UPN, allDay.ID)
	_, ok = tenant.Event(alice.UPN, allDay.ID)
	assert.False(t, ok)

	// Graph serves them: an all-day event in the calendar view, as Graph words it.
	_, body, err := graphGet(t, tenant, m365link.Account{TenantID: tenant.ID()},
		"/users/alice@contoso.com/calendarView?startDateTime=2026-11-01T00:00:00Z&endDateTime=2026-12-01T00:00:00Z")
	require.NoError(t, err)
	var view struct {
		Value []struct {
			Subject string `json:"subject"`
			Type    string `json:"type"`
		} `json:"value"`
	}
	require.NoError(t, json.Unmarshal(body, &view), string(body))
	var subjects []string
	for _, v := range view.Value {
		subjects = append(subjects, v.Subject+"/"+v.Type)
	}
	slices.Sort(subjects)
	assert.Equal(t, []string{"QBR with Acme/singleInstance", "Weekly sync/occurrence", "Weekly sync/occurrence", "Weekly sync/occurrence"}, subjects)

	c := tenant.AddContact(alice.UPN, m365link.Contact{DisplayName: "Ann Lee", CompanyName: "Acme",
		EmailAddresses: []m365link.EmailAddress{{Name: "Ann Lee", Address: "ann@acme.example"}}})
	tenant.UpdateContact(alice.UPN, c.ID, func(c *m365link.Contact) { c.BusinessPhones = []string{"+1 555 0100"} })
	got2, ok := tenant.Contact(alice.UPN, c.ID)
	require.True(t, ok)
	assert.Equal(t, []string{"+1 555 0100"}, got2.BusinessPhones)
	assert.Equal(t, c.EmailAddresses, got2.EmailAddresses)
	tenant.DeleteContact(alice.UPN, c.ID)
	_, ok = tenant.Contact(alice.UPN, c.ID)
	assert.False(t, ok)

	resp, _, err := graphGet(t, tenant, m365link.Account{TenantID: tenant.ID()}, "/users/dan@contoso.com/mailFolders/inbox")
	require.NoError(t, err)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "no mailbox")

	g := tenant.AddGroup(m365linktest.Group{DisplayName: "Buyers"}, alice.UPN)
	res := syncPolicy(t, tenant, m365sync.Policy{Groups: []string{g.ID}})
	require.Len(t, res, 1)
	assert.Equal(t, alice.Mailbox().Key(), res[0].Mailbox.Key())
}

func syncPolicy(t *testing.T, tenant *m365linktest.Tenant, p m365sync.Policy) []m365sync.PassResult {
	t.Helper()
	e, err := m365sync.New(m365sync.Config{Client: tenant.Graph(), TenantID: tenant.ID(),
		Tokens: func(m365link.Mailbox) m365sync.TokenSource { return tenant.AppToken() },
		Policy: p, Sink: &m365sync.MemorySink{}, State: &m365sync.MemoryState{}})
	require.NoError(t, err)
	res, err := e.RunOnce(ctx)
	require.NoError(t, err)
	return res
}

func TestGenerate(t *testing.T) {
	tenant := m365linktest.New(t)
	gen := tenant.Generate(m365linktest.Spec{Mailboxes: 3, WithoutMailbox: 1, MessagesPerMailbox: 20, EventsPerMailbox: 6,
		ContactsPerMailbox: 2, Vendors: 4, Seed: 7})
	var upns []string
	for _, u := range gen.Users {
		assert.Equal(t, tenant.ID(), u.TenantID)
		upns = append(upns, u.UPN)
	}
	assert.Equal(t, []string{"alice@contoso.com", "bob@contoso.com", "carol@contoso.com", "dan@contoso.com"}, upns)
	assert.True(t, gen.Users[3].NoMailbox)
	require.Len(t, gen.Mailboxes, 3)
	require.Len(t, gen.Vendors, 4)
	assert.Equal(t, "Acme Corporation", gen.Vendors[0].Name)
	assert.Equal(t, []string{"Procurement", "Sales", "M365Link Sync Allowed"},
		[]string{gen.Groups[0].DisplayName, gen.Groups[1].DisplayName, gen.Groups[2].DisplayName})
	for _, mb := range gen.Mailboxes {
		assert.Len(t, append(mb.Inbox, mb.SentItems...), 20)
		assert.Len(t, mb.Events, 6)
		assert.Len(t, mb.Contacts, 2)
	}

	// Generated users sign in, and their mail syncs.
	bob := gen.Mailboxes[1].User
	_, err := tenant.Browser(bob.UPN).Connect(ctx, nil, nil)
	require.NoError(t, err)
	sink := &m365sync.MemorySink{}
	res := syncAll(t, tenant, sink, bob.Mailbox())
	require.NoError(t, res[0].Err)
	want := append(slices.Clone(gen.Mailboxes[1].Inbox), gen.Mailboxes[1].SentItems...)
	slices.Sort(want)
	assert.Equal(t, want, sink.IDs(bob.Mailbox()))

	res = syncPolicy(t, tenant, m365sync.Policy{Groups: []string{gen.Groups[2].ID}})
	var synced []string
	for _, r := range res {
		synced = append(synced, r.Mailbox.UPN)
	}
	slices.Sort(synced)
	assert.Equal(t, []string{"alice@contoso.com", "bob@contoso.com", "carol@contoso.com"}, synced, "nested groups resolve")
}

// Every fault kind reaches the wire as Graph would serve it, and the
// accounting counts it.
func TestFaultKinds(t *testing.T) {
	tenant := m365linktest.New(t)
	tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com"})
	app := m365link.Account{TenantID: tenant.ID()}
	const path = "/users/alice@contoso.com/mailFolders/inbox/messages/delta"
	tests := []struct {
		kind   m365linktest.FaultKind
		name   string
		status int    // 0: the request fails
		check  string // a header:value or a body prefix
	}{
		{m365linktest.Throttle, "throttle", 429, "Retry-After:1.5"},
		{m365linktest.Unavailable, "unavailable", 503, "Retry-After:1.5"},
		{m365linktest.GatewayTimeout, "gateway timeout", 504, ""},
		{m365linktest.SyncReset, "sync reset", 410, `{"error":{"code":"syncStateNotFound"`},
		{m365linktest.ConnectionReset, "connection reset", 0, ""},
		{m365linktest.TruncatedBody, "truncated body", 0, ""},
		{m365linktest.MalformedBody, "malformed body", 200, "not json"},
		{m365linktest.SlowResponse, "slow response", 200, `{"@odata.context"`},
		{m365linktest.ForeignLink, "foreign link", 200, "foreign"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.name, tt.kind.String())
			tenant.ResetStats()
			remove := tenant.Inject(m365linktest.Fault{Kind: tt.kind, Route: "/messages/delta", Mailbox: "alice@contoso.com",
				RetryAfter: 1500 * time.Millisecond, Delay: 50 * time.Millisecond})
			defer remove()
			began := time.Now()
			resp, body, err := graphGet(t, tenant, app, path)
			if tt.status == 0 {
				assert.Error(t, err)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.status, resp.StatusCode)
				switch {
				case strings.HasPrefix(tt.check, "Retry-After:"):
					assert.Equal(t, strings.TrimPrefix(tt.check, "Retry-After:"), resp.Header.Get("Retry-After"))
				case tt.check == "not json":
					assert.False(t, json.Valid(body))
				case tt.check == "foreign":
					assert.Contains(t, string(body), "https://evil.example")
				default:
					assert.True(t, strings.HasPrefix(string(body), tt.check), string(body))
				}
			}
			if tt.kind == m365linktest.SlowResponse {
				assert.GreaterOrEqual(t, time.Since(began), 50*time.Millisecond)
			}
			st := tenant.Stats("alice@contoso.com")
			want := 1
			if tt.status == 0 && st.Faults == 2 {
				want = 2 // net/http retried the GET once on a reused connection
			}
			assert.Equal(t, want, st.Faults)
			assert.Equal(t, map[string]int{"GET /users/{id}/mailFolders/{id}/messages/delta": want}, st.Routes)
		})
	}
	assert.Equal(t, "FaultKind(99)", m365linktest.FaultKind(99).String())
	assert.Panics(t, func() { tenant.Inject(m365linktest.Fault{}) })
}

// ResetSyncState makes every delta link of the mailbox answer 410, and
// the engine starts over without losing or doubling anything.
func TestResetSyncState(t *testing.T) {
	tenant := m365linktest.New(t)
	gen := tenant.Generate(m365linktest.Spec{Mailboxes: 1, MessagesPerMailbox: 15, Vendors: 2})
	alice := gen.Users[0]
	sink := &m365sync.MemorySink{}
	e, err := m365sync.New(m365sync.Config{Client: tenant.Graph(), TenantID: tenant.ID(),
		Tokens: func(m365link.Mailbox) m365sync.TokenSource { return tenant.AppToken() }, Sink: sink, State: &m365sync.MemoryState{}})
	require.NoError(t, err)
	require.NoError(t, e.SyncOnce(ctx, alice.Mailbox()))
	tenant.DeleteMessage(alice.UPN, gen.Mailboxes[0].Inbox[0])
	tenant.ResetSyncState(alice.UPN)
	tenant.ResetStats()
	require.NoError(t, e.SyncOnce(ctx, alice.Mailbox()))
	assert.Equal(t, int64(2), e.Counters().Resyncs, "both folders start over")
	want := append(slices.Clone(gen.Mailboxes[0].Inbox[1:]), gen.Mailboxes[0].SentItems...)
	slices.Sort(want)
	assert.Equal(t, want, sink.IDs(alice.Mailbox()))
}

// A tenant restarted on the same address with the same fixture calls is
// the same tenant: the delta links saved by the first go on working, and
// the next pass brings only what changed since.
func TestGraphListenerRestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	state := &m365sync.MemoryState{}
	pass := func(tenant *m365linktest.Tenant) []m365sync.PassResult {
		engine, err := m365sync.New(m365sync.Config{Client: tenant.Graph(), TenantID: tenant.ID(),
			Tokens: func(m365link.Mailbox) m365sync.TokenSource { return tenant.AppToken() },
			Policy: m365sync.Policy{AllMailboxes: true}, Sink: &m365sync.MemorySink{}, State: state})
		require.NoError(t, err)
		res, err := engine.RunOnce(context.Background())
		require.NoError(t, err)
		return res
	}
	spec := m365linktest.Spec{Mailboxes: 1, MessagesPerMailbox: 30, Vendors: 2, Seed: 3}

	first := m365linktest.New(t, m365linktest.GraphListener(ln))
	assert.Equal(t, "https://"+addr+"/v1.0", first.Cloud().GraphBase)
	first.Generate(spec)
	assert.Equal(t, 30, pass(first)[0].Items)
	first.Close()

	ln, err = net.Listen("tcp", addr)
	require.NoError(t, err)
	second := m365linktest.New(t, m365linktest.GraphListener(ln))
	assert.Equal(t, first.ID(), second.ID())
	second.Generate(spec)
	second.AddMessage("alice@contoso.com", "inbox", m365link.Message{Subject: "New", From: m365link.EmailAddress{Address: "x@acme.com"}})
	res := pass(second)
	assert.Equal(t, m365sync.StateIdle, res[0].State)
	assert.Equal(t, 1, res[0].Items, "only the new message")
}
