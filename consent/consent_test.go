package consent

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
	"github.com/m365link/m365link/internal/fakegraph/idp"
	"github.com/m365link/m365link/internal/graph"
	"github.com/m365link/m365link/tokens"
)

const (
	tenantA   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	tenantB   = "0b7c4f5e-3e1a-4b5a-9d0a-6a1c2f3e4d5b"
	aliceID   = "6e7b768e-07e2-4810-8459-485f84f8f204"
	carolID   = "1f0c2b6a-9a4e-4d7b-8c3e-5b2a7d9e0f11"
	malloryID = "3c5d7e9f-1a2b-4c6d-8e0f-2a4b6c8d0e1f"
	appID     = "a0c1e0b8-5d6e-4c42-9b53-0f5c7a1d2e3f"
	appSecret = "client-secret-value-never-logged"
	redirect  = "https://app.example/m365/callback"
	adminBack = "https://app.example/m365/admin-callback"
)

var mailRead = []string{"https://graph.microsoft.com/Mail.Read"}

// fakeCloud is the global cloud with its identity platform and its Graph
// at the fakes'.
func fakeCloud(ip *idp.Server, g *fakegraph.Server) m365link.Cloud {
	c := m365link.Global
	c.Name, c.AuthorityHost, c.GraphBase = "fake", ip.URL(), g.URL()
	return c
}

type world struct {
	idp   *idp.Server
	graph *fakegraph.Server
	gc    *graph.Client
	store *tokens.Memory
	tok   *tokens.Manager
	c     *Connector
}

func newWorld(t *testing.T, states StateStore) *world {
	t.Helper()
	w := &world{idp: idp.New(), graph: fakegraph.New(), store: &tokens.Memory{}}
	t.Cleanup(w.idp.Close)
	t.Cleanup(w.graph.Close)
	w.idp.AddApp(idp.App{ClientID: appID, Secret: appSecret, RedirectURIs: []string{redirect, adminBack}})
	w.idp.AddUser(idp.User{TenantID: tenantA, ID: aliceID, UPN: "alice@contoso.com", Name: "Alice Buyer"})
	w.idp.AddUser(idp.User{TenantID: tenantA, ID: carolID, UPN: "carol@contoso.com", Name: "Carol Admin", Admin: true})
	w.idp.AddUser(idp.User{TenantID: tenantB, ID: malloryID, UPN: "mallory@fabrikam.com", Name: "Mallory"})

	w.graph.AddTenant(fakegraph.Tenant{ID: tenantA, DisplayName: "Contoso", Domains: []string{"contoso.com"}})
	w.graph.AddTenant(fakegraph.Tenant{ID: tenantB, DisplayName: "Fabrikam", Domains: []string{"fabrikam.com"}})
	w.graph.AddUser(tenantA, fakegraph.User{ID: aliceID, UPN: "alice@contoso.com", MailEnabled: true, AccountEnabled: true})
	w.graph.AddUser(tenantA, fakegraph.User{ID: carolID, UPN: "carol@contoso.com", MailEnabled: true, AccountEnabled: true,
		DirectoryRoles: []string{RoleGlobalAdministrator}})
	w.graph.AddUser(tenantB, fakegraph.User{ID: malloryID, UPN: "mallory@fabrikam.com", AccountEnabled: true})
	// Graph accepts only tokens the identity platform issued, and knows
	// whose they are.
	w.graph.SetTokenValidator(func(tok string, _ *http.Request) bool { _, ok := w.idp.Validate(tok); return ok })
	w.graph.SetTokenTenant(func(tok string, _ *http.Request) string { c, _ := w.idp.Validate(tok); return c.TenantID })
	w.graph.SetTokenUser(func(tok string, _ *http.Request) string { c, _ := w.idp.Validate(tok); return c.UserID })
	gc, err := graph.New(graph.Config{BaseURL: w.graph.URL(), HTTPClient: w.graph.Client()})
	require.NoError(t, err)
	w.gc = gc

	ring, _ := tokens.NewKeyRing(1, bytes.Repeat([]byte{5}, 32))
	cred, _ := tokens.ClientSecret(appSecret)
	w.tok, err = tokens.NewManager(tokens.Config{ClientID: appID, Credential: cred, Store: tokens.NewEncrypted(w.store, ring),
		Cloud: fakeCloud(w.idp, w.graph), Scopes: mailRead, HTTPClient: w.idp.Client()})
	require.NoError(t, err)
	w.c, err = New(Config{ClientID: appID, RedirectURI: redirect, AdminRedirectURI: adminBack,
		Scopes: append([]string{"openid", "profile", "offline_access"}, mailRead...), Tokens: w.tok, States: states, VerifyAppOnly: true, HTTPClient: w.idp.Client()})
	require.NoError(t, err)
	return w
}

