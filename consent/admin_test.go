package consent

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/internal/fakegraph/idp"
)

const bobID = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a" // an administrator of tenant B

// signInAdmin runs the administrator's sign-in of the secure flow and
// returns the admin-consent link it leads to.
func (w *world) signInAdmin(t *testing.T, session string, opts *AdminConsentOptions) string {
	t.Helper()
	u, err := w.c.BeginAdminConsent(context.Background(), session, opts)
	require.NoError(t, err)
	next, err := w.c.CompleteAdminSignIn(context.Background(), session, w.browse(t, u))
	require.NoError(t, err)
	return next
}

func TestAdminConsentEndToEnd(t *testing.T) {
	w := newWorld(t, nil)
	w.idp.RequireAdminConsent()
	w.idp.SignInAs(tenantA, carolID)
	ctx := context.Background()

	// Before consent, the service connection fails with a typed error
	// (which the token source remembers: it fails fast from now on).
	report, err := w.c.TestConnection(ctx, nil, tenantA, "alice@contoso.com")
	require.NoError(t, err)
	require.Len(t, report.Checks, 1)
	assert.False(t, report.OK())
	assert.ErrorIs(t, report.Checks[0].Err, ErrAppNotInTenant)
	assert.ErrorIs(t, report.Checks[0].Err, m365link.ErrConsentRequired)
	assert.Equal(t, "The app is not registered in this organisation. An administrator must open the admin consent link first", report.Checks[0].Remediation)

	// The administrator signs in first: OpenID Connect, PKCE, nonce.
	u, err := w.c.BeginAdminConsent(ctx, "admin-session", &AdminConsentOptions{ReturnTo: "/settings"})
	require.NoError(t, err)
	au, _ := url.Parse(u)
	q := au.Query()
	assert.Equal(t, w.idp.URL()+"/organizations/oauth2/v2.0/authorize", au.Scheme+"://"+au.Host+au.Path)
	assert.Equal(t, "openid profile https://graph.microsoft.com/User.Read", q.Get("scope"))
	assert.Equal(t, adminBack, q.Get("redirect_uri"))
	assert.Equal(t, "S256", q.Get("code_challenge_method"))
	assert.NotEmpty(t, q.Get("nonce"))

	// The signed ID token names the tenant; the consent link is for it alone.
	next, err := w.c.CompleteAdminSignIn(ctx, "admin-session", w.browse(t, u))
	require.NoError(t, err)
	nu, _ := url.Parse(next)
	assert.Equal(t, w.idp.URL()+"/"+tenantA+"/v2.0/adminconsent", nu.Scheme+"://"+nu.Host+nu.Path)
	assert.Equal(t, "https://graph.microsoft.com/.default", nu.Query().Get("scope"))
	assert.Equal(t, adminBack, nu.Query().Get("redirect_uri"))
	assert.Equal(t, 1, w.idp.Grants("client_credentials"), "the sign-in acquired no app-only token")

	ac, err := w.c.CompleteAdminConsent(ctx, "admin-session", w.browse(t, next))
	require.NoError(t, err)
	assert.Equal(t, &AdminConsent{TenantID: tenantA, Admin: m365link.Account{TenantID: tenantA, UserID: carolID}, AdminRole: RoleGlobalAdministrator,
		Scopes: []string{"https://graph.microsoft.com/.default"}, Verified: true, ReturnTo: "/settings"}, ac)
	assert.True(t, w.idp.Consented(tenantA, appID))
	assert.Equal(t, 2, w.idp.Grants("client_credentials"), "one refused before consent, one proving it")

	// The consent's proof asked the identity platform again: the failure
	// remembered before it did not stand in for the answer.
	report, err = w.c.TestConnection(ctx, nil, tenantA, "alice@contoso.com")
	require.NoError(t, err)
	assert.True(t, report.OK())
	assert.Equal(t, &ConnectionReport{Tenant: tenantA, Mailbox: "alice@contoso.com", Checks: []Check{
		{Name: "acquire an app-only token", Permission: "(admin consent)"},
		{Name: "list users", Permission: "User.Read.All"},
		{Name: "find alice@contoso.com", Permission: "User.Read.All"},
		{Name: "read alice@contoso.com's Inbox", Permission: "Mail.Read"},
		{Name: "read alice@contoso.com's calendars", Permission: "Calendars.Read"},
	}}, report)

	// Disconnecting the tenant removes its tokens.
	require.NoError(t, w.tok.Disconnect(ctx, m365link.Account{TenantID: tenantA}))
	for range w.store.Keys(ctx, tenantA) {
		t.Fatal("tokens left after disconnect")
	}
}

