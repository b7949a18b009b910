package consent_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/internal/fakegraph/idp"
	"github.com/m365link/m365link/tokens"
)

// Render the permissions a "mail + calendar sync" product asks an admin for.
func ExamplePlan_RenderMarkdown() {
	plan, err := consent.PlanFor(consent.Application, consent.MailSync, consent.CalendarSync)
	if err != nil {
		panic(err)
	}
	_ = plan.RenderMarkdown(os.Stdout)
	fmt.Println(plan.Scopes(m365link.Global, true))
	// Output:
	// | Permission | Type | Admin consent | Needed | For | Why |
	// |---|---|---|---|---|---|
	// | `Mail.Read` | application | yes | required | mail sync | Read the mail of the mailboxes the admin selects, without each user connecting. |
	// | `User.Read.All` | application | yes | required | mail sync, calendar sync | List the organisation's users and mailboxes, so the admin can choose which mailboxes sync. |
	// | `Calendars.Read` | application | yes | required | calendar sync | Read the calendars of the selected mailboxes. |
	// [https://graph.microsoft.com/.default]
}

// The same features for users who connect one by one (delegated), as text.
func ExamplePlan_RenderText() {
	plan, _ := consent.PlanFor(consent.Delegated, consent.MailSync, consent.CalendarSync)
	_ = plan.RenderText(os.Stdout)
	// Output:
	// Permission            Type       Admin consent  Needed    Why
	// openid                delegated  no             required  Sign the user in.
	// profile               delegated  no             required  Show the user's name after they connect.
	// offline_access        delegated  no             required  Keep the connection working after the user closes the browser (a refresh token), so sync runs in the background.
	// User.Read             delegated  no             required  Sign the user in and read their basic profile (name, email address).
	// email                 delegated  no             optional  Show the user's email address after they connect.
	// Mail.Read             delegated  no             required  Read the mail of the signed-in user, so that correspondence with vendors appears next to their records.
	// MailboxSettings.Read  delegated  no             optional  Read the user's time zone and working hours, to propose meeting times in their own time.
	// Calendars.Read        delegated  no             required  Read the user's calendar, so that meetings with vendors appear next to their records.
}

// Wiring a host: one plan of features drives both the scopes users consent
// to and the scopes the token source refreshes with; Handler serves the
// user connect and the secure admin consent (sign-in first, then the
// consent page of the signed-in administrator's tenant). Both come back to
// /m365/callback, which is the one redirect URI to register; set
// AdminRedirectURI to "/m365/admin-callback" to keep them apart. (Not run:
// it needs a real app registration; see examples/ for programs configured
// by environment variables.)
func Example_wiring() {
	plan, _ := consent.PlanFor(consent.Delegated, consent.MailSync, consent.CalendarSync)
	cloud := m365link.USGovL4 // or m365link.Global, USGovL5, China: set once, on the token manager

	secret, _ := tokens.ClientSecret(os.Getenv("M365_CLIENT_SECRET"))
	ring, _ := tokens.NewKeyRing(1, loadKeyFromKMS())
	manager, _ := tokens.NewManager(tokens.Config{
		ClientID:   os.Getenv("M365_CLIENT_ID"),
		Credential: secret,
		Store:      tokens.NewEncrypted(&tokens.Memory{}, ring), // sqlstore's Tokens in production
		Cloud:      cloud,
		Scopes:     plan.GraphScopes(cloud, true),
	})
	graph, _ := graphclient.New(graphclient.Config{Cloud: cloud}) // the one the sync engine takes too
	connector, _ := consent.New(consent.Config{
		ClientID:      os.Getenv("M365_CLIENT_ID"),
		RedirectURI:   "https://app.example.com/m365/callback",
		Scopes:        plan.Scopes(cloud, true),
		Tokens:        manager, // and its cloud
		Graph:         graph,
		VerifyAppOnly: true,
		// Several instances: States: store.ConsentStates(), store from sqlstore.New.
	})
	http.Handle("/m365/", connector.Handler("/m365", consent.Hooks{
		Session: func(r *http.Request) (string, error) { return sessionUserID(r) },
		OnConnected: func(w http.ResponseWriter, r *http.Request, c *consent.Connection) {
			// Record c.Account for the user, then go back where they were.
			http.Redirect(w, r, c.ReturnTo, http.StatusFound)
		},
		OnAdminConsent: func(w http.ResponseWriter, r *http.Request, a *consent.AdminConsent) {
			// Link a.TenantID to the host's customer account (a.Admin signed
			// in holding a.AdminRole, Global Administrator by default).
			http.Redirect(w, r, a.ReturnTo, http.StatusFound)
		},
	}))
	// The admin page links to /m365/admin-consent?return_to=/settings.
}