// addUser adds a user to the identity platform and to Graph, holding the
// directory roles given (the identity platform lets anyone holding one
// grant consent).
func (w *world) addUser(tenant, id, upn string, roles ...string) {
	w.idp.AddUser(idp.User{TenantID: tenant, ID: id, UPN: upn, Name: upn, Admin: len(roles) > 0})
	w.graph.AddUser(tenant, fakegraph.User{ID: id, UPN: upn, AccountEnabled: true, DirectoryRoles: roles})
}

// browse plays the browser: it opens u at the identity platform and
// returns the raw query of the redirect back to the app.
func (w *world) browse(t *testing.T, u string) string {
	t.Helper()
	hc := *w.idp.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(u)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	return loc.RawQuery
}

func TestUserConnectEndToEnd(t *testing.T) {
	w := newWorld(t, nil)
	w.idp.SignInAs(tenantA, aliceID)
	u, err := w.c.BeginConnect(context.Background(), "session-1", &ConnectOptions{ReturnTo: "/vendors/42"})
	require.NoError(t, err)
	au, _ := url.Parse(u)
	q := au.Query()
	assert.Equal(t, w.idp.URL()+"/organizations/oauth2/v2.0/authorize", au.Scheme+"://"+au.Host+au.Path)
	assert.Equal(t, "S256", q.Get("code_challenge_method"))
	assert.Len(t, q.Get("code_challenge"), 43)
	assert.Equal(t, redirect, q.Get("redirect_uri"))
	assert.Equal(t, "openid profile offline_access https://graph.microsoft.com/Mail.Read", q.Get("scope"))

	conn, err := w.c.CompleteConnect(context.Background(), "session-1", w.browse(t, u))
	require.NoError(t, err)
	assert.Equal(t, &Connection{Account: m365link.Account{TenantID: tenantA, UserID: aliceID}, UPN: "alice@contoso.com",
		Name: "Alice Buyer", GrantedScopes: mailRead, ReturnTo: "/vendors/42"}, conn)

	// The tokens are in the store, and Graph accepts them.
	keys := 0
	for k, err := range w.store.Keys(context.Background(), tenantA) {
		require.NoError(t, err)
		assert.Equal(t, tokens.Key{Account: conn.Account, Purpose: tokens.PurposeMSAL}, k)
		keys++
	}
	assert.Equal(t, 1, keys)
	var inbox struct {
		DisplayName string `json:"displayName"`
	}
	err = w.gc.JSON(context.Background(), &graph.Request{Path: graph.Path("users", aliceID, "mailFolders", "inbox"),
		Mailbox: aliceID, Token: w.tok.Source(conn.Account)}, &inbox)
	require.NoError(t, err)
	assert.Equal(t, "Inbox", inbox.DisplayName)
	assert.Equal(t, 1, w.idp.Grants("authorization_code"))

	// A fresh verifier per attempt.
	u2, _ := w.c.BeginConnect(context.Background(), "session-1", nil)
	au2, _ := url.Parse(u2)
	assert.NotEqual(t, q.Get("code_challenge"), au2.Query().Get("code_challenge"))
	assert.NotEqual(t, q.Get("state"), au2.Query().Get("state"))
}

