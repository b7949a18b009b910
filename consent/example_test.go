package consent_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/m365linktest"
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
// AdminRedirectURI to "/m365/admin-callback" to keep them apart. With a
// real app registration in the environment the routes are live; without
// one the placeholders below still show where a user is sent (the
// examples/ directory has programs configured by environment variables).
func Example_wiring() {
	plan, _ := consent.PlanFor(consent.Delegated, consent.MailSync, consent.CalendarSync)
	cloud := m365link.USGovL4 // or m365link.Global, USGovL5, China: set once, on the token manager

	clientID := cmp.Or(os.Getenv("M365_CLIENT_ID"), "11111111-2222-3333-4444-555555555555")
	secret, _ := tokens.ClientSecret(cmp.Or(os.Getenv("M365_CLIENT_SECRET"), "placeholder-secret"))
	ring, _ := tokens.NewKeyRing(1, loadKeyFromKMS())
	manager, _ := tokens.NewManager(tokens.Config{
		ClientID:   clientID,
		Credential: secret,
		Store:      tokens.NewEncrypted(&tokens.Memory{}, ring), // sqlstore's Tokens in production
		Cloud:      cloud,
		Scopes:     plan.GraphScopes(cloud, true),
	})
	graph, _ := graphclient.New(graphclient.Config{Cloud: cloud}) // the one the sync engine takes too
	connector, _ := consent.New(consent.Config{
		ClientID:      clientID,
		RedirectURI:   "https://app.example.com/m365/callback",
		Scopes:        plan.Scopes(cloud, true),
		Tokens:        manager, // and its cloud
		Graph:         graph,
		VerifyAppOnly: true,
		// Several instances: States: store.ConsentStates(), store from sqlstore.New.
	})
	mux := http.NewServeMux() // http.DefaultServeMux in a small program
	mux.Handle("/m365/", connector.Handler("/m365", consent.Hooks{
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

	// A signed-in user's click on "Connect Outlook" goes to the cloud's
	// identity platform with the plan's scopes and PKCE.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "https://app.example.com/m365/connect", nil)
	req.Header.Set("X-User", "user-42")
	mux.ServeHTTP(rec, req)
	to, _ := url.Parse(rec.Header().Get("Location"))
	fmt.Println(rec.Code, to.Host+to.Path)
	fmt.Println(to.Query().Get("scope"))
	fmt.Println(to.Query().Get("code_challenge_method"), to.Query().Get("redirect_uri"))
	// Output:
	// 302 login.microsoftonline.us/organizations/oauth2/v2.0/authorize
	// openid profile offline_access https://graph.microsoft.us/User.Read email https://graph.microsoft.us/Mail.Read https://graph.microsoft.us/MailboxSettings.Read https://graph.microsoft.us/Calendars.Read
	// S256 https://app.example.com/m365/callback
}

func loadKeyFromKMS() []byte                        { return bytes.Repeat([]byte{0x2a}, 32) } // a KMS data key in real life
func sessionUserID(r *http.Request) (string, error) { return r.Header.Get("X-User"), nil }

// The secure admin consent end to end, here against m365linktest's fake
// tenant (its identity platform and Microsoft Graph; a host calls the same
// three methods, or lets Handler call them). The administrator signs in
// first; only an account holding an admin role (Global Administrator or
// Privileged Role Administrator by default, as Graph reports to the
// sign-in's own token) gets an admin-consent page, which is then that
// administrator's tenant's; a callback naming another tenant is refused.
func ExampleConnector_BeginAdminConsent() {
	const fabrikam = "0b7c4f5e-3e1a-4b5a-9d0a-6a1c2f3e4d5b"
	tenant := m365linktest.Start(m365linktest.RequireAdminConsent())
	defer tenant.Close()
	carol := tenant.AddUser(m365linktest.User{UPN: "carol@contoso.com", Roles: []string{consent.RoleGlobalAdministrator}})
	tenant.AddUser(m365linktest.User{UPN: "alice@contoso.com"})
	connector, err := consent.New(tenant.ConsentConfig(nil)) // the app, its token manager and Graph client, at the fakes
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	browser := func(who, u string) string { // opens u at Microsoft as who, returns the callback's query
		q, err := tenant.Browser(who).SignIn(u)
		if err != nil {
			panic(err)
		}
		return q
	}

	// A user without an admin role gets no admin-consent page.
	signIn, _ := connector.BeginAdminConsent(ctx, "alice-session", nil)
	_, err = connector.CompleteAdminSignIn(ctx, "alice-session", browser("alice@contoso.com", signIn))
	fmt.Println("alice:", errors.Is(err, consent.ErrNotAdmin))

	// 1. The admin page sends the browser to sign in.
	signIn, _ = connector.BeginAdminConsent(ctx, "admin-session", &consent.AdminConsentOptions{ReturnTo: "/settings"})
	// 2. The callback's code is redeemed, the ID token verified, the
	//    administrator's role read from Graph; the token's tid decides
	//    the admin-consent page.
	page, err := connector.CompleteAdminSignIn(ctx, "admin-session", browser(carol.UPN, signIn))
	if err != nil {
		panic(err)
	}
	u, _ := url.Parse(page)
	fmt.Println("consent page of the admin's tenant:", u.Path == "/"+tenant.ID()+"/v2.0/adminconsent")
	// 3. The admin accepts; the callback must name the same tenant.
	answer := browser(carol.UPN, page)
	forged := strings.Replace(answer, "tenant="+tenant.ID(), "tenant="+fabrikam, 1)
	_, err = connector.CompleteAdminConsent(ctx, "admin-session", forged)
	fmt.Println("forged tenant:", errors.Is(err, consent.ErrTenant))

	// (The forged attempt used up the state: a real admin starts again.)
	signIn, _ = connector.BeginAdminConsent(ctx, "admin-session", &consent.AdminConsentOptions{ReturnTo: "/settings"})
	page, _ = connector.CompleteAdminSignIn(ctx, "admin-session", browser(carol.UPN, signIn))
	ac, err := connector.CompleteAdminConsent(ctx, "admin-session", browser(carol.UPN, page))
	if err != nil {
		panic(err)
	}
	fmt.Println("tenant:", ac.TenantID == tenant.ID(), "admin:", ac.Admin == carol.Account(), "verified:", ac.Verified, "then:", ac.ReturnTo)
	fmt.Println("global administrator:", ac.AdminRole == consent.RoleGlobalAdministrator)
	// Output:
	// alice: true
	// consent page of the admin's tenant: true
	// forged tenant: true
	// tenant: true admin: true verified: true then: /settings
	// global administrator: true
}

// An operator's connection test of a service (app-only) connection, on
// the process's shared Graph client, here against m365linktest's fake
// tenant. Each failed step says what to do, and its error matches the
// m365link sentinels.
func ExampleConnector_TestConnection() {
	tenant := m365linktest.Start()
	defer tenant.Close()
	tenant.AddUser(m365linktest.User{UPN: "bob@contoso.com", NoMailbox: true}) // no Exchange Online licence
	connector, err := consent.New(tenant.ConsentConfig(nil))                   // Graph: the client sync uses too
	if err != nil {
		panic(err)
	}

	report, err := connector.TestConnection(context.Background(), nil, tenant.ID(), "bob@contoso.com")
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