// The attack: tenant B, another customer of the host, consented already.
// Someone with a genuine state of their own edits tenant= in the callback
// to B, hoping to get B bound to their session (and, with VerifyAppOnly,
// "Verified": B's app-only token works). The callback's tenant must be
// the signed-in administrator's, or the one the host named.
func TestAdminConsentForgedTenantIsRefused(t *testing.T) {
	w := newWorld(t, nil)
	w.idp.RequireAdminConsent()
	w.addUser(tenantB, bobID, "bob@fabrikam.com", RoleGlobalAdministrator)
	ctx := context.Background()

	// B's administrator consents, genuinely.
	w.idp.SignInAs(tenantB, bobID)
	ac, err := w.c.CompleteAdminConsent(ctx, "bob", w.browse(t, w.signInAdmin(t, "bob", nil)))
	require.NoError(t, err)
	require.Equal(t, &AdminConsent{TenantID: tenantB, Admin: m365link.Account{TenantID: tenantB, UserID: bobID}, AdminRole: RoleGlobalAdministrator,
		Scopes: []string{"https://graph.microsoft.com/.default"}, Verified: true, ReturnTo: "/"}, ac)
	w.idp.SignInAs(tenantA, carolID)

	forge := func(link string) string {
		t.Helper()
		u, err := url.Parse(link)
		require.NoError(t, err)
		return "admin_consent=True&tenant=" + tenantB + "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&state=" + url.QueryEscape(u.Query().Get("state"))
	}
	tests := []struct {
		name string
		link func() string
		want *Error
	}{
		{"organizations sign-in, then a forged tenant", func() string { return w.signInAdmin(t, "carol", nil) },
			&Error{Kind: ErrTenant, Description: "the callback names another tenant than the one the administrator signed in to", Remediation: "Start admin consent again from the app"}},
		{"sign-in for a tenant ID, then a forged tenant", func() string { return w.signInAdmin(t, "carol", &AdminConsentOptions{Tenant: tenantA}) },
			&Error{Kind: ErrTenant, Description: "the callback names another tenant than the one the administrator signed in to", Remediation: "Start admin consent again from the app"}},
		{"a link for the host's tenant ID, then a forged tenant", func() string {
			u, err := w.c.AdminConsentURL(ctx, "carol", tenantA, "")
			require.NoError(t, err)
			return u
		}, &Error{Kind: ErrTenant, Description: "the callback names another tenant than the one the link was made for", Remediation: "Start admin consent again from the app"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grants := w.idp.Grants("client_credentials")
			ac, err := w.c.CompleteAdminConsent(ctx, "carol", forge(tt.link()))
			assert.Nil(t, ac)
			assert.Equal(t, tt.want, err)
			assert.Equal(t, grants, w.idp.Grants("client_credentials"), "refused before any app-only token")
		})
	}
}