func TestAdminConsentByNonAdmin(t *testing.T) {
	w := newWorld(t, nil)
	w.idp.SignInAs(tenantA, aliceID)
	u, _ := w.c.AdminConsentURL(context.Background(), "s", tenantA, "")
	_, err := w.c.CompleteAdminConsent(context.Background(), "s", w.browse(t, u))
	var ce *Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, ErrNotAdmin, ce.Kind)
	assert.Equal(t, 90093, ce.Code)
	assert.Equal(t, "access_denied", ce.OAuthError)
	assert.Equal(t, 0, w.idp.Grants(""))
}

// Every forged, replayed, mismatched or duplicated callback is rejected
// before anything reaches the token endpoint.
func TestForgedCallbacksNeverReachTheTokenEndpoint(t *testing.T) {
	w := newWorld(t, nil)
	w.idp.SignInAs(tenantA, aliceID)
	clock := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	w.c.now = func() time.Time { return clock }
	w.c.states.(*MemoryStates).now = func() time.Time { return clock }
	ctx := context.Background()

	// A genuine attempt, answered and completed once.
	u, _ := w.c.BeginConnect(ctx, "s1", nil)
	good := w.browse(t, u)
	_, err := w.c.CompleteConnect(ctx, "s1", good)
	require.NoError(t, err)
	grants := w.idp.Grants("")

	fresh := func() (state, code string) {
		u, _ := w.c.BeginConnect(ctx, "s1", nil)
		p, _ := url.ParseQuery(w.browse(t, u))
		return p.Get("state"), p.Get("code")
	}
	adminState := func() string {
		u, err := w.c.AdminConsentURL(ctx, "s1", tenantA, "")
		require.NoError(t, err)
		p, _ := url.Parse(u)
		return p.Query().Get("state")
	}
	signInState := func() string {
		u, err := w.c.BeginAdminConsent(ctx, "s1", nil)
		require.NoError(t, err)
		p, _ := url.Parse(u)
		return p.Query().Get("state")
	}
	tests := []struct {
		name    string
		session string
		query   func() string
	}{
		{"replayed callback", "s1", func() string { return good }},
		{"no state", "s1", func() string { _, c := fresh(); return "code=" + c }},
		{"unknown state", "s1", func() string { _, c := fresh(); return "code=" + c + "&state=forged" }},
		{"another session", "s2", func() string { s, c := fresh(); return "code=" + c + "&state=" + url.QueryEscape(s) }},
		{"expired state", "s1", func() string {
			s, c := fresh()
			clock = clock.Add(11 * time.Minute)
			return "code=" + c + "&state=" + url.QueryEscape(s)
		}},
		{"admin-consent state at the connect callback", "s1", func() string { _, c := fresh(); return "code=" + c + "&state=" + url.QueryEscape(adminState()) }},
		{"admin sign-in state at the connect callback", "s1", func() string { _, c := fresh(); return "code=" + c + "&state=" + url.QueryEscape(signInState()) }},
		{"duplicated state", "s1", func() string {
			s, c := fresh()
			return "code=" + c + "&state=" + url.QueryEscape(s) + "&state=" + url.QueryEscape(s)
		}},
		{"duplicated code", "s1", func() string { s, c := fresh(); return "code=" + c + "&code=other&state=" + url.QueryEscape(s) }},
		{"missing code", "s1", func() string { s, _ := fresh(); return "state=" + url.QueryEscape(s) }},
		{"admin_consent at the connect callback", "s1", func() string {
			s, c := fresh()
			return "code=" + c + "&admin_consent=True&state=" + url.QueryEscape(s)
		}},
		{"malformed query", "s1", func() string { return "code=%zz&state=x" }},
		{"error with a forged state", "s1", func() string { return "error=access_denied&state=forged" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.query()
			_, err := w.c.CompleteConnect(ctx, tt.session, q)
			require.ErrorIs(t, err, ErrInvalidCallback)
			assert.Equal(t, grants, w.idp.Grants(""), "no request reached the token endpoint")
		})
	}
}

