package m365linktest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/m365linktest"
	m365sync "github.com/m365link/m365link/sync"
)

// A host's sync test: seed a mailbox, run one pass of the engine into a
// MemorySink (the host's own sink in real life), assert what arrived. In
// a test, m365linktest.New(t) starts the tenant and stops it at the end.
func Example() {
	tenant := m365linktest.Start()
	defer tenant.Close()
	alice := tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com", DisplayName: "Alice Buyer"})
	quote := tenant.AddMessage(alice.UPN, "inbox", m365link.Message{Subject: "Quote 4711",
		From: m365link.EmailAddress{Name: "Ann", Address: "ann@acme.example"}})

	sink := &m365sync.MemorySink{}
	engine, _ := m365sync.New(m365sync.Config{Client: tenant.Graph(), TenantID: tenant.ID(),
		Tokens: func(m365link.Mailbox) m365sync.TokenSource { return tenant.AppToken() },
		Policy: m365sync.Policy{AllMailboxes: true}, Sink: sink, State: &m365sync.MemoryState{}})
	results, err := engine.RunOnce(context.Background())
	fmt.Println(len(results), results[0].State, err)

	got, folder, _ := sink.Message(alice.Mailbox(), quote.ID)
	fmt.Println(got.Subject, "from", got.From.Address, "in the inbox:", folder == tenant.FolderID(alice.UPN, "inbox"))
	// Output:
	// 1 idle <nil>
	// Quote 4711 from ann@acme.example in the inbox: true
}

// The secure admin consent, end to end, through the browser stand-in: the
// administrator signs in, their Global Administrator role is read from
// Graph, and they consent for exactly their tenant. A user without an
// admin role is refused.
func ExampleBrowser_AdminConsent() {
	tenant := m365linktest.Start()
	defer tenant.Close()
	tenant.AddUser(m365linktest.User{UPN: "carol@contoso.com", Roles: []string{consent.RoleGlobalAdministrator}})
	tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com"})
	ctx := context.Background()

	_, err := tenant.Browser("alice@contoso.com").AdminConsent(ctx, tenant.Connector(), nil)
	fmt.Println("alice:", errors.Is(err, consent.ErrNotAdmin))

	ac, err := tenant.Browser("carol@contoso.com").AdminConsent(ctx, tenant.Connector(), &consent.AdminConsentOptions{ReturnTo: "/settings"})
	if err != nil {
		panic(err)
	}
	fmt.Println("carol:", ac.TenantID == tenant.ID(), ac.AdminRole == consent.RoleGlobalAdministrator, ac.Verified, ac.ReturnTo)
	// Output:
	// alice: true
	// carol: true true true /settings
}

// A throttled mailbox: Graph answers 429 with a Retry-After, the client
// waits (milliseconds, on the tenant's client) and retries, and the
// tenant's accounting says what happened.
func ExampleTenant_Inject() {
	tenant := m365linktest.Start()
	defer tenant.Close()
	tenant.Generate(m365linktest.Spec{Mailboxes: 1, MessagesPerMailbox: 12, Vendors: 2})
	tenant.Inject(m365linktest.Fault{Kind: m365linktest.Throttle, Route: "/messages/delta", Mailbox: "alice@contoso.com",
		RetryAfter: 2 * time.Second, Times: 1})

	sink := &m365sync.MemorySink{}
	engine, _ := m365sync.New(m365sync.Config{Client: tenant.Graph(), TenantID: tenant.ID(),
		Tokens: func(m365link.Mailbox) m365sync.TokenSource { return tenant.AppToken() },
		Policy: m365sync.Policy{Users: []string{"alice@contoso.com"}}, Sink: sink, State: &m365sync.MemoryState{}})
	results, _ := engine.RunOnce(context.Background())
	fmt.Println(results[0].State, results[0].Items, "messages")

	st := tenant.Stats("alice@contoso.com")
	fmt.Println("throttled:", st.Throttled, "faults:", st.Faults, "delta requests:", st.Routes["GET /users/{id}/mailFolders/{id}/messages/delta"])
	// Output:
	// idle 12 messages
	// throttled: 1 faults: 1 delta requests: 3
}

// A host's consent routes, tested end to end: the browser follows the
// redirects from the host's /m365/connect through the identity platform
// and back to the host's callback, cookies and all.
func ExampleBrowser_Visit() {
	tenant := m365linktest.Start()
	defer tenant.Close()
	tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com"})
	mux := http.NewServeMux()
	mux.Handle("/m365/", tenant.Connector().Handler("/m365", consent.Hooks{
		Session: func(r *http.Request) (string, error) { return r.Header.Get("X-Session"), nil },
		OnConnected: func(w http.ResponseWriter, _ *http.Request, c *consent.Connection) {
			fmt.Fprintf(w, "connected %s", c.UPN)
		},
	}))

	browser := tenant.Browser("alice@contoso.com")
	browser.Header.Set("X-Session", "alice's session")
	page, err := browser.Visit(mux, "/m365/connect")
	fmt.Println(page.Status, page.URL.Path, page.Body, err)

	tenant.RequireMFA("alice@contoso.com", true)
	page, _ = browser.Visit(mux, "/m365/connect")
	fmt.Println(page.Status, page.Body)
	// Output:
	// 200 /m365/callback connected alice@contoso.com <nil>
	// 400 consent: blocked by conditional access (AADSTS50076): Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '00000003-0000-0000-c000-000000000000'. Multi-factor authentication is required. Connect again and complete it
}
