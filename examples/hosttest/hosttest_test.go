package hosttest_test

import (
	"context"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/m365linktest"
	"github.com/m365link/m365link/match"
	"github.com/m365link/m365link/match/matchsync"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/tokens"
	"github.com/m365link/m365link/vendors"
)

// store is the host's side: its messages, each with the vendors it is
// filed under. It keeps the sink contract (generations, moves, resets) by
// delegating it to the library's reference sink, as a host's SQL store
// would in one transaction.
type store struct {
	mem     m365sync.MemorySink
	mu      gosync.Mutex
	vendors map[string][]string // message ID -> vendor IDs
	resets  []m365sync.ResetPhase
}

func (s *store) ApplyMatched(ctx context.Context, p *m365sync.Page, results []match.Result) error {
	s.mu.Lock()
	for i, m := range p.Upserts {
		s.vendors[m.ID] = results[i].Vendors()
	}
	s.mu.Unlock()
	return s.mem.Apply(ctx, p)
}

func (s *store) Reset(ctx context.Context, r m365sync.Reset) error {
	s.mu.Lock()
	s.resets = append(s.resets, r.Phase)
	s.mu.Unlock()
	return s.mem.Reset(ctx, r)
}

func (s *store) MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error {
	return s.mem.MailboxRemoved(ctx, mb)
}

// row is what the host shows for a message.
type row struct {
	Subject string
	Folder  string
	Vendors []string
}

// contents is everything the store holds for a mailbox, by message ID,
// with folders named by the given names of their IDs.
func (s *store) contents(mb m365link.Mailbox, folders map[string]string) map[string]row {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]row{}
	for _, id := range s.mem.IDs(mb) {
		m, folder, _ := s.mem.Message(mb, id)
		out[id] = row{Subject: m.Subject, Folder: folders[folder], Vendors: s.vendors[id]}
	}
	return out
}