func loadKeyFromKMS() []byte                        { return bytes.Repeat([]byte{0x2a}, 32) } // a KMS data key in real life
func sessionUserID(r *http.Request) (string, error) { return r.Header.Get("X-User"), nil }

// The secure admin consent end to end, here against the library's fakes
// of the identity platform and of Microsoft Graph (a host calls the same
// three methods, or lets Handler call them). The administrator signs in
// first; only an account holding an admin role (Global Administrator or
// Privileged Role Administrator by default, as Graph reports to the
// sign-in's own token) gets an admin-consent page, which is then that
// administrator's tenant's; a callback naming another tenant is refused.
func ExampleConnector_BeginAdminConsent() {
	const (
		clientID = "a0c1e0b8-5d6e-4c42-9b53-0f5c7a1d2e3f"
		contoso  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
		carol    = "1f0c2b6a-9a4e-4d7b-8c3e-5b2a7d9e0f11"
		alice    = "6e7b768e-07e2-4810-8459-485f84f8f204"
		fabrikam = "0b7c4f5e-3e1a-4b5a-9d0a-6a1c2f3e4d5b"
		back     = "https://app.example.com/m365/callback"
	)
	microsoft := idp.New() // stands in for login.microsoftonline.com
	defer microsoft.Close()
	microsoft.AddApp(idp.App{ClientID: clientID, Secret: "s3cret", RedirectURIs: []string{back}})
	microsoft.AddUser(idp.User{TenantID: contoso, ID: carol, UPN: "carol@contoso.com", Admin: true})
	microsoft.AddUser(idp.User{TenantID: contoso, ID: alice, UPN: "alice@contoso.com"})
	graph := fakegraph.New() // stands in for graph.microsoft.com
	defer graph.Close()
	graph.AddTenant(fakegraph.Tenant{ID: contoso, DisplayName: "Contoso", Domains: []string{"contoso.com"}})
	graph.AddUser(contoso, fakegraph.User{ID: carol, UPN: "carol@contoso.com", DirectoryRoles: []string{consent.RoleGlobalAdministrator}})
	graph.AddUser(contoso, fakegraph.User{ID: alice, UPN: "alice@contoso.com"})
	graph.SetTokenUser(func(token string, _ *http.Request) string { c, _ := microsoft.Validate(token); return c.UserID })

	secret, _ := tokens.ClientSecret("s3cret")
	ring, _ := tokens.NewKeyRing(1, bytes.Repeat([]byte{0x2a}, 32)) // a KMS data key in real life
	fake := m365link.Global                                         // the global cloud, at the fakes
	fake.Name, fake.AuthorityHost, fake.GraphBase = "fake", microsoft.URL(), graph.URL()
	manager, _ := tokens.NewManager(tokens.Config{ClientID: clientID, Credential: secret, Store: tokens.NewEncrypted(&tokens.Memory{}, ring),
		Cloud: fake, HTTPClient: microsoft.Client()})
	connector, err := consent.New(consent.Config{ClientID: clientID, RedirectURI: back, Tokens: manager,
		VerifyAppOnly: true, HTTPClient: microsoft.Client()})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	browser := func(u string) string { // opens u at Microsoft, returns the callback's query
		hc := *microsoft.Client()
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := hc.Get(u)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		return loc.RawQuery
	}

	// A user without an admin role gets no admin-consent page.
	microsoft.SignInAs(contoso, alice)
	signIn, _ := connector.BeginAdminConsent(ctx, "alice-session", nil)
	_, err = connector.CompleteAdminSignIn(ctx, "alice-session", browser(signIn))
	fmt.Println("alice:", errors.Is(err, consent.ErrNotAdmin))

	// 1. The admin page sends the browser to sign in.
	microsoft.SignInAs(contoso, carol)
	signIn, _ = connector.BeginAdminConsent(ctx, "admin-session", &consent.AdminConsentOptions{ReturnTo: "/settings"})
	// 2. The callback's code is redeemed, the ID token verified, the
	//    administrator's role read from Graph; the token's tid decides
	//    the admin-consent page.
	page, err := connector.CompleteAdminSignIn(ctx, "admin-session", browser(signIn))
	if err != nil {
		panic(err)
	}
	u, _ := url.Parse(page)
	fmt.Println("consent page:", u.Path)
	// 3. The admin accepts; the callback must name the same tenant.
	answer := browser(page)
	forged := strings.Replace(answer, "tenant="+contoso, "tenant="+fabrikam, 1)
	_, err = connector.CompleteAdminConsent(ctx, "admin-session", forged)
	fmt.Println("forged tenant:", errors.Is(err, consent.ErrTenant))

	// (The forged attempt used up the state: a real admin starts again.)
	signIn, _ = connector.BeginAdminConsent(ctx, "admin-session", &consent.AdminConsentOptions{ReturnTo: "/settings"})
	page, _ = connector.CompleteAdminSignIn(ctx, "admin-session", browser(signIn))
	ac, err := connector.CompleteAdminConsent(ctx, "admin-session", browser(page))
	if err != nil {
		panic(err)
	}
	fmt.Println("tenant:", ac.TenantID, "admin:", ac.Admin.UserID, "verified:", ac.Verified, "then:", ac.ReturnTo)
	fmt.Println("global administrator:", ac.AdminRole == consent.RoleGlobalAdministrator)
	// Output:
	// alice: true
	// consent page: /72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0/adminconsent
	// forged tenant: true
	// tenant: 72f988bf-86f1-41af-91ab-2d7cd011db47 admin: 1f0c2b6a-9a4e-4d7b-8c3e-5b2a7d9e0f11 verified: true then: /settings
	// global administrator: true
}