func TestIDTokenChecks(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	begin := func(tenant string) (state, nonce string) {
		u, _ := w.c.BeginConnect(ctx, "s", &ConnectOptions{Tenant: tenant})
		p, _ := url.Parse(u)
		return p.Query().Get("state"), p.Query().Get("nonce")
	}
	// A code whose ID token carries another nonce (a code injected from another attempt).
	state, _ := begin("")
	code := w.idp.IssueCode(appID, tenantA, aliceID, redirect, "", "someone-elses-nonce", mailRead)
	_, err := w.c.CompleteConnect(ctx, "s", "code="+code+"&state="+url.QueryEscape(state))
	require.ErrorIs(t, err, ErrInvalidCallback)
	assert.Contains(t, err.Error(), "nonce")

	// A user of another organisation where one organisation was asked for.
	state, nonce := begin(tenantA)
	code = w.idp.IssueCode(appID, tenantB, malloryID, redirect, "", nonce, mailRead)
	_, err = w.c.CompleteConnect(ctx, "s", "code="+code+"&state="+url.QueryEscape(state))
	require.ErrorIs(t, err, ErrTenant)

	// A code issued for another PKCE challenge: the identity platform refuses the verifier.
	state, nonce = begin("")
	code = w.idp.IssueCode(appID, tenantA, aliceID, redirect, "another-challenge-xxxxxxxxxxxxxxxxxxxxxxxxxxx", nonce, mailRead)
	_, err = w.c.CompleteConnect(ctx, "s", "code="+code+"&state="+url.QueryEscape(state))
	var ce *Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, ErrInvalidCallback, ce.Kind)
	assert.Equal(t, 501481, ce.Code)

	for range w.store.Keys(ctx, "") {
		t.Fatal("nothing may be stored after a failed check")
	}
}

func TestErrorCallbacksAreTyped(t *testing.T) {
	tests := []struct {
		failure idp.Failure
		kind    error
		remedy  string
	}{
		{idp.Failure{Error: "invalid_client", Code: 65001, Description: "The user or administrator has not consented to use the application."}, ErrConsentRequired, "admin consent link"},
		{idp.Failure{Error: "access_denied", Code: 65004, Description: "User declined to consent to access the app."}, ErrAccessDenied, "declined"},
		{idp.Failure{Error: "access_denied", Code: 50105, Description: "Your administrator has configured the application to block users unless they are specifically granted access."}, ErrUserNotAssigned, "Assignment required"},
		{idp.Failure{Error: "access_denied", Code: 53003, Description: "Access has been blocked by Conditional Access policies."}, ErrConditionalAccess, "Conditional Access"},
		{idp.Failure{Error: "unauthorized_client", Code: 700016, Description: "Application with identifier 'x' was not found in the directory 'y'."}, ErrAppNotInTenant, "admin consent link"},
		{idp.Failure{Error: "access_denied", Code: 90094, Description: "Admin approval required."}, ErrAdminApprovalRequired, "administrator"},
		{idp.Failure{Error: "temporarily_unavailable", Code: 90090, Description: "intermittent"}, ErrUnavailable, "Try again"},
	}
	for _, tt := range tests {
		t.Run(tt.kind.Error(), func(t *testing.T) {
			w := newWorld(t, nil)
			w.idp.SignInAs(tenantA, aliceID)
			w.idp.FailAuthorize(tt.failure)
			u, _ := w.c.BeginConnect(context.Background(), "s", nil)
			_, err := w.c.CompleteConnect(context.Background(), "s", w.browse(t, u))
			var ce *Error
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.kind, ce.Kind)
			assert.Equal(t, tt.failure.Code, ce.Code)
			assert.Equal(t, tt.failure.Description, ce.Description)
			assert.Contains(t, ce.Remediation, tt.remedy)
			assert.Equal(t, 0, w.idp.Grants(""))
		})
	}
	assert.ErrorIs(t, &Error{Kind: ErrConsentRequired}, m365link.ErrConsentRequired)
}

