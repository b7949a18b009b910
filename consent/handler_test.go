package consent

import (
	"crypto/tls"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