// The host's integration end to end, against a fake tenant: the admin
// consents for the organisation, a buyer connects, and her mail syncs
// into the host's store with its vendors, through a throttled Graph and a
// lost sync state, exactly: nothing lost, nothing doubled, nothing
// stale. When the admin then removes the app, the next pass says the
// buyer must reconnect, and the store keeps what it has.
func TestBuyerMailReachesTheHostWithItsVendors(t *testing.T) {
	ctx := context.Background()
	tenant := m365linktest.New(t, m365linktest.RequireAdminConsent())
	tenant.SetAccessTokenLifetime(time.Minute) // every token call refreshes: switches show at once
	tenant.AddUser(m365linktest.User{UPN: "carol@contoso.com", DisplayName: "Carol Admin", Roles: []string{consent.RoleGlobalAdministrator}})
	alice := tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com", DisplayName: "Alice Buyer"})
	inbox, sent := tenant.FolderID(alice.UPN, "inbox"), tenant.FolderID(alice.UPN, "sentitems")
	folders := map[string]string{inbox: "Inbox", sent: "Sent Items"}

	// The host's vendors, and the buyer's mail.
	index, err := vendors.NewIndex([]vendors.Vendor{
		{ID: "acme", Name: "Acme", Domains: []string{"acme.example"}, Tracked: true},
		{ID: "globex", Name: "Globex", Domains: []string{"globex.example"}, Contacts: []string{"globex.owner@gmail.com"}, Tracked: true},
		{ID: "initech", Name: "Initech", Domains: []string{"initech.example"}}, // not tracked
	})
	require.NoError(t, err)
	addr := func(a string) m365link.EmailAddress { return m365link.EmailAddress{Address: a} }
	me := addr(alice.UPN)
	mail := func(folder, subject string, from m365link.EmailAddress, to ...m365link.EmailAddress) string {
		return tenant.AddMessage(alice.UPN, folder, m365link.Message{Subject: subject, From: from, To: to}).ID
	}
	quote := mail("inbox", "Quote Q-1", addr("ann@acme.example"), me)
	po := mail("sentitems", "PO 4500123", me, addr("bob@globex.example"))
	invoice := mail("inbox", "Invoice 77", addr("globex.owner@gmail.com"), me)
	lunch := mail("inbox", "Lunch?", addr("dan@contoso.com"), me)
	pitch := mail("inbox", "Our new catalogue", addr("sales@initech.example"), me)

	// The host's wiring, as in production but pointed at the fake: its
	// own token manager (and store) and consent connector.
	mgr, err := tokens.NewManager(tenant.TokensConfig())
	require.NoError(t, err)
	conn, err := consent.New(tenant.ConsentConfig(mgr))
	require.NoError(t, err)

	// Consent, then connect.
	ac, err := tenant.Browser("carol@contoso.com").AdminConsent(ctx, conn, nil)
	require.NoError(t, err)
	assert.Equal(t, tenant.ID(), ac.TenantID)
	assert.True(t, ac.Verified)
	c, err := tenant.Browser("alice@contoso.com").Connect(ctx, conn, nil)
	require.NoError(t, err)
	require.Equal(t, alice.Account(), c.Account)
	mb := m365link.Mailbox{TenantID: c.Account.TenantID, UserID: c.Account.UserID, UPN: c.UPN}

	// Sync, matching every message on its way into the host's store.
	matcher, err := match.New(match.Config{Directory: index, InternalDomains: []string{m365linktest.Domain}, TrackedOnly: true})
	require.NoError(t, err)
	host := &store{vendors: map[string][]string{}}
	engine, err := m365sync.New(m365sync.Config{
		Client: tenant.Graph(), TenantID: tenant.ID(),
		Policy: m365sync.Policy{Mailboxes: []m365link.Mailbox{mb}}, // the users who connected
		Tokens: func(mb m365link.Mailbox) m365sync.TokenSource { return mgr.Source(mb.Account()) },
		Sink:   matchsync.Sink(matcher, host), State: &m365sync.MemoryState{},
	})
	require.NoError(t, err)
	pass := func() m365sync.PassResult {
		t.Helper()
		res, err := engine.RunOnce(ctx)
		require.NoError(t, err)
		require.Len(t, res, 1)
		return res[0]
	}

	// First pass: Graph throttles the first delta request once.
	tenant.Inject(m365linktest.Fault{Kind: m365linktest.Throttle, Route: "/messages/delta", Mailbox: alice.UPN, RetryAfter: 3 * time.Second, Times: 1})
	r := pass()
	require.NoError(t, r.Err)
	assert.Equal(t, m365sync.StateIdle, r.State)
	assert.Equal(t, map[string]row{
		quote:   {"Quote Q-1", "Inbox", []string{"acme"}},
		po:      {"PO 4500123", "Sent Items", []string{"globex"}},
		invoice: {"Invoice 77", "Inbox", []string{"globex"}},
		lunch:   {"Lunch?", "Inbox", nil},
		pitch:   {"Our new catalogue", "Inbox", nil},
	}, host.contents(mb, folders))

	// Changes in Outlook; then Graph loses a folder's sync state (410
	// Gone) on the next pass, and that folder starts over.
	tenant.UpdateMessage(alice.UPN, quote, func(m *m365link.Message) { m.Subject = "Quote Q-1 (revised)" })
	tenant.DeleteMessage(alice.UPN, lunch)
	tenant.MoveMessage(alice.UPN, invoice, "sentitems")
	tenant.MoveMessage(alice.UPN, pitch, "junkemail")
	reply := mail("inbox", "RE: PO 4500123", addr("bob@globex.example"), me)
	tenant.Inject(m365linktest.Fault{Kind: m365linktest.SyncReset, Route: "/messages/delta", Mailbox: alice.UPN, Times: 1})
	r = pass()
	require.NoError(t, r.Err)
	assert.Equal(t, m365sync.StateIdle, r.State)
	assert.Equal(t, map[string]row{
		quote:   {"Quote Q-1 (revised)", "Inbox", []string{"acme"}},
		po:      {"PO 4500123", "Sent Items", []string{"globex"}},
		invoice: {"Invoice 77", "Sent Items", []string{"globex"}},
		reply:   {"RE: PO 4500123", "Inbox", []string{"globex"}},
	}, host.contents(mb, folders))
	assert.Equal(t, []m365sync.ResetPhase{m365sync.ResetBegin, m365sync.ResetEnd}, host.resets)
	assert.Equal(t, int64(1), engine.Counters().Resyncs)
	st := tenant.Stats(alice.UPN)
	assert.Equal(t, 1, st.Throttled)
	assert.Equal(t, 2, st.Faults)

	// The admin removes the app: the buyer's next pass needs her to
	// reconnect, and what the host holds stays.
	tenant.RevokeConsent()
	r = pass()
	assert.Equal(t, m365sync.StateReconnectRequired, r.State)
	assert.ErrorIs(t, r.Err, m365link.ErrReconnectRequired)
	var re *m365link.ReconnectError
	require.ErrorAs(t, r.Err, &re)
	assert.Equal(t, m365link.ReasonConsentWithdrawn, re.Reason)
	assert.Len(t, host.contents(mb, folders), 4)
}

// This host test is one a host could write: it imports none of the
// library's internal packages.
func TestImportsOnlyPublicPackages(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, name := range files {
		src, err := os.ReadFile(name)
		require.NoError(t, err)
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			assert.False(t, strings.Contains(path+"/", "/internal/"), "%s imports %s", name, path)
		}
	}
}