func TestSignedStates(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	s, err := NewSignedStates(key)
	require.NoError(t, err)
	w := newWorld(t, s)
	w.idp.SignInAs(tenantA, aliceID)
	u, _ := w.c.BeginConnect(context.Background(), "s", nil)
	p, _ := url.Parse(u)
	state := p.Query().Get("state")
	assert.NotContains(t, state, p.Query().Get("nonce"), "secrets are derived, not carried")
	back := w.browse(t, u)
	_, err = w.c.CompleteConnect(context.Background(), "s", back)
	require.NoError(t, err)
	_, err = w.c.CompleteConnect(context.Background(), "s", back)
	assert.ErrorIs(t, err, ErrInvalidCallback, "replay refused")

	// A tampered state (another return path) fails its signature.
	u, _ = w.c.BeginConnect(context.Background(), "s", &ConnectOptions{ReturnTo: "/a"})
	p, _ = url.Parse(u)
	body, sig, _ := strings.Cut(p.Query().Get("state"), ".")
	_, err = s.Take(context.Background(), body+"x."+sig)
	assert.ErrorIs(t, err, ErrStateNotFound)
	// Another process with the same key accepts it.
	s2, _ := NewSignedStates(key)
	a, err := s2.Take(context.Background(), p.Query().Get("state"))
	require.NoError(t, err)
	assert.Equal(t, "/a", a.ReturnTo)

	// The admin-consent state carries the administrator and the role
	// proven at sign-in, under the signature.
	w.idp.SignInAs(tenantA, carolID)
	next, _ := url.Parse(w.signInAdmin(t, "s", nil))
	a, err = s2.Take(context.Background(), next.Query().Get("state"))
	require.NoError(t, err)
	assert.Equal(t, [3]string{tenantA, carolID, RoleGlobalAdministrator}, [3]string{a.Tenant, a.Subject, a.AdminRole})
	_, err = NewSignedStates([]byte("short"))
	assert.Error(t, err)
	assert.Equal(t, "consent.SignedStates{}", s.String())
}

func TestSafeReturn(t *testing.T) {
	for in, want := range map[string]string{
		"/vendors/42?tab=mail": "/vendors/42?tab=mail",
		"":                     "/",
		"//evil.example/x":     "/",
		`/\evil.example`:       "/",
		"https://evil.example": "/",
		"javascript:alert(1)":  "/",
		"/ok\r\nSet-Cookie: x": "/",
		"relative":             "/",
	} {
		assert.Equal(t, want, safeReturn(in), in)
	}
}

func FuzzParseCallback(f *testing.F) {
	for _, s := range []string{"code=a&state=b", "state=a&state=b", "code=%zz", "", "a=1&a=1", "error=access_denied&admin_consent=True&state=x", "x=%E2%82%AC;y=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := parseCallback(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidCallback) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		vals, _ := url.ParseQuery(raw)
		for k, v := range vals {
			if len(v) != 1 || p[k] != v[0] {
				t.Fatalf("%q: parameter %q read as %q from %q", raw, k, p[k], v)
			}
		}
	})
}

