package consent

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph/idp"
)

func TestHandlerConnectFlowInABrowser(t *testing.T) {
	w := newWorld(t, nil)
	w.idp.SignInAs(tenantA, aliceID)
	var connected *Connection
	mux := http.NewServeMux()
	app := httptest.NewTLSServer(mux)
	defer app.Close()
	w.idp.AddApp(idp.App{ClientID: appID, Secret: appSecret, RedirectURIs: []string{app.URL + "/m365/callback"}})
	cloud := w.c.cfg.Cloud
	c, err := New(Config{ClientID: appID, Cloud: cloud, RedirectURI: app.URL + "/m365/callback", Scopes: mailRead, Tokens: w.tok})
	require.NoError(t, err)
	hooks := Hooks{
		Session: func(r *http.Request) (string, error) {
			ck, err := r.Cookie("host_session")
			if err != nil {
				return "", err
			}
			return ck.Value, nil
		},
		OnConnected: func(rw http.ResponseWriter, r *http.Request, conn *Connection) {
			connected = conn
			http.Redirect(rw, r, conn.ReturnTo, http.StatusFound)
		},
	}
	mux.Handle("/m365/", c.Handler("/m365", hooks))

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(r *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(r.URL.String(), app.URL+"/m365/") || strings.HasPrefix(r.URL.String(), w.idp.URL()) {
				return nil
			}
			return http.ErrUseLastResponse
		}}
	req, _ := http.NewRequest(http.MethodGet, app.URL+"/m365/connect?return_to=//evil.example/steal", nil)
	req.AddCookie(&http.Cookie{Name: "host_session", Value: "user-7"})
	// The host's session cookie lives in the jar for the callback too.
	u := req.URL
	jar.SetCookies(u, []*http.Cookie{{Name: "host_session", Value: "user-7", Path: "/"}})

	first, err := (&http.Client{Transport: browser.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Jar: jar}).Do(req)
	require.NoError(t, err)
	first.Body.Close()
	require.Equal(t, http.StatusFound, first.StatusCode)
	var binding *http.Cookie
	for _, ck := range first.Cookies() {
		if ck.Name == bindingCookie {
			binding = ck
		}
	}
	require.NotNil(t, binding)
	assert.True(t, binding.HttpOnly)
	assert.True(t, binding.Secure)
	assert.Equal(t, http.SameSiteLaxMode, binding.SameSite)
	assert.Equal(t, "/m365/", binding.Path)

	resp, err := browser.Get(first.Header.Get("Location"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Equal(t, "/", resp.Header.Get("Location"), "no open redirect to //evil.example")
	require.NotNil(t, connected)
	assert.Equal(t, aliceID, connected.Account.UserID)

	// Without the binding cookie (another browser) the callback is refused.
	code := w.idp.IssueCode(appID, tenantA, aliceID, app.URL+"/m365/callback", "", "", mailRead)
	other, _ := http.NewRequest(http.MethodGet, app.URL+"/m365/callback?code="+code+"&state=x", nil)
	other.AddCookie(&http.Cookie{Name: "host_session", Value: "user-7"})
	r2, err := (&http.Client{Transport: browser.Transport}).Do(other)
	require.NoError(t, err)
	r2.Body.Close()
	assert.Equal(t, http.StatusBadRequest, r2.StatusCode)
}

// app is a host serving Handler under /m365 on TLS, and a browser with
// a cookie jar that follows redirects within the app and the identity
// platform (and stops at any other page).
type app struct {
	srv     *httptest.Server
	c       *Connector
	browser *http.Client
}

func newApp(t *testing.T, w *world, cfg func(*Config), hooks Hooks) *app {
	t.Helper()
	mux := http.NewServeMux()
	a := &app{srv: httptest.NewTLSServer(mux)}
	t.Cleanup(a.srv.Close)
	w.idp.AddApp(idp.App{ClientID: appID, Secret: appSecret, RedirectURIs: []string{a.srv.URL + "/m365/callback", a.srv.URL + "/m365/admin-callback"}})
	conf := Config{ClientID: appID, Cloud: w.c.cfg.Cloud, RedirectURI: a.srv.URL + "/m365/callback", Scopes: mailRead, Tokens: w.tok,
		VerifyAppOnly: true, HTTPClient: w.idp.Client()}
	if cfg != nil {
		cfg(&conf)
	}
	var err error
	a.c, err = New(conf)
	require.NoError(t, err)
	if hooks.Session == nil {
		hooks.Session = func(r *http.Request) (string, error) {
			ck, err := r.Cookie("host_session")
			if err != nil {
				return "", nil
			}
			return ck.Value, nil
		}
	}
	mux.Handle("/m365/", a.c.Handler("/m365", hooks))
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(a.srv.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: "host_session", Value: "user-7", Path: "/"}})
	a.browser = &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(r *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(r.URL.String(), a.srv.URL+"/m365/") || strings.HasPrefix(r.URL.String(), w.idp.URL()) {
				return nil
			}
			return http.ErrUseLastResponse
		}}
	return a
}