// Every way the administrator's ID token can be wrong is refused, and no
// admin-consent link (or state) comes out of it.
func TestAdminSignInIDTokenChecks(t *testing.T) {
	const msaUser = "00000000-0000-0000-1a2b-3c4d5e6f7a8b"
	tests := []struct {
		name  string
		fault idp.IDTokenFault
		opts  *AdminConsentOptions
		// query, when set, builds the callback instead of the browser.
		query func(w *world, state, nonce string) string
		want  *Error
	}{
		{name: "signed with a key the identity platform does not publish", fault: idp.IDTokenFault{ForeignKey: true},
			want: invalid("the ID token's signature does not verify with the identity platform's published keys")},
		{name: "unsigned (alg none)", fault: idp.IDTokenFault{Unsigned: true},
			want: invalid(`the ID token is signed with "none", not RS256 under a published key`)},
		{name: "another issuer", fault: idp.IDTokenFault{Issuer: "https://login.evil.example/" + tenantA + "/v2.0"},
			want: &Error{Kind: ErrTenant, Description: "the ID token's issuer https://login.evil.example/" + tenantA + "/v2.0 is not this cloud's for its tenant", Remediation: "Check the cloud the app is configured for"}},
		{name: "another audience", fault: idp.IDTokenFault{Audience: "11111111-2222-3333-4444-555555555555"},
			want: invalid("the ID token was issued to another app")},
		{name: "expired", fault: idp.IDTokenFault{Expired: true},
			want: invalid("the ID token is expired or not yet valid")},
		{name: "another nonce (a code injected from another attempt)",
			query: func(w *world, state, _ string) string {
				code := w.idp.IssueCode(appID, tenantA, carolID, adminBack, "", "someone-elses-nonce", w.c.adminSignInScopes())
				return "code=" + code + "&state=" + url.QueryEscape(state)
			},
			want: invalid("the ID token's nonce does not match this attempt")},
		{name: "another tenant than the one asked for", fault: idp.IDTokenFault{TenantID: tenantB}, opts: &AdminConsentOptions{Tenant: tenantA},
			want: &Error{Kind: ErrTenant, Description: "the administrator signed in to another organisation than the one asked for", Remediation: "Sign in with an administrator of that organisation"}},
		{name: "a personal account",
			query: func(w *world, state, nonce string) string {
				code := w.idp.IssueCode(appID, PersonalTenantID, msaUser, adminBack, "", nonce, w.c.adminSignInScopes())
				return "code=" + code + "&state=" + url.QueryEscape(state)
			},
			want: &Error{Kind: ErrPersonalAccount, Description: "a personal Microsoft account signed in to grant admin consent", Remediation: "Sign in with an administrator of a work or school organisation"}},
		{name: "an admin-consent answer at the sign-in step",
			query: func(_ *world, state, _ string) string {
				return "admin_consent=True&tenant=" + tenantA + "&state=" + url.QueryEscape(state)
			},
			want: invalid("an admin-consent answer arrived before the administrator signed in")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, nil)
			w.idp.AddUser(idp.User{TenantID: PersonalTenantID, ID: msaUser, UPN: "ann@outlook.com"})
			w.idp.SignInAs(tenantA, carolID)
			w.idp.SpoilIDTokens(tt.fault)
			ctx := context.Background()
			u, err := w.c.BeginAdminConsent(ctx, "s", tt.opts)
			require.NoError(t, err)
			var q string
			if tt.query != nil {
				au, _ := url.Parse(u)
				q = tt.query(w, au.Query().Get("state"), au.Query().Get("nonce"))
			} else {
				q = w.browse(t, u)
			}
			next, err := w.c.CompleteAdminSignIn(ctx, "s", q)
			assert.Equal(t, "", next)
			assert.Equal(t, tt.want, err)
			assert.Equal(t, 0, w.c.states.(*MemoryStates).pending.len(), "no admin-consent state was issued")
		})
	}
}

