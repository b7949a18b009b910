package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/browsertest"
	"github.com/m365link/m365link/m365linktest"
)

// startFake runs the example as -fake does: an administrator consented and
// alice and bob connected, through the app's own routes.
func startFake(t *testing.T) (*m365linktest.Tenant, *httptest.Server) {
	tenant := m365linktest.New(t)
	// Below the tokens package's refresh margin: every check asks the
	// identity platform, so a blocked user shows at once.
	tenant.SetAccessTokenLifetime(time.Minute)
	a, err := fakeApp(context.Background(), tenant)
	require.NoError(t, err)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return tenant, srv
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestPages(t *testing.T) {
	tenant, srv := startFake(t)
	code, body := get(t, srv.Client(), srv.URL+"/admin")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, 2, strings.Count(body, `<table class="m365link-permissions">`))
	assert.Contains(t, body, `<tr class="required"><td><code>Mail.Read</code></td><td>application</td><td>yes</td><td>required</td>`)
	assert.Contains(t, body, `href="/m365/admin-consent?return_to=/status"`)

	code, body = get(t, srv.Client(), srv.URL+"/status")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `<p id="summary">3 connected: 3 working, 0 need attention.</p>`)
	assert.Contains(t, body, `<tr><td>alice@contoso.com</td><td>mailbox</td><td><code>`+tenant.ID()+`</code></td><td class="ok">working</td>`)
	assert.Contains(t, body, `<td>tenant (app-only)</td><td><code>`+tenant.ID()+`</code></td><td class="ok">working</td><td>`)
	assert.Contains(t, body, "admin consent verified with an app-only token")

	// The admin blocks bob: his row says so and offers to reconnect.
	tenant.BlockSignIn("bob@contoso.com", true)
	_, body = get(t, srv.Client(), srv.URL+"/status")
	assert.Contains(t, body, `<p id="summary">3 connected: 2 working, 1 need attention.</p>`)
	assert.Regexp(t, `<tr><td>bob@contoso\.com</td><td>mailbox</td><td><code>[0-9a-f-]+</code></td><td class="bad">reconnect required</td>`, body)
	assert.Contains(t, body, `<a href="/m365/connect?return_to=/status&amp;login_hint=bob@contoso.com">Reconnect</a>`)

	// The consent routes are mounted: connect redirects to Microsoft's sign-in.
	nc := *srv.Client()
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := nc.Get(srv.URL + "/m365/connect?return_to=/status")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Location"), "/oauth2/v2.0/authorize?")
}

// A user who is no administrator cannot consent for the organisation: the
// flow ends on an error that says what to do.
func TestAdminConsentByNonAdmin(t *testing.T) {
	tenant, _ := startFake(t)
	a, err := fakeAppHandler(tenant)
	require.NoError(t, err)
	page, err := tenant.Browser("carol@contoso.com").Visit(a, "/m365/admin-consent?return_to=/status")
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, page.Status)
	assert.Contains(t, page.Body, "administrator")
}

// fakeAppHandler is another app on the same tenant (its own database).
func fakeAppHandler(tenant *m365linktest.Tenant) (http.Handler, error) {
	db, err := openDB(":memory:")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	acc, err := newAccounts(context.Background(), db)
	if err != nil {
		return nil, err
	}
	a, err := newApp(tenant.Connector(), tenant.Tokens(), acc)
	if err != nil {
		return nil, err
	}
	return a.Handler(), nil
}

// The pages an administrator looks at, in a real headless Chromium: the
// permission tables and the mailbox table render, every link works, and
// nothing is logged to the console.
func TestPagesInBrowser(t *testing.T) {
	browser := browsertest.Chromium(t)
	_, srv := startFake(t)

	admin := browsertest.Load(t, browser, srv.URL+"/admin")
	admin.NoConsole(t)
	admin.CheckLinks(t, srv.Client())
	assert.Equal(t, 2, admin.Count(`<table class="m365link-permissions">`))
	// Application: Mail.Read, User.Read.All, Calendars.Read, Group.Read.All
	// (optional); delegated: sign-in's five, Mail.Read, Calendars.Read,
	// MailboxSettings.Read (optional).
	assert.Equal(t, 12, admin.Count(`<tr class="required"><td><code>`)+admin.Count(`<tr class="optional"><td><code>`))
	assert.Equal(t, 4, admin.Count(`</code></td><td>application</td>`))
	assert.Contains(t, admin.DOM, `<tr class="optional"><td><code>Group.Read.All</code></td><td>application</td><td>yes</td><td>optional</td>`)
	assert.Contains(t, admin.DOM, `<a class="button" id="consent-button" href="/m365/admin-consent?return_to=/status">Grant admin consent</a>`)

	status := browsertest.Load(t, browser, srv.URL+"/status")
	status.NoConsole(t)
	status.CheckLinks(t, srv.Client())
	assert.Contains(t, status.DOM, `<p id="summary">3 connected: 3 working, 0 need attention.</p>`)
	assert.Equal(t, 3, strings.Count(status.DOM, `<td class="ok">working</td>`))

	home := browsertest.Load(t, browser, srv.URL+"/")
	home.NoConsole(t)
	home.CheckLinks(t, srv.Client())
}

// realApp refuses to start half-configured.
func TestRealAppNeedsConfiguration(t *testing.T) {
	_, err := realApp(context.Background(), func(string) string { return "" }, "")
	assert.EqualError(t, err, "set M365LINK_CLIENT_ID, M365LINK_CLIENT_SECRET and M365LINK_REDIRECT_URI (or run with -fake)")
	env := map[string]string{"M365LINK_CLIENT_ID": "x", "M365LINK_CLIENT_SECRET": "y", "M365LINK_REDIRECT_URI": "http://localhost:8080/m365/callback", "M365LINK_TOKEN_KEY": "short"}
	_, err = realApp(context.Background(), func(k string) string { return env[k] }, "")
	assert.EqualError(t, err, "M365LINK_TOKEN_KEY must be 32 bytes, base64-encoded (openssl rand -base64 32)")
}