// get opens path in the browser and returns the final status, Location and body.
func (a *app) get(t *testing.T, u string) (int, string, string) {
	t.Helper()
	if strings.HasPrefix(u, "/") {
		u = a.srv.URL + u
	}
	resp, err := a.browser.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// With the default Config (no AdminRedirectURI) the sign-in and the
// admin-consent page both answer at {prefix}/callback, and the secure
// admin consent completes there.
func TestHandlerAdminConsentWithDefaultConfig(t *testing.T) {
	w := newWorld(t, nil)
	w.idp.RequireAdminConsent()
	w.idp.SignInAs(tenantA, carolID)
	var got *AdminConsent
	a := newApp(t, w, nil, Hooks{OnAdminConsent: func(rw http.ResponseWriter, r *http.Request, ac *AdminConsent) {
		got = ac
		http.Redirect(rw, r, ac.ReturnTo, http.StatusFound)
	}})
	status, loc, _ := a.get(t, "/m365/admin-consent?return_to=/settings")
	require.Equal(t, http.StatusFound, status)
	assert.Equal(t, "/settings", loc)
	assert.Equal(t, &AdminConsent{TenantID: tenantA, Admin: m365link.Account{TenantID: tenantA, UserID: carolID}, AdminRole: RoleGlobalAdministrator,
		Scopes: []string{"https://graph.microsoft.com/.default"}, Verified: true, ReturnTo: "/settings"}, got)
	authorize, adminConsent := w.idp.Hits()
	assert.Equal(t, [2]int{1, 1}, [2]int{authorize, adminConsent})
	assert.True(t, w.idp.Consented(tenantA, appID))
}

// The same flow with a separate admin redirect URI, and the tenant the
// browser asks for only narrowing where the administrator signs in.
func TestHandlerAdminConsentWithAdminRedirectURI(t *testing.T) {
	w := newWorld(t, nil)
	w.idp.SignInAs(tenantA, carolID)
	a := newApp(t, w, func(c *Config) {
		c.AdminRedirectURI = strings.Replace(c.RedirectURI, "/callback", "/admin-callback", 1)
	}, Hooks{})
	status, loc, _ := a.get(t, "/m365/admin-consent?tenant="+tenantA+"&return_to=/done")
	require.Equal(t, http.StatusFound, status)
	assert.Equal(t, "/done", loc)

	// Asking for tenant B does not help anyone of tenant A: the sign-in
	// is refused there (AADSTS50020), and nothing is consented.
	status, _, body := a.get(t, "/m365/admin-consent?tenant="+tenantB)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "AADSTS50020")
	assert.False(t, w.idp.Consented(tenantB, appID))
}

// A cross-site page can force a GET to the connect route (SameSite=Lax
// cookies go along): that must not replace the binding of an attempt in
// flight.
func TestHandlerKeepsAnInFlightBinding(t *testing.T) {
	w := newWorld(t, nil)
	w.idp.SignInAs(tenantA, aliceID)
	a := newApp(t, w, nil, Hooks{})
	noFollow := *a.browser
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	begin := func() (string, *http.Cookie) {
		resp, err := noFollow.Get(a.srv.URL + "/m365/connect?return_to=/vendors/1")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusFound, resp.StatusCode)
		for _, ck := range resp.Cookies() {
			if ck.Name == bindingCookie {
				return resp.Header.Get("Location"), ck
			}
		}
		t.Fatal("no binding cookie")
		return "", nil
	}
	inFlight, first := begin()
	_, forced := begin() // the forced request, carrying the browser's cookies
	assert.Equal(t, first.Value, forced.Value, "the binding is kept")

	status, loc, _ := a.get(t, inFlight)
	assert.Equal(t, http.StatusFound, status)
	assert.Equal(t, "/vendors/1", loc, "the first attempt still completes")

	// A malformed cookie is replaced, not reused.
	u, _ := url.Parse(a.srv.URL + "/m365/")
	noFollow.Jar.SetCookies(u, []*http.Cookie{{Name: bindingCookie, Value: "attacker-chosen", Path: "/m365/"}})
	_, replaced := begin()
	assert.NotEqual(t, "attacker-chosen", replaced.Value)
	assert.True(t, validBinding(replaced.Value))
}