func TestAdminConsentLinksNeedOneTenant(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	for _, tenant := range []string{"", Organizations, Common, "contoso.com", PersonalTenantID} {
		u, err := w.c.AdminConsentURL(ctx, "s", tenant, "")
		assert.Equal(t, "", u)
		assert.EqualError(t, err, `consent: AdminConsentURL needs the organisation's tenant ID, not "`+tenant+
			`"; to let the administrator's sign-in decide the tenant, use BeginAdminConsent`)
	}
	for _, tenant := range []string{Common, Consumers, PersonalTenantID} {
		_, err := w.c.BeginAdminConsent(ctx, "s", &AdminConsentOptions{Tenant: tenant})
		assert.EqualError(t, err, `consent: admin consent needs a work or school organisation or "organizations", not "`+tenant+`"`)
	}
	// A tenant ID in capitals is the same tenant.
	u, err := w.c.AdminConsentURL(ctx, "s", "72F988BF-86F1-41AF-91AB-2D7CD011DB47", "")
	require.NoError(t, err)
	au, _ := url.Parse(u)
	assert.Equal(t, "/"+tenantA+"/v2.0/adminconsent", au.Path)

	// An admin-consent state that is not for one tenant (as older releases
	// issued for "organizations") is refused whatever the callback says.
	state, err := w.c.states.Issue(ctx, Attempt{ID: "old", Flow: FlowAdminConsent, Binding: bindingOf("s"), Tenant: Organizations, Expires: w.c.now().Add(time.Minute)})
	require.NoError(t, err)
	_, err = w.c.CompleteAdminConsent(ctx, "s", "admin_consent=True&tenant="+tenantB+"&state="+state)
	assert.Equal(t, invalid("the admin-consent link was not made for one tenant"), err)
}

// roleRequests counts the role checks Graph served.
func (w *world) roleRequests() int {
	n := 0
	for _, r := range w.graph.Requests() {
		if r.Route == "GET /me/memberOf/{id}" {
			n++
		}
	}
	return n
}

// The attack the role check closes: tenant A consented already (its
// administrator, genuinely), so the app-only token works there. Alice, a
// plain member of A, signs in through the admin-consent flow hoping to
// forge admin_consent=True for her own, signed tenant and bind A to her
// session. She holds no admin role, so she gets no admin-consent link
// (nor a state to forge a callback with).
func TestAdminSignInOfANonAdminIsRefused(t *testing.T) {
	w := newWorld(t, nil)
	w.idp.RequireAdminConsent()
	ctx := context.Background()
	w.idp.SignInAs(tenantA, carolID)
	_, err := w.c.CompleteAdminConsent(ctx, "carol", w.browse(t, w.signInAdmin(t, "carol", nil)))
	require.NoError(t, err)
	require.True(t, w.idp.Consented(tenantA, appID))
	_, consentHits := w.idp.Hits()

	w.idp.SignInAs(tenantA, aliceID)
	u, err := w.c.BeginAdminConsent(ctx, "alice", nil)
	require.NoError(t, err)
	next, err := w.c.CompleteAdminSignIn(ctx, "alice", w.browse(t, u))
	assert.Equal(t, "", next)
	assert.Equal(t, &Error{Kind: ErrNotAdmin, Description: "the account that signed in holds none of the roles that may grant this consent",
		Remediation: "Sign in with an account that holds one of these roles in the organisation: Global Administrator, Privileged Role Administrator " +
			"(a role that Privileged Identity Management makes eligible must be activated first); or ask such an administrator to start admin consent"}, err)
	assert.Equal(t, 0, w.c.states.(*MemoryStates).pending.len(), "no admin-consent state was issued")
	_, hits := w.idp.Hits()
	assert.Equal(t, consentHits, hits, "no admin-consent page was opened")
	assert.Equal(t, 2, w.roleRequests(), "Carol's role check and Alice's")
	assert.Equal(t, http.StatusBadRequest, HTTPStatus(err))

	// A state that names an administrator but no proven role (issued
	// before this check existed) is refused too.
	state, err := w.c.states.Issue(ctx, Attempt{ID: "before-roles", Flow: FlowAdminConsent, Binding: bindingOf("alice"), Tenant: tenantA,
		Subject: aliceID, Expires: w.c.now().Add(time.Minute)})
	require.NoError(t, err)
	grants := w.idp.Grants("client_credentials")
	ac, err := w.c.CompleteAdminConsent(ctx, "alice", "admin_consent=True&tenant="+tenantA+"&state="+state)
	assert.Nil(t, ac)
	assert.Equal(t, &Error{Kind: ErrNotAdmin, Description: "the admin-consent link was not issued after a sign-in that proved an admin role",
		Remediation: "Start admin consent again from the app"}, err)
	assert.Equal(t, grants, w.idp.Grants("client_credentials"), "refused before any app-only token")
}