// An operator's connection test of a service (app-only) connection, on
// the process's shared Graph client, here against the library's fakes of
// the identity platform and Graph. Each failed step says what to do, and
// its error matches the m365link sentinels.
func ExampleConnector_TestConnection() {
	const (
		clientID = "a0c1e0b8-5d6e-4c42-9b53-0f5c7a1d2e3f"
		contoso  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
		bob      = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"
	)
	microsoft := idp.New() // stands in for login.microsoftonline.com
	defer microsoft.Close()
	microsoft.AddApp(idp.App{ClientID: clientID, Secret: "s3cret", RedirectURIs: []string{"https://app.example.com/m365/callback"}})
	graph := fakegraph.New() // stands in for graph.microsoft.com
	defer graph.Close()
	graph.AddTenant(fakegraph.Tenant{ID: contoso, DisplayName: "Contoso", Domains: []string{"contoso.com"}})
	graph.AddUser(contoso, fakegraph.User{ID: bob, UPN: "bob@contoso.com", AccountEnabled: true}) // no Exchange Online licence
	graph.SetTokenTenant(func(token string, _ *http.Request) string { c, _ := microsoft.Validate(token); return c.TenantID })

	fake := m365link.Global // the global cloud, at the fakes
	fake.Name, fake.AuthorityHost, fake.GraphBase = "fake", microsoft.URL(), graph.URL()
	secret, _ := tokens.ClientSecret("s3cret")
	ring, _ := tokens.NewKeyRing(1, bytes.Repeat([]byte{0x2a}, 32)) // a KMS data key in real life
	manager, _ := tokens.NewManager(tokens.Config{ClientID: clientID, Credential: secret, Store: tokens.NewEncrypted(&tokens.Memory{}, ring),
		Cloud: fake, HTTPClient: microsoft.Client()})
	shared, _ := graphclient.New(graphclient.Config{Cloud: fake, HTTPClient: graph.Client()}) // the one sync uses too
	connector, err := consent.New(consent.Config{ClientID: clientID, RedirectURI: "https://app.example.com/m365/callback",
		Tokens: manager, Graph: shared})
	if err != nil {
		panic(err)
	}

	report, err := connector.TestConnection(context.Background(), nil, contoso, "bob@contoso.com")
	if err != nil {
		panic(err)
	}
	for _, c := range report.Checks {
		if c.OK() {
			fmt.Println("ok:  ", c.Name)
			continue
		}
		fmt.Println("fail:", c.Name, "-", c.Remediation)
	}
	fmt.Println("all ok:", report.OK(), "- no mailbox:", errors.Is(report.Checks[3].Err, m365link.ErrMailboxNotEnabled))
	// Output:
	// ok:   acquire an app-only token
	// ok:   list users
	// ok:   find bob@contoso.com
	// fail: read bob@contoso.com's Inbox - bob@contoso.com has no Exchange Online mailbox (unlicensed, inactive, soft-deleted or on-premises): assign it a licence that includes Exchange Online, or test another mailbox
	// fail: read bob@contoso.com's calendars - bob@contoso.com has no Exchange Online mailbox (unlicensed, inactive, soft-deleted or on-premises): assign it a licence that includes Exchange Online, or test another mailbox
	// all ok: false - no mailbox: true
}