func TestPersonalAccounts(t *testing.T) {
	w := newWorld(t, nil)
	const msaUser = "00000000-0000-0000-1a2b-3c4d5e6f7a8b"
	w.idp.AddUser(idp.User{TenantID: PersonalTenantID, ID: msaUser, UPN: "ann.vendor@outlook.com", Name: "Ann"})
	w.idp.SignInAs(PersonalTenantID, msaUser)

	u, _ := w.c.BeginConnect(context.Background(), "s", &ConnectOptions{Tenant: Consumers})
	conn, err := w.c.CompleteConnect(context.Background(), "s", w.browse(t, u))
	require.NoError(t, err)
	assert.True(t, conn.Personal)
	assert.Equal(t, m365link.Account{TenantID: PersonalTenantID, UserID: msaUser}, conn.Account)

	// Where only work or school accounts may sign in, a personal one is refused.
	u, _ = w.c.BeginConnect(context.Background(), "s", nil)
	_, err = w.c.CompleteConnect(context.Background(), "s", w.browse(t, u))
	assert.ErrorIs(t, err, ErrTenant)

	// Personal accounts have no organisation for an app-only connection.
	report, err := w.c.TestConnection(context.Background(), nil, PersonalTenantID, "")
	require.NoError(t, err)
	assert.Equal(t, &ConnectionReport{Tenant: PersonalTenantID, Checks: []Check{{Name: "acquire an app-only token", Permission: "(admin consent)",
		Err: &Error{Kind: ErrPersonalAccount, Description: "personal Microsoft accounts have no organisation to grant app-only access",
			Remediation: "Connect each user with the delegated flow instead"},
		Remediation: "Connect each user with the delegated flow instead"}}}, report)
}