// Config.AdminRoles replaces the default set: a host whose plan is
// delegated only may let a Cloud Application Administrator consent.
func TestAdminRolesAreConfigurable(t *testing.T) {
	const daveID = "4d5e6f70-8192-4a3b-9c4d-5e6f708192a3"
	w := newWorld(t, nil)
	w.addUser(tenantA, daveID, "dave@contoso.com", RoleCloudApplicationAdministrator)
	w.idp.SignInAs(tenantA, daveID)
	ctx := context.Background()

	u, err := w.c.BeginAdminConsent(ctx, "dave", nil)
	require.NoError(t, err)
	_, err = w.c.CompleteAdminSignIn(ctx, "dave", w.browse(t, u))
	assert.ErrorIs(t, err, ErrNotAdmin, "not by default")

	cfg := w.c.cfg
	cfg.AdminRoles = []string{RoleGlobalAdministrator, RolePrivilegedRoleAdministrator, strings.ToUpper(RoleCloudApplicationAdministrator)}
	c, err := New(cfg)
	require.NoError(t, err)
	u, err = c.BeginAdminConsent(ctx, "dave", nil)
	require.NoError(t, err)
	next, err := c.CompleteAdminSignIn(ctx, "dave", w.browse(t, u))
	require.NoError(t, err)
	ac, err := c.CompleteAdminConsent(ctx, "dave", w.browse(t, next))
	require.NoError(t, err)
	assert.Equal(t, &AdminConsent{TenantID: tenantA, Admin: m365link.Account{TenantID: tenantA, UserID: daveID}, AdminRole: RoleCloudApplicationAdministrator,
		Scopes: []string{"https://graph.microsoft.com/.default"}, Verified: true, ReturnTo: "/"}, ac)

	// A role nobody named a template of is named by its ID.
	cfg.AdminRoles = []string{"00000000-0000-0000-0000-00000000000a"}
	c, err = New(cfg)
	require.NoError(t, err)
	u, _ = c.BeginAdminConsent(ctx, "dave", nil)
	_, err = c.CompleteAdminSignIn(ctx, "dave", w.browse(t, u))
	assert.EqualError(t, err, "consent: not an administrator: the account that signed in holds none of the roles that may grant this consent. "+
		"Sign in with an account that holds one of these roles in the organisation: the role with template ID 00000000-0000-0000-0000-00000000000a "+
		"(a role that Privileged Identity Management makes eligible must be activated first); or ask such an administrator to start admin consent")

	cfg.AdminRoles = []string{"Global Administrator", RoleGlobalAdministrator, ""}
	_, err = New(cfg)
	assert.EqualError(t, err, `consent: Config.AdminRoles holds role template IDs, which are GUIDs, not "global administrator", ""`)
	cfg.AdminRoles, cfg.Cloud.GraphBase = nil, ""
	_, err = New(cfg)
	assert.EqualError(t, err, `consent: Config.Cloud "fake" has no GraphBase`)
}