type failingStates struct{}

func (failingStates) Issue(context.Context, Attempt) (string, error) {
	return "", errors.New("dial postgres://app:hunter2@db: connection refused")
}
func (failingStates) Take(context.Context, string) (Attempt, error) {
	return Attempt{}, errors.New("dial postgres://app:hunter2@db: connection refused")
}

// Bad input from the browser is 4xx; failures on our side are 5xx and
// show the browser no internals.
func TestHandlerStatuses(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(w *world) (func(*Config), Hooks)
		path   string
		status int
		body   string
	}{
		{name: "callback without the binding cookie", path: "/m365/callback?code=x&state=y", status: 400,
			body: "consent: invalid callback: the browser that started this attempt did not send it back (cookie missing). Start connecting again from the app\n"},
		{name: "no signed-in session", path: "/m365/connect", status: 401, body: "consent: no signed-in session\n",
			setup: func(*world) (func(*Config), Hooks) {
				return nil, Hooks{Session: func(*http.Request) (string, error) { return "", nil }}
			}},
		{name: "the host's session hook fails", path: "/m365/connect", status: 500, body: "Internal Server Error\n",
			setup: func(*world) (func(*Config), Hooks) {
				return nil, Hooks{Session: func(*http.Request) (string, error) { return "", errors.New("sessions table: password=hunter2") }}
			}},
		{name: "the state store fails", path: "/m365/connect", status: 500, body: "Internal Server Error\n",
			setup: func(*world) (func(*Config), Hooks) {
				return func(c *Config) { c.States = failingStates{} }, Hooks{}
			}},
		{name: "the user declines", path: "/m365/connect", status: 400,
			body: "consent: access denied (AADSTS65004): User declined to consent to access the app. The user declined the permissions. Connect again and accept them, or ask an admin to consent for the organisation\n",
			setup: func(w *world) (func(*Config), Hooks) {
				w.idp.FailAuthorize(idp.Failure{Error: "access_denied", Code: 65004, Description: "User declined to consent to access the app."})
				return nil, Hooks{}
			}},
		{name: "the identity platform is unavailable", path: "/m365/connect", status: 503,
			body: "consent: Microsoft service unavailable (AADSTS90090): intermittent. A passing problem at Microsoft. Try again in a minute\n",
			setup: func(w *world) (func(*Config), Hooks) {
				w.idp.FailAuthorize(idp.Failure{Error: "temporarily_unavailable", Code: 90090, Description: "intermittent"})
				return nil, Hooks{}
			}},
		{name: "the app's own secret is rejected", path: "/m365/connect", status: 500,
			body: "consent: rejected by Microsoft (AADSTS7000215): Invalid client secret provided. The app's client secret was refused. Check the secret the app is configured with against the app registration's Certificates & secrets\n",
			setup: func(w *world) (func(*Config), Hooks) {
				w.idp.FailNext(idp.Failure{Status: 401, Error: "invalid_client", Code: 7000215, Description: "Invalid client secret provided.", GrantType: "authorization_code"})
				return nil, Hooks{}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, nil)
			w.idp.SignInAs(tenantA, aliceID)
			var cfg func(*Config)
			var hooks Hooks
			if tt.setup != nil {
				cfg, hooks = tt.setup(w)
			}
			var logs bytes.Buffer
			a := newApp(t, w, func(c *Config) {
				c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
				if cfg != nil {
					cfg(c)
				}
			}, hooks)
			status, _, body := a.get(t, tt.path)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.body, body)
			if tt.status >= 500 {
				assert.Contains(t, logs.String(), `"msg":"consent: request failed"`, "ours are logged")
			} else {
				assert.Empty(t, logs.String())
			}
		})
	}
}

func TestHTTPStatus(t *testing.T) {
	for err, want := range map[error]int{
		invalid("x"):                                            400,
		&Error{Kind: ErrAccessDenied}:                           400,
		&Error{Kind: ErrTenant}:                                 400,
		&Error{Kind: ErrNotAdmin}:                               400,
		&Error{Kind: ErrConditionalAccess}:                      400,
		&Error{Kind: ErrAppNotInTenant}:                         400,
		&Error{Kind: ErrUnavailable}:                            503,
		unavailable("keys"):                                     503,
		&Error{Kind: ErrRejected, OAuthError: "invalid_client"}: 500,
		ErrNoSession:                                            401,
		errors.New("consent: save state: x"):                    500,
		fmt.Errorf("wrapped: %w", &Error{Kind: ErrUnavailable}): 503,
	} {
		assert.Equal(t, want, HTTPStatus(err), "%v", err)
	}
}