// Each cloud's connector sends browsers to its own identity platform,
// asks for its own Graph's permissions and accepts only ID tokens its own
// issuer signed for.
func TestEveryCloudsURLsAndIssuer(t *testing.T) {
	cred, err := tokens.ClientSecret(appSecret)
	require.NoError(t, err)
	for _, tc := range []struct {
		cloud                       m365link.Cloud
		authority, issuer, resource string
	}{
		{m365link.Global, "https://login.microsoftonline.com", "https://login.microsoftonline.com", "https://graph.microsoft.com"},
		{m365link.USGovL4, "https://login.microsoftonline.us", "https://login.microsoftonline.us", "https://graph.microsoft.us"},
		{m365link.USGovL5, "https://login.microsoftonline.us", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us"},
		{m365link.China, "https://login.chinacloudapi.cn", "https://login.partner.microsoftonline.cn", "https://microsoftgraph.chinacloudapi.cn"},
	} {
		t.Run(tc.cloud.Name, func(t *testing.T) {
			ctx := context.Background()
			tok, err := tokens.NewManager(tokens.Config{ClientID: appID, Credential: cred, Store: &tokens.Memory{}, Cloud: tc.cloud})
			require.NoError(t, err)
			// The cloud comes from the token manager.
			c, err := New(Config{ClientID: appID, RedirectURI: redirect, Scopes: []string{"openid", tc.cloud.Scope("Mail.Read")}, Tokens: tok})
			require.NoError(t, err)
			assert.Equal(t, tc.cloud, c.cfg.Cloud)

			endpoint := func(raw string) (string, url.Values) {
				u, err := url.Parse(raw)
				require.NoError(t, err)
				return u.Scheme + "://" + u.Host + u.Path, u.Query()
			}
			at, q := endpoint(must(c.BeginConnect(ctx, "s", &ConnectOptions{Tenant: tenantA})))
			assert.Equal(t, tc.authority+"/"+tenantA+"/oauth2/v2.0/authorize", at)
			assert.Equal(t, "openid "+tc.resource+"/Mail.Read", q.Get("scope"))
			at, q = endpoint(must(c.BeginAdminConsent(ctx, "s", nil)))
			assert.Equal(t, tc.authority+"/organizations/oauth2/v2.0/authorize", at)
			assert.Equal(t, "openid profile "+tc.resource+"/User.Read", q.Get("scope"))
			at, q = endpoint(must(c.AdminConsentURL(ctx, "s", tenantA, "")))
			assert.Equal(t, tc.authority+"/"+tenantA+"/v2.0/adminconsent", at)
			assert.Equal(t, tc.resource+"/.default", q.Get("scope"))

			assert.Equal(t, tc.issuer+"/"+tenantA+"/v2.0", c.issuer(tenantA))
			a := Attempt{Tenant: tenantA, Nonce: "n"}
			got := tokens.Connected{Account: m365link.Account{TenantID: tenantA, UserID: aliceID}, Nonce: "n", IDTenantID: tenantA,
				Issuer: tc.issuer + "/" + tenantA + "/v2.0"}
			assert.NoError(t, c.checkIDToken(a, got))
			for _, other := range []m365link.Cloud{m365link.Global, m365link.USGovL4, m365link.China} {
				if other.IssuerHost == tc.issuer {
					continue
				}
				got.Issuer = other.IssuerHost + "/" + tenantA + "/v2.0"
				assert.ErrorIs(t, c.checkIDToken(a, got), ErrTenant, "an ID token of %s", other.Name)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A connector's cloud is its token manager's and its Graph client's: a
// mismatch, or a cloud without an endpoint, is refused with every problem
// named at once.
func TestNewChecksTheCloud(t *testing.T) {
	cred, err := tokens.ClientSecret(appSecret)
	require.NoError(t, err)
	gov, err := tokens.NewManager(tokens.Config{ClientID: appID, Credential: cred, Store: &tokens.Memory{}, Cloud: m365link.USGovL4})
	require.NoError(t, err)
	china, err := graphclient.New(graphclient.Config{Cloud: m365link.China})
	require.NoError(t, err)

	_, err = New(Config{ClientID: appID, RedirectURI: redirect, Tokens: gov, Cloud: m365link.Global, Graph: china})
	assert.EqualError(t, err, `consent: Config.Cloud "global" is not the cloud of Config.Tokens ("usgov-l4" at https://login.microsoftonline.us): set it once, on tokens.Config; `+
		`Config.Graph is a client of cloud "china" at https://microsoftgraph.chinacloudapi.cn/v1.0, not of Config.Cloud "global"`)
	_, err = New(Config{ClientID: appID, RedirectURI: redirect, Tokens: gov, Cloud: m365link.Cloud{Name: "half", AuthorityHost: "https://login.example"}})
	assert.EqualError(t, err, `consent: Config.Cloud "half" has no IssuerHost, GraphBase, GraphResource`)
	_, err = New(Config{RedirectURI: "http://app.example/cb", AdminRoles: []string{"admin"}})
	assert.EqualError(t, err, `consent: Config.ClientID is empty; redirect URI "http://app.example/cb" must be absolute https (http only for localhost), without fragment; `+
		`Config.Tokens is nil; Config.AdminRoles holds role template IDs, which are GUIDs, not "admin"`)

	c, err := New(Config{ClientID: appID, RedirectURI: redirect, Tokens: gov, Graph: must(graphclient.New(graphclient.Config{Cloud: m365link.USGovL4}))})
	require.NoError(t, err)
	assert.Equal(t, m365link.USGovL4, c.cfg.Cloud)
}

// AADSTS54005 means the code was redeemed already: a second state carrying
// a spent code gets that explanation, not a generic one.
func TestCodeRedeemedTwiceIsExplained(t *testing.T) {
	w := newWorld(t, nil)
	w.idp.SignInAs(tenantA, aliceID)
	ctx := context.Background()
	u, _ := w.c.BeginConnect(ctx, "s", nil)
	first, err := url.ParseQuery(w.browse(t, u))
	require.NoError(t, err)
	_, err = w.c.CompleteConnect(ctx, "s", first.Encode())
	require.NoError(t, err)

	u, _ = w.c.BeginConnect(ctx, "s", nil)
	second, _ := url.Parse(u)
	_, err = w.c.CompleteConnect(ctx, "s", "code="+url.QueryEscape(first.Get("code"))+"&state="+url.QueryEscape(second.Query().Get("state")))
	assert.Equal(t, &Error{Kind: ErrInvalidCallback, OAuthError: "invalid_grant", Code: 54005,
		Description: "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
		Remediation: "The authorization code was already redeemed (the callback was opened twice or replayed). Start connecting again"}, err)
}