// When Graph cannot say which roles the administrator holds, the sign-in
// fails with a typed error and no admin-consent link: never accepted on
// a failure.
func TestAdminRoleCheckFailures(t *testing.T) {
	const erinID = "5e6f7081-92a3-4b4c-8d5e-6f708192a3b4" // a Global Administrator among 100 other roles
	many := make([]string, 0, 101)
	for i := range 100 {
		many = append(many, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
	}
	adminFirst := append([]string{RoleGlobalAdministrator}, many...)
	many = append(many, RoleGlobalAdministrator)
	foreignLink := func(w *world) *Error {
		return &Error{Kind: ErrUnavailable, Description: "the administrator's directory roles could not be read from Microsoft Graph: its answer links elsewhere, " +
			"and was not followed (m365link: link outside the Graph origin refused: https://evil.example is not " + w.graph.Origin() + ")",
			Remediation: "Try again; if it keeps happening, check what sits between the app and Microsoft Graph (proxies)"}
	}
	tests := []struct {
		name     string
		user     string
		roles    []string
		setup    func(w *world)
		want     func(w *world) *Error
		requests int
		status   int // HTTPStatus of the error
	}{
		{name: "503 on every try", user: carolID,
			setup: func(w *world) { w.graph.Inject(fakegraph.Fault{Route: "/me/memberOf", Kind: fakegraph.Unavailable503}) },
			want: func(*world) *Error {
				return &Error{Kind: ErrUnavailable, Description: "the administrator's directory roles could not be read from Microsoft Graph: it answered 503 ServiceNotAvailable",
					Remediation: "A passing problem at Microsoft. Try again in a minute"}
			},
			requests: 3, status: http.StatusServiceUnavailable},
		{name: "a page links to another origin", user: erinID, roles: many,
			setup: func(w *world) {
				w.graph.Inject(fakegraph.Fault{Route: "/me/memberOf", Kind: fakegraph.ForeignNextLink})
			},
			want: foreignLink, requests: 1, status: http.StatusServiceUnavailable},
		{name: "a page with the admin role links to another origin", user: erinID, roles: adminFirst,
			setup: func(w *world) {
				w.graph.Inject(fakegraph.Fault{Route: "/me/memberOf", Kind: fakegraph.ForeignNextLink})
			},
			want: foreignLink, requests: 1, status: http.StatusServiceUnavailable},
		{name: "the token is refused", user: carolID,
			setup: func(w *world) { w.graph.SetTokenValidator(func(string, *http.Request) bool { return false }) },
			want: func(*world) *Error {
				return &Error{Kind: ErrRejected, Description: "the administrator's directory roles could not be read from Microsoft Graph: it answered 401 InvalidAuthenticationToken",
					Remediation: "Check that the app registration has Microsoft Graph's delegated permission User.Read, then sign in again"}
			},
			requests: 1, status: http.StatusBadRequest},
		{name: "roles listed without their templates", user: erinID, roles: []string{""},
			want: func(*world) *Error {
				return &Error{Kind: ErrNotAdmin, Description: "Microsoft Graph listed directory roles of the account without their role template IDs, so none could be checked",
					Remediation: "Sign in with an account that holds one of these roles in the organisation: Global Administrator, Privileged Role Administrator " +
						"(a role that Privileged Identity Management makes eligible must be activated first); or ask such an administrator to start admin consent"}
			},
			requests: 1, status: http.StatusBadRequest},
		{name: "the admin role on the second page", user: erinID, roles: many, requests: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, nil)
			if tt.user == erinID {
				w.addUser(tenantA, erinID, "erin@contoso.com", tt.roles...)
			}
			w.idp.SignInAs(tenantA, tt.user)
			if tt.setup != nil {
				tt.setup(w)
			}
			ctx := context.Background()
			u, err := w.c.BeginAdminConsent(ctx, "s", nil)
			require.NoError(t, err)
			next, err := w.c.CompleteAdminSignIn(ctx, "s", w.browse(t, u))
			assert.Equal(t, tt.requests, w.roleRequests())
			if tt.want == nil {
				require.NoError(t, err)
				assert.Equal(t, 1, w.c.states.(*MemoryStates).pending.len())
				nu, _ := url.Parse(next)
				assert.Equal(t, "/"+tenantA+"/v2.0/adminconsent", nu.Path)
				return
			}
			assert.Equal(t, "", next)
			assert.Equal(t, tt.want(w), err)
			assert.Equal(t, tt.status, HTTPStatus(err))
			assert.Equal(t, 0, w.c.states.(*MemoryStates).pending.len(), "no admin-consent state was issued")
		})
	}
}

// When the app registration asks for directory roles in tokens
// (groupMembershipClaims), the signed ID token's "wids" claim decides, and
// Graph is not asked: a Global Administrator named there gets the link,
// an account whose wids name no admin role is refused — even if Graph
// would say otherwise.
func TestAdminRoleFromTheIDTokensWids(t *testing.T) {
	const (
		erinID  = "5e6f7081-92a3-4b4c-8d5e-6f708192a3b4"
		frankID = "6f708192-a3b4-4c5d-9e6f-708192a3b4c5"
	)
	w := newWorld(t, nil)
	w.idp.AddUser(idp.User{TenantID: tenantA, ID: erinID, UPN: "erin@contoso.com", Name: "Erin", Admin: true,
		DirectoryRoles: []string{"88d8e3e3-8f55-4a1e-953a-9b9898b8876b", strings.ToUpper(RoleGlobalAdministrator)}})
	w.graph.AddUser(tenantA, fakegraph.User{ID: erinID, UPN: "erin@contoso.com", AccountEnabled: true})
	w.idp.AddUser(idp.User{TenantID: tenantA, ID: frankID, UPN: "frank@contoso.com", Name: "Frank", Admin: true, DirectoryRoles: []string{}})
	w.graph.AddUser(tenantA, fakegraph.User{ID: frankID, UPN: "frank@contoso.com", AccountEnabled: true, DirectoryRoles: []string{RoleGlobalAdministrator}})
	ctx := context.Background()

	w.idp.SignInAs(tenantA, erinID)
	ac, err := w.c.CompleteAdminConsent(ctx, "erin", w.browse(t, w.signInAdmin(t, "erin", nil)))
	require.NoError(t, err)
	assert.Equal(t, RoleGlobalAdministrator, ac.AdminRole)
	assert.Equal(t, 0, w.roleRequests(), "the signed claim decided")

	w.idp.SignInAs(tenantA, frankID)
	u, err := w.c.BeginAdminConsent(ctx, "frank", nil)
	require.NoError(t, err)
	_, err = w.c.CompleteAdminSignIn(ctx, "frank", w.browse(t, u))
	assert.ErrorIs(t, err, ErrNotAdmin)
	assert.Equal(t, 0, w.roleRequests())
}

// With Config.Graph, the role check rides on the host's shared client
// (its limiter, retries and metrics), not on a client of the connector's.
func TestAdminRoleCheckUsesTheSharedGraphClient(t *testing.T) {
	w := newWorld(t, nil)
	var seen []int
	var mu sync.Mutex
	gc, err := graphclient.New(graphclient.Config{Cloud: w.c.cfg.Cloud, HTTPClient: w.graph.Client(),
		OnResponse: func(_ string, status int) { mu.Lock(); seen = append(seen, status); mu.Unlock() }})
	require.NoError(t, err)
	cfg := w.c.cfg
	cfg.Graph = gc
	c, err := New(cfg)
	require.NoError(t, err)

	w.idp.SignInAs(tenantA, carolID)
	ctx := context.Background()
	u, err := c.BeginAdminConsent(ctx, "s", nil)
	require.NoError(t, err)
	_, err = c.CompleteAdminSignIn(ctx, "s", w.browse(t, u))
	require.NoError(t, err)
	assert.Equal(t, 1, w.roleRequests())
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []int{http.StatusOK}, seen, "the shared client sent the role check")
}
